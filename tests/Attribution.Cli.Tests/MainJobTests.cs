using System.Text.Json;
using Attribution.Testing;

namespace Attribution.Cli.Tests;

/// <summary>`attribution run` on the shipped samples, then the read and what-if verbs against what it published.</summary>
public sealed class MainJobFixture : IAsyncLifetime
{
    public AzuriteFixture Azurite { get; } = new();
    public (int ExitCode, string Out, string Error) Run { get; private set; }

    public async Task InitializeAsync()
    {
        await Azurite.InitializeAsync();
        Run = await CliRunner.RunAsync("run", "--feeds", TestPaths.Samples, "--storage", Azurite.ConnectionString);
    }

    public Task DisposeAsync() => Azurite.DisposeAsync();
}

public sealed class MainJobTests(MainJobFixture fixture) : IClassFixture<MainJobFixture>
{
    private string Conn => fixture.Azurite.ConnectionString;

    [Fact]
    public void Run_ingests_every_sample_recalculates_and_prints_each_partners_credit()
    {
        var (code, output, error) = fixture.Run;
        Assert.True(code == 0, error);
        foreach (var source in new[] { "partners", "dpor", "sales", "csp", "fasttrack", "dap", "usage" })
            Assert.Contains($" {source} ", output);
        Assert.DoesNotContain("Failed", output);
        Assert.Contains("Credit as of 2026-10", output);
        Assert.Contains("published", output);
        var fabrikam = output.Split('\n').Single(l => l.Contains("2345678", StringComparison.Ordinal) && l.Contains("Fabrikam", StringComparison.Ordinal));
        Assert.Contains("Gold", fabrikam);
        Assert.Equal(13, output.Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s+\d{7}\s"))); // the samples' 13 location partners
    }

    [Fact]
    public async Task Partner_json_has_the_contract_shape()
    {
        var (code, output, _) = await CliRunner.RunAsync("partner", "2345678", "--json", "--storage", Conn);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal("2345678", root.GetProperty("partnerId").GetString());
        Assert.Equal("2026-10", root.GetProperty("asOf").GetString());
        Assert.Equal("location", root.GetProperty("scope").GetString());
        var competencies = root.GetProperty("competencies").EnumerateArray().ToList();
        Assert.Equal(4, competencies.Count);
        foreach (var c in competencies)
        {
            foreach (var name in new[] { "competency", "acrUsdTtm", "peakMonthlyActiveUsers", "customers", "level", "nextLevel", "progress", "incentiveEligibleAcrUsdTtm", "sources" })
                Assert.True(c.TryGetProperty(name, out _), $"missing {name}");
        }
        var cloud = competencies.Single(c => c.GetProperty("competency").GetString() == "CloudPlatform");
        Assert.Equal("Gold", cloud.GetProperty("level").GetString());
        Assert.Equal(JsonValueKind.Null, cloud.GetProperty("nextLevel").ValueKind);
        Assert.True(cloud.GetProperty("acrUsdTtm").GetDouble() >= 100_000);
    }

    [Fact]
    public async Task Partner_global_and_subscription_views()
    {
        var (code, output, _) = await CliRunner.RunAsync("partner", "1234500", "--global", "--json", "--storage", Conn);
        Assert.Equal(0, code);
        using (var doc = JsonDocument.Parse(output))
        {
            Assert.Equal("global", doc.RootElement.GetProperty("scope").GetString());
            Assert.Equal("1234567;1234568", doc.RootElement.GetProperty("locations").GetString());
        }

        var sub = (await fixture.Azurite.Storage.AllAsync("SubscriptionPartners")).First(e => e.GetBoolean("isDpor") == true).PartitionKey;
        (code, output, _) = await CliRunner.RunAsync("subscription", sub, "--json", "--storage", Conn);
        Assert.Equal(0, code);
        using (var doc = JsonDocument.Parse(output))
        {
            Assert.Equal(sub, doc.RootElement.GetProperty("subscriptionId").GetString());
            var partners = doc.RootElement.GetProperty("partners").EnumerateArray().ToList();
            Assert.Single(partners, p => p.GetProperty("isDpor").GetBoolean());
            Assert.All(partners, p => Assert.False(string.IsNullOrEmpty(p.GetProperty("sources").GetString())));
        }

        (code, output, _) = await CliRunner.RunAsync("subscription", sub, "--storage", Conn);
        Assert.Equal(0, code);
        Assert.Contains("yes", output);
    }

    [Fact]
    public async Task Explain_lists_rows_that_sum_to_the_published_metric_with_their_feed_records()
    {
        var (code, output, _) = await CliRunner.RunAsync("explain", "7890123", "--competency", "cloudplatform", "--json", "--storage", Conn);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.NotEmpty(rows);
        var sum = rows.Sum(r => r.GetProperty("creditedRevenueUsd").GetDouble());
        Assert.Equal(doc.RootElement.GetProperty("acrUsdTtm").GetDouble(), sum, 6);
        Assert.All(rows, r => Assert.Contains(r.GetProperty("associations").EnumerateArray(), a => a.GetProperty("source").GetString() == "sales"));

        var (code2, text, _) = await CliRunner.RunAsync("explain", "7890123", "--competency", "CloudPlatform", "--storage", Conn);
        Assert.Equal(0, code2);
        Assert.Contains("Gold needs acrUsdTtm >= 100,000", text);
        Assert.Contains("line", text);
    }

    [Fact]
    public async Task A_scenario_shows_its_results_and_publishes_nothing()
    {
        var before = (await CliRunner.RunAsync("partner", "7890123", "--json", "--storage", Conn)).Out;
        var rules = Path.Combine(TestPaths.NewTempDirectory(), "dpor-only.json");
        await File.WriteAllTextAsync(rules, Attribution.Domain.Rules.CreditRulesLoader.DefaultJson.Replace("\"full\"", "\"dporOnly\"", StringComparison.Ordinal));

        var (code, output, error) = await CliRunner.RunAsync("recalc", "--as-of", "2026-10", "--rules", rules, "--scenario", "dpor-only", "--storage", Conn);

        Assert.True(code == 0, error);
        Assert.Contains("scenario 'dpor-only' (not published)", output);
        Assert.DoesNotContain("7890123", output); // Litware is credited by its EA only, never as DPOR
        Assert.Equal(before, (await CliRunner.RunAsync("partner", "7890123", "--json", "--storage", Conn)).Out);
    }

    [Theory]
    [InlineData("partner", "abc")]
    [InlineData("partner", "2345678", "--as-of", "2026-13")]
    [InlineData("subscription", "not-a-guid")]
    [InlineData("explain", "2345678", "--competency", "Quantum")]
    [InlineData("explain", "2345678")]
    [InlineData("recalc", "--as-of", "10/2026")]
    [InlineData("recalc", "--rules", "/nonexistent/rules.json")]
    [InlineData("recalc", "--scenario", "no spaces allowed")]
    [InlineData("run", "--feeds", "/nonexistent/feeds")]
    [InlineData("generate", "--out", "/tmp/x", "--tenants", "0")]
    public async Task Bad_usage_exits_2(params string[] args)
    {
        var (code, _, error) = await CliRunner.RunAsync([.. args, "--storage", Conn]);
        Assert.Equal(2, code);
        // After the "storage: …" line, the first line says what is wrong.
        Assert.StartsWith("error:", error.Split('\n', StringSplitOptions.RemoveEmptyEntries).First(l => !l.StartsWith("storage: ", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_partners_exit_1_and_invalid_rules_fail_fast_naming_the_field()
    {
        Assert.Equal(1, (await CliRunner.RunAsync("partner", "999", "--storage", Conn)).ExitCode);
        var rules = Path.Combine(TestPaths.NewTempDirectory(), "bad.json");
        await File.WriteAllTextAsync(rules, Attribution.Domain.Rules.CreditRulesLoader.DefaultJson.Replace("\"acrUsdTtm\": 15000", "\"acrUsdTtm\": -1", StringComparison.Ordinal));
        var (code, _, error) = await CliRunner.RunAsync("recalc", "--rules", rules, "--storage", Conn);
        Assert.Equal(1, code);
        Assert.Contains("$.competencies[0].levels[0].thresholds.acrUsdTtm", error);
    }

    [Fact]
    public async Task Generate_writes_deterministic_feeds_for_every_source()
    {
        var a = TestPaths.NewTempDirectory();
        var b = TestPaths.NewTempDirectory();
        Assert.Equal(0, (await CliRunner.RunAsync("generate", "--out", a, "--tenants", "25", "--seed", "3")).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync("generate", "--out", b, "--tenants", "25", "--seed", "3")).ExitCode);
        foreach (var source in new[] { "partners", "dpor", "sales", "csp", "fasttrack", "dap", "usage" })
        {
            var fa = Directory.GetFiles(Path.Combine(a, source)).Single();
            var fb = Path.Combine(b, source, Path.GetFileName(fa));
            Assert.Equal(await File.ReadAllBytesAsync(fa), await File.ReadAllBytesAsync(fb));
        }
    }
}
