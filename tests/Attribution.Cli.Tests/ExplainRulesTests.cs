using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Data.Tables;

namespace Attribution.Cli.Tests;

/// <summary>
/// `recalc --rules` with rules far longer than a table property holds, then `explain`: the run's own rules, exactly —
/// or, when they cannot be found, one line naming the run and exit 1, never the shipped rules.
/// </summary>
public sealed class ExplainRulesTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    private static string[] Lines(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith("storage: ", StringComparison.Ordinal))];

    /// <summary>The shipped rules with CloudPlatform Gold at 10M USD, after a 120,000-character description.</summary>
    private static string LongRules(string version)
    {
        var rules = JsonNode.Parse(CreditRulesLoader.DefaultJson)!.AsObject();
        rules["rulesVersion"] = version;
        var cloud = rules["competencies"]!.AsArray().Single(c => (string)c!["name"]! == "CloudPlatform")!;
        cloud["levels"]!.AsArray().Single(l => (string)l!["name"]! == "Gold")!["thresholds"]!["acrUsdTtm"] = 10_000_000;
        var text = new StringBuilder();
        while (text.Length < 120_000) text.Append("Règles d'attribution — seuils relevés pour l'essai. ");
        var ordered = new JsonObject { ["description"] = text.ToString() };
        foreach (var (key, value) in rules.ToList())
        {
            rules.Remove(key);
            ordered[key] = value;
        }
        return ordered.ToJsonString();
    }

    [Fact]
    public async Task Explain_reports_the_runs_long_rules_and_the_level_they_give_or_fails_naming_the_run_when_they_are_gone()
    {
        var conn = azurite.ConnectionString;
        var samples = Directory.EnumerateFiles(TestPaths.Samples, "*.*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".md", StringComparison.Ordinal));
        var (ingested, _, ingestError) = await CliRunner.RunAsync(["ingest", .. samples, "--storage", conn]);
        Assert.True(ingested == 0, ingestError);
        var path = Path.Combine(_dir, "long-rules.json");
        await File.WriteAllTextAsync(path, LongRules("cli-long-rules-v1"));
        Assert.True(new FileInfo(path).Length > 100_000);

        var (recalc, _, recalcError) = await CliRunner.RunAsync("recalc", "--as-of", "2026-10", "--rules", path, "--storage", conn);
        Assert.True(recalc == 0, recalcError);

        var (code, output, error) = await CliRunner.RunAsync("explain", "2345678", "--competency", "CloudPlatform", "--json", "--storage", conn);
        Assert.True(code == 0, error);
        string runId;
        using (var doc = JsonDocument.Parse(output))
        {
            var e = doc.RootElement;
            runId = e.GetProperty("runId").GetString()!;
            Assert.Equal("cli-long-rules-v1", e.GetProperty("rulesVersion").GetString());
            Assert.True(e.GetProperty("acrUsdTtm").GetDouble() >= 100_000, "Gold by the shipped rules");
            Assert.Equal("Silver", e.GetProperty("level").GetString());
            Assert.Equal("Gold", e.GetProperty("nextLevel").GetString());
            Assert.Equal(10_000_000, e.GetProperty("gapToNextLevel")[0].GetProperty("required").GetDouble());
        }

        // The run's row loses its rules (damaged, or restored from before rules were kept by hash): explain refuses.
        var runs = azurite.Storage.Table(TableNames.RecalculationRuns);
        var row = (await runs.GetEntityAsync<TableEntity>("2026-10", runId)).Value;
        row.Remove("rulesHash");
        row.Remove("rulesJson");
        await runs.UpdateEntityAsync(row, Azure.ETag.All, TableUpdateMode.Replace);
        (code, output, error) = await CliRunner.RunAsync("explain", "2345678", "--competency", "CloudPlatform", "--json", "--storage", conn);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        var line = Assert.Single(Lines(error));
        Assert.Contains(runId, line, StringComparison.Ordinal);
        Assert.Contains("rules", line, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected", line, StringComparison.Ordinal);
    }
}
