using System.Text.Json;
using Attribution.Domain.Rules;
using Attribution.Testing;

namespace Attribution.Cli.Tests;

/// <summary>
/// The samples published for 2026-09 and 2026-10; then a restatement of 2026-10 (a corrected usage row: Alpine Ski
/// House's dev subscription used 9,000.00 USD of Azure in 2026-10, not 1,320.00) recalculated and published again;
/// then a scenario of 2026-10 with lower thresholds.
/// </summary>
public sealed class ChangesFixture : IAsyncLifetime
{
    public const string AlpineTenant = "bbdc79ef-c388-417b-bdef-d3cf4e4665d2";
    public const string AlpineDev = "389eef2f-79d0-4d1d-bf42-840f356fdc04";

    public AzuriteFixture Azurite { get; } = new();

    /// <summary>`changes --json` after both months were published from the samples, before the restatement.</summary>
    public string BeforeRestatement { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await Azurite.InitializeAsync();
        var conn = Azurite.ConnectionString;
        // The competency samples only: the designation partners' own tenants would join every movers list.
        await Succeed("run", "--as-of", "2026-09", "--feeds", TestPaths.CompetencySamples(), "--storage", conn);
        await Succeed("recalc", "--as-of", "2026-10", "--storage", conn);
        BeforeRestatement = await Succeed("changes", "--json", "--storage", conn);

        var dir = TestPaths.NewTempDirectory();
        var correction = TestPaths.WriteFeed(dir, "usage", "usage-correction-2026-10.csv",
            $"customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n{AlpineTenant},{AlpineDev},Azure,2026-10,9000.00,\n");
        await Succeed("ingest", correction, "--storage", conn);
        await Succeed("recalc", "--as-of", "2026-10", "--storage", conn);

        // CloudPlatform Silver 5,000 and Gold 50,000 (not 15,000 and 100,000); Security Silver 50 users (not 1,000).
        var lower = CreditRulesLoader.DefaultJson
            .Replace("\"acrUsdTtm\": 15000", "\"acrUsdTtm\": 5000", StringComparison.Ordinal)
            .Replace("\"acrUsdTtm\": 100000", "\"acrUsdTtm\": 50000", StringComparison.Ordinal)
            .Replace("\"peakMonthlyActiveUsers\": 1000 }", "\"peakMonthlyActiveUsers\": 50 }", StringComparison.Ordinal)
            .Replace("\"2026.11-default\"", "\"lower-thresholds\"", StringComparison.Ordinal);
        Assert.Equal(4, CountDifferences(CreditRulesLoader.DefaultJson, lower));
        var rules = Path.Combine(dir, "lower.json");
        await File.WriteAllTextAsync(rules, lower);
        await Succeed("recalc", "--as-of", "2026-10", "--rules", rules, "--scenario", "lower", "--storage", conn);
    }

    private static int CountDifferences(string a, string b) =>
        a.Split('\n').Zip(b.Split('\n')).Count(p => p.First != p.Second);

    private static async Task<string> Succeed(params string[] args)
    {
        var (code, output, error) = await CliRunner.RunAsync(args);
        Assert.True(code == 0, $"{string.Join(' ', args)}: {error}");
        return output;
    }

    public Task DisposeAsync() => Azurite.DisposeAsync();
}

/// <summary>
/// `attribution changes`. Expectations from the sample feeds (samples/feeds/README.md and usage-2026.csv.gz): usage
/// starts 2025-11, so the 12-month window of 2026-10 is that of 2026-09 plus the 2026-10 rows — nothing drops out, and
/// each partner's acrUsdTtm grows by exactly its credited 2026-10 revenue.
/// </summary>
public sealed class ChangesCommandTests(ChangesFixture fixture) : IClassFixture<ChangesFixture>
{
    private string Conn => fixture.Azurite.ConnectionString;

    private static JsonElement Competency(JsonDocument doc, string name) =>
        doc.RootElement.GetProperty("competencies").EnumerateArray().Single(c => c.GetProperty("competency").GetString() == name);

    private static List<string> Levels(JsonElement competency, string list) =>
        [.. competency.GetProperty(list).EnumerateArray().Select(l => $"{l.GetProperty("partnerId").GetString()} {l.GetProperty("from").GetString()}->{l.GetProperty("to").GetString()}")];

    private static List<(string Partner, double Change)> Movers(JsonElement competency, string list, string change) =>
        [.. competency.GetProperty(list).EnumerateArray().Select(m => (m.GetProperty("partnerId").GetString()!, m.GetProperty(change).GetDouble()))];

    private static void AssertMovers(IReadOnlyList<(string Partner, double Change)> expected, List<(string Partner, double Change)> actual, int precision = 2)
    {
        Assert.Equal(expected.Select(e => e.Partner), actual.Select(a => a.Partner));
        foreach (var (e, a) in expected.Zip(actual)) Assert.Equal(e.Change, a.Change, precision);
    }

    [Fact]
    public void Before_the_restatement_october_adds_its_own_revenue_and_no_level_changes()
    {
        using var doc = JsonDocument.Parse(fixture.BeforeRestatement);
        Assert.Equal("months", doc.RootElement.GetProperty("comparison").GetString());
        Assert.Equal("2026-09", doc.RootElement.GetProperty("from").GetProperty("asOf").GetString());
        Assert.Equal("2026-10", doc.RootElement.GetProperty("to").GetProperty("asOf").GetString());
        Assert.Empty(doc.RootElement.GetProperty("newPartners").EnumerateArray());
        Assert.Empty(doc.RootElement.GetProperty("gonePartners").EnumerateArray());
        // A window that only grows cannot lower a metric; no partner crosses a threshold in 2026-10 (Contoso DE's
        // CloudPlatform: 6,080.50 → 7,400.50, still under 15,000).
        foreach (var c in doc.RootElement.GetProperty("competencies").EnumerateArray())
        {
            Assert.Empty(c.GetProperty("gained").EnumerateArray());
            Assert.Empty(c.GetProperty("lost").EnumerateArray());
        }
        // Alpine prod 9,660.20 (DPOR Fabrikam; EA Contoso US), dev 1,320.00 (DPOR Contoso DE; EA Contoso US), Wide World's Azure 700.00 (Woodgrove).
        AssertMovers([("1234567", 10_980.20), ("2345678", 9_660.20), ("1234568", 1_320.00), ("6789012", 700.00)],
            Movers(Competency(doc, "CloudPlatform"), "acrUsdTtmMovers", "acrUsdTtmChange"));
        // Coho Winery's Exchange revenue of 2026-10 (220.00): DPOR Northwind and CSP provider Adatum.
        AssertMovers([("3456789", 220.00), ("4567890", 220.00)], Movers(Competency(doc, "SmallMidmarketCloud"), "acrUsdTtmMovers", "acrUsdTtmChange"));
        // Wide World Dynamics365 8,075.00 + Fourth Coffee 2,850.00, both Woodgrove.
        AssertMovers([("6789012", 10_925.00)], Movers(Competency(doc, "CloudBusinessApplications"), "acrUsdTtmMovers", "acrUsdTtmChange"));
    }

    [Fact]
    public async Task After_the_restatement_contoso_de_gains_silver_and_the_movers_follow_the_corrected_row()
    {
        var (code, output, error) = await CliRunner.RunAsync("changes", "--as-of", "2026-10", "--since", "2026-09", "--json", "--storage", Conn);
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal("months", doc.RootElement.GetProperty("comparison").GetString());
        Assert.Equal(9, doc.RootElement.GetProperty("to").GetProperty("partners").GetInt32());
        var cloud = Competency(doc, "CloudPlatform");
        // Contoso DE: 6,080.50 + 9,000.00 = 15,080.50 >= 15,000.
        Assert.Equal(["1234568 None->Silver"], Levels(cloud, "gained"));
        Assert.Empty(Levels(cloud, "lost"));
        Assert.Empty(cloud.GetProperty("newPartners").EnumerateArray());
        // Contoso US: 9,660.20 + 9,000.00; Fabrikam 9,660.20; Contoso DE 9,000.00; Woodgrove 700.00.
        AssertMovers([("1234567", 18_660.20), ("2345678", 9_660.20), ("1234568", 9_000.00), ("6789012", 700.00)],
            Movers(cloud, "acrUsdTtmMovers", "acrUsdTtmChange"));
        // Progress is toward the next level: Contoso DE 6,080.50/15,000 (to Silver) → 15,080.50/100,000 (to Gold);
        // Contoso US 31,996.25/100,000 → 50,656.45/100,000; Woodgrove 6,039.60/15,000 → 6,739.60/15,000; Fabrikam stays Gold (1).
        AssertMovers([("1234568", 0.150805 - 0.405367), ("1234567", 0.506565 - 0.319963), ("6789012", 0.449307 - 0.402640)],
            Movers(cloud, "progressMovers", "progressChange"), precision: 5);
        var contosoDe = cloud.GetProperty("acrUsdTtmMovers").EnumerateArray().Single(m => m.GetProperty("partnerId").GetString() == "1234568");
        Assert.Equal("None", contosoDe.GetProperty("fromLevel").GetString());
        Assert.Equal("Silver", contosoDe.GetProperty("toLevel").GetString());
        Assert.Equal(6_080.50, contosoDe.GetProperty("fromAcrUsdTtm").GetDouble(), 2);
        Assert.Equal(15_080.50, contosoDe.GetProperty("toAcrUsdTtm").GetDouble(), 2);
        foreach (var other in new[] { "SmallMidmarketCloud", "Security", "CloudBusinessApplications" })
        {
            Assert.Empty(Levels(Competency(doc, other), "gained"));
            Assert.Empty(Levels(Competency(doc, other), "lost"));
        }

        // --top limits each list; the text names the level gained.
        (code, output, error) = await CliRunner.RunAsync("changes", "--top", "2", "--json", "--storage", Conn);
        Assert.True(code == 0, error);
        using (var top = JsonDocument.Parse(output))
            Assert.Equal(["1234567", "2345678"], Movers(Competency(top, "CloudPlatform"), "acrUsdTtmMovers", "acrUsdTtmChange").Select(m => m.Partner));
        (code, output, error) = await CliRunner.RunAsync("changes", "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.Contains("Changes from 2026-09 (published", output);
        Assert.Contains("gained: 1234568 None → Silver", output);
        Assert.Contains("+18,660.20", output);
    }

    [Fact]
    public async Task A_scenario_with_lower_thresholds_is_compared_with_the_published_run_of_its_month()
    {
        var (code, output, error) = await CliRunner.RunAsync("changes", "--scenario", "lower", "--json", "--storage", Conn);
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal("scenario", root.GetProperty("comparison").GetString());
        Assert.Equal("2026-10", root.GetProperty("from").GetProperty("asOf").GetString());
        Assert.False(root.GetProperty("from").TryGetProperty("scenario", out _));
        Assert.Equal("2026.11-default", root.GetProperty("from").GetProperty("rulesVersion").GetString());
        Assert.Equal("lower", root.GetProperty("to").GetProperty("scenario").GetString());
        Assert.Equal("lower-thresholds", root.GetProperty("to").GetProperty("rulesVersion").GetString());
        // Silver → Gold is gained (the rules' order, though "Gold" sorts before "Silver"): Contoso US 50,656.45 and
        // Litware 77,747.70 reach 50,000; Woodgrove's 6,739.60 reaches 5,000; Contoso DE (15,080.50) and Fabrikam keep theirs.
        Assert.Equal(["1234567 Silver->Gold", "6789012 None->Silver", "7890123 Silver->Gold"], Levels(Competency(doc, "CloudPlatform"), "gained"));
        // Northwind's 60 Lucerne Intune/EntraID users reach 50.
        Assert.Equal(["3456789 None->Silver"], Levels(Competency(doc, "Security"), "gained"));
        Assert.Empty(Levels(Competency(doc, "SmallMidmarketCloud"), "gained"));
        Assert.Empty(Levels(Competency(doc, "CloudBusinessApplications"), "gained"));
        foreach (var c in root.GetProperty("competencies").EnumerateArray())
        {
            Assert.Empty(c.GetProperty("lost").EnumerateArray());
            // Same records, other rules: the metrics do not move.
            Assert.Empty(c.GetProperty("acrUsdTtmMovers").EnumerateArray());
        }

        (code, output, error) = await CliRunner.RunAsync("changes", "--scenario", "lower", "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.Contains("scenario 'lower'", output);
        Assert.Contains("1234567 Silver → Gold", output);
    }

    [Theory]
    [InlineData(1, "No published month before 2026-09 to compare with", "--as-of", "2026-09")]
    [InlineData(1, "No published recalculation for 2026-08.", "--as-of", "2026-08")]
    [InlineData(1, "No published recalculation for 2026-07.", "--since", "2026-07")]
    [InlineData(1, "Scenario 'nope' has no finished run.", "--scenario", "nope")]
    [InlineData(2, "must be before 2026-10", "--since", "2026-10")]
    [InlineData(2, "not both", "--since", "2026-09", "--scenario", "lower")]
    [InlineData(2, "--top must be at least 1", "--top", "0")]
    [InlineData(2, "--since 'Sept' is not a month", "--since", "Sept")]
    [InlineData(2, "--scenario takes", "--scenario", "no spaces")]
    public async Task Nothing_to_compare_is_one_clear_error_line_and_an_exit_code(int exitCode, string message, params string[] args)
    {
        var (code, output, error) = await CliRunner.RunAsync(["changes", .. args, "--storage", Conn]);
        Assert.Equal(exitCode, code);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains(message, line);
    }
}
