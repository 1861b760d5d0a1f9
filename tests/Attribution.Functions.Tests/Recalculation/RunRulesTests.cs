using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Attribution.Domain;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Functions.Api;
using Attribution.Testing;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Mvc;
using static Attribution.Functions.Tests.Api.ApiRequests;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>
/// Rules used to ride on the RecalculationRuns row and were dropped above 30,000 characters, so evidence was explained
/// with the shipped rules. A run's rules are found exactly (by hash), or the read fails naming the run.
/// </summary>
public sealed class RunRulesTests(SmallRecordsFixture azurite) : IClassFixture<SmallRecordsFixture>
{
    private static readonly string FabrikamId = RecalculationHarness.Fabrikam.ToString(CultureInfo.InvariantCulture);

    private ReadApi Api => azurite.Storage.Create<ReadApi>();

    /// <summary>
    /// The shipped rules with CloudPlatform Gold raised to <paramref name="gold"/> USD, moved after a description of
    /// <paramref name="padding"/> characters (non-ASCII included): text far longer than a table property holds.
    /// </summary>
    public static string LongRules(string version, double gold, int padding = 120_000)
    {
        var rules = JsonNode.Parse(CreditRulesLoader.DefaultJson)!.AsObject();
        var competencies = rules["competencies"]!.AsArray();
        var cloud = competencies.Single(c => (string)c!["name"]! == "CloudPlatform")!;
        competencies.Remove(cloud);
        cloud["levels"]!.AsArray().Single(l => (string)l!["name"]! == "Gold")!["thresholds"]!["acrUsdTtm"] = gold;
        competencies.Add(cloud); // past the padding: only the whole text gives this level
        var text = new StringBuilder(padding);
        while (text.Length < padding) text.Append("Règles d'attribution — seuils relevés pour l'essai. ");
        var ordered = new JsonObject { ["rulesVersion"] = version, ["description"] = text.ToString() };
        foreach (var (key, value) in rules.ToList())
        {
            if (key == "rulesVersion") continue;
            rules.Remove(key);
            ordered[key] = value;
        }
        return ordered.ToJsonString();
    }

    [Fact]
    public async Task Evidence_of_a_run_whose_rules_are_far_longer_than_a_table_property_explains_with_exactly_those_rules()
    {
        var json = LongRules("long-rules-v1", gold: 10_000_000);
        Assert.True(json.Length > 100_000, $"{json.Length} characters");
        var parsed = CreditRulesLoader.Parse(json);
        Assert.Equal("long-rules-v1", parsed.RulesVersion);
        Assert.Equal(10_000_000, parsed.Competencies.Single(c => c.Name == "CloudPlatform").Levels.Single(l => l.Level.Name == "Gold").Thresholds.Single().Minimum);

        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var outcome = await RecalculationHarness.RecalculateAsync(host, RecalculationHarness.AsOf, json);
        Assert.True(outcome.Published);

        // The run names its rules by hash; the stored text is the whole text, byte for byte.
        var run = (await azurite.Storage.Get<RunStore>().GetAsync(RecalculationHarness.AsOf, outcome.RunId))!;
        Assert.Equal("long-rules-v1", run.RulesVersion);
        Assert.Equal(RulesStore.HashOf(json), run.RulesHash);
        Assert.Equal(json, await azurite.Storage.Get<RulesStore>().GetJsonAsync(run.RulesHash!));

        // Published with those rules: Fabrikam's Azure revenue is Gold by the shipped rules, Silver by these.
        var credit = Ok<PartnerCreditView>(await Api.PartnerCreditAsync(Get($"/api/partners/{FabrikamId}/credit"), FabrikamId, default));
        Assert.Equal(outcome.RunId, credit.RunId);
        Assert.Equal("long-rules-v1", credit.RulesVersion);
        var cloud = credit.Competencies.Single(c => c.Competency == "CloudPlatform");
        Assert.True(cloud.AcrUsdTtm >= 100_000, $"{cloud.AcrUsdTtm}: Gold by the shipped rules");
        Assert.Equal("Silver", cloud.Level.Name);

        // Evidence of that run explains the same level with the same rules.
        var evidence = Ok<EvidenceView>(await Api.PartnerEvidenceAsync(
            Get($"/api/partners/{FabrikamId}/evidence", "competency=CloudPlatform&pageSize=1000"), FabrikamId, default));
        Assert.Equal(outcome.RunId, evidence.RunId);
        Assert.Equal("long-rules-v1", evidence.RulesVersion);
        Assert.Equal("Silver", evidence.Level.Name);
        Assert.Equal("Gold", evidence.NextLevel?.Name);
        Assert.Equal(cloud.Progress, evidence.Progress, 9);
        var gap = Assert.Single(evidence.GapToNextLevel);
        Assert.Equal(("acrUsdTtm", 10_000_000d), (gap.Metric, gap.Required));
        Assert.Equal(cloud.AcrUsdTtm, evidence.Rows.Sum(r => r.CreditedRevenueUsd), 6);
    }

    [Fact]
    public async Task Evidence_of_a_run_whose_rules_cannot_be_found_fails_naming_the_run_and_never_uses_other_rules()
    {
        var month = new YearMonth(2026, 9);
        var json = LongRules("long-rules-v2", gold: 20_000_000);
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var outcome = await RecalculationHarness.RecalculateAsync(host, month, json);
        var runs = azurite.Storage.Table(TableNames.RecalculationRuns);
        var row = (await runs.GetEntityAsync<TableEntity>(month.ToString(), outcome.RunId)).Value;
        Assert.Null(row.GetString("rulesJson")); // too long for the row's copy
        var query = $"competency=CloudPlatform&asOf={month}";
        Assert.Equal("long-rules-v2", Ok<EvidenceView>(await Api.PartnerEvidenceAsync(Get("/x", query), FabrikamId, default)).RulesVersion);

        // The row no longer names the rules (a row damaged, or restored from before rules were kept by hash)...
        var withoutRules = new TableEntity(row.PartitionKey, row.RowKey);
        foreach (var (key, value) in row)
            if (key is not ("rulesHash" or "rulesJson" or "odata.etag" or "Timestamp" or "PartitionKey" or "RowKey")) withoutRules[key] = value;
        await runs.UpdateEntityAsync(withoutRules, Azure.ETag.All, TableUpdateMode.Replace);
        AssertRulesProblem(await Api.PartnerEvidenceAsync(Get("/x", query), FabrikamId, default), outcome.RunId);

        // ...or names rules that are not stored.
        withoutRules["rulesHash"] = RulesStore.HashOf("rules that were never stored " + Guid.NewGuid());
        await runs.UpdateEntityAsync(withoutRules, Azure.ETag.All, TableUpdateMode.Replace);
        AssertRulesProblem(await Api.PartnerEvidenceAsync(Get("/x", query), FabrikamId, default), outcome.RunId);

        // A copy on the row is used only when it is the very text the hash names.
        var shortRules = CreditRulesLoader.DefaultJson.Replace("2026.11-default", "short-copy-v1", StringComparison.Ordinal);
        withoutRules["rulesJson"] = shortRules;
        await runs.UpdateEntityAsync(withoutRules, Azure.ETag.All, TableUpdateMode.Replace);
        AssertRulesProblem(await Api.PartnerEvidenceAsync(Get("/x", query), FabrikamId, default), outcome.RunId);
        withoutRules["rulesHash"] = RulesStore.HashOf(shortRules);
        await runs.UpdateEntityAsync(withoutRules, Azure.ETag.All, TableUpdateMode.Replace);
        Assert.Equal("short-copy-v1", Ok<EvidenceView>(await Api.PartnerEvidenceAsync(Get("/x", query), FabrikamId, default)).RulesVersion);
    }

    private static void AssertRulesProblem(IActionResult result, string runId)
    {
        var problem = Assert.IsType<ObjectResult>(result);
        Assert.Equal(500, problem.StatusCode);
        Assert.Contains("application/problem+json", problem.ContentTypes);
        var detail = Assert.IsType<ProblemDetails>(problem.Value).Detail!;
        Assert.Contains(runId, detail, StringComparison.Ordinal);
        Assert.Contains("rules", detail, StringComparison.Ordinal);
    }
}
