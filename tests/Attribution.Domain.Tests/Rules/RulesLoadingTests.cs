using System.Text.Json.Nodes;
using Attribution.Domain.Rules;

namespace Attribution.Domain.Tests.Rules;

public sealed class RulesLoadingTests
{
    [Fact]
    public void A_duplicate_key_is_invalid_rules_naming_the_key_not_a_crash_or_last_one_wins()
    {
        var json = CreditRulesLoader.DefaultJson.Replace("\"windowMonths\"", "\"windowMonths\": 6, \"windowMonths\"", StringComparison.Ordinal);
        var e = Assert.Throws<RulesValidationException>(() => CreditRulesLoader.Parse(json));
        Assert.Contains("windowMonths", e.Message);
    }

    [Fact]
    public void Rules_that_differ_only_in_formatting_are_the_same_rules()
    {
        var reformatted = JsonNode.Parse(CreditRulesLoader.DefaultJson, documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip })!.ToJsonString();
        Assert.NotEqual(CreditRulesLoader.DefaultJson, reformatted);
        Assert.True(CreditRulesLoader.SameRules(CreditRulesLoader.DefaultJson, reformatted));
    }

    [Fact]
    public void Rules_with_another_threshold_are_not_the_same_rules()
    {
        var other = JsonNode.Parse(CreditRulesLoader.DefaultJson, documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip })!.AsObject();
        other["windowMonths"] = 6;
        Assert.False(CreditRulesLoader.SameRules(CreditRulesLoader.DefaultJson, other.ToJsonString()));
    }
}
