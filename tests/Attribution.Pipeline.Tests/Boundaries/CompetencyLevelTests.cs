using System.Text.Json;
using Attribution.Domain;
using Attribution.Pipeline.Reading;
using Attribution.Domain.Rules;

namespace Attribution.Pipeline.Tests.Boundaries;

/// <summary>A level is its rule's name (or None): compared ordinally, written as the plain name.</summary>
public sealed class CompetencyLevelTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public void None_is_the_default_and_the_name_None()
    {
        Assert.Equal(CompetencyLevel.None, default);
        Assert.Equal(CompetencyLevel.None, new CompetencyLevel("None"));
        Assert.True(CompetencyLevel.None.IsNone);
        Assert.True(new CompetencyLevel("None").IsNone);
        Assert.Equal("None", default(CompetencyLevel).Name);
        Assert.Equal("None", CompetencyLevel.None.ToString());
        Assert.Equal(CompetencyLevel.None, CompetencyLevel.FromStored(null));
        Assert.Equal(CompetencyLevel.None, CompetencyLevel.FromStored(""));
        Assert.False(new CompetencyLevel("Gold").IsNone);
    }

    [Fact]
    public void Names_compare_ordinally_as_the_rules_define_them()
    {
        Assert.Equal(new CompetencyLevel("Gold"), new CompetencyLevel("Gold"));
        Assert.NotEqual(new CompetencyLevel("Gold"), new CompetencyLevel("gold"));
        Assert.Equal(new CompetencyLevel("Gold").GetHashCode(), new CompetencyLevel("Gold").GetHashCode());
        // The rules reserve None in any case, so no rule level is ever None.
        var e = Assert.Throws<RulesValidationException>(() => CreditRulesLoader.Parse(CreditRulesLoader.DefaultJson.Replace("\"Silver\"", "\"none\"", StringComparison.Ordinal)));
        Assert.Contains("'None' is reserved", e.Message, StringComparison.Ordinal);
        Assert.All(CreditRulesLoader.Default.Competencies.SelectMany(c => c.Levels), l => Assert.False(l.Level.IsNone));
    }

    [Theory]
    [InlineData("Gold")]
    [InlineData("None")]
    [InlineData("Level 2 (advanced)")]
    public void It_is_written_as_its_name_and_read_back(string name)
    {
        var level = new CompetencyLevel(name);
        var json = JsonSerializer.Serialize(level, Web);
        Assert.Equal(JsonSerializer.Serialize(name, Web), json);
        Assert.Equal(level, JsonSerializer.Deserialize<CompetencyLevel>(json, Web));
    }

    [Fact]
    public void A_credit_row_serialises_as_it_did_with_string_levels()
    {
        var credit = new CompetencyCredit("CloudPlatform", 1, 2, 3, new CompetencyLevel("Silver"), null, 0.5, 0, "sales");
        Assert.Equal("""{"competency":"CloudPlatform","acrUsdTtm":1,"peakMonthlyActiveUsers":2,"customers":3,"level":"Silver","nextLevel":null,"progress":0.5,"incentiveEligibleAcrUsdTtm":0,"sources":"sales"}""",
            JsonSerializer.Serialize(credit, Web));
        Assert.Contains("\"nextLevel\":\"Gold\"", JsonSerializer.Serialize(credit with { NextLevel = new CompetencyLevel("Gold") }, Web), StringComparison.Ordinal);
        Assert.Equal("""{"None":1}""", JsonSerializer.Serialize(new Dictionary<CompetencyLevel, int> { [CompetencyLevel.None] = 1 }, Web));
    }

    [Theory]
    [InlineData("\"\"", "A competency level must be a level name or None, not an empty string.")]
    [InlineData("\"  \"", "A competency level must be a level name or None, not an empty string.")]
    [InlineData("3", "A competency level must be a JSON string (a level name or None), not Number.")]
    public void Bad_input_is_a_JsonException(string json, string message)
    {
        var e = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<CompetencyLevel>(json, Web));
        Assert.Equal(message, e.Message);
        Assert.Throws<ArgumentException>(() => new CompetencyLevel(""));
    }
}
