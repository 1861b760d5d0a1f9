using System.Text.Json;
using Attribution.Testing;

namespace Attribution.Cli.Tests;

/// <summary>The shipped samples ingested and 2026-10 recalculated, once for the class.</summary>
public sealed class ScoreCommandFixture : IAsyncLifetime
{
    public AzuriteFixture Azurite { get; } = new();

    public async Task InitializeAsync()
    {
        await Azurite.InitializeAsync();
        var conn = Azurite.ConnectionString;
        var samples = Directory.EnumerateFiles(TestPaths.Samples, "*.*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".md", StringComparison.Ordinal));
        var (ingested, _, ingestError) = await CliRunner.RunAsync(["ingest", .. samples, "--storage", conn]);
        Assert.True(ingested == 0, ingestError);
        var (recalc, _, recalcError) = await CliRunner.RunAsync("recalc", "--as-of", "2026-10", "--storage", conn);
        Assert.True(recalc == 0, recalcError);
    }

    public Task DisposeAsync() => Azurite.DisposeAsync();
}

/// <summary>
/// `attribution score` on the samples' designation partners (samples/feeds/README.md, "Designations"). Every number is
/// worked out by hand from the feed files and §7 (Infrastructure: Azure, sources csp dpor pal, bar 70, window
/// 2026-05 … 2026-10; Q(m) = tenants with ≥ 1,000 USD in m or m−1).
/// </summary>
public sealed class ScoreCommandTests(ScoreCommandFixture fixture) : IClassFixture<ScoreCommandFixture>
{
    private string Conn => fixture.Azurite.ConnectionString;

    private async Task<JsonElement> InfrastructureAsync(string partner)
    {
        var (code, output, error) = await CliRunner.RunAsync("score", partner, "--designation", "infrastructure", "--format", "json", "--storage", Conn);
        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement.Clone();
        return Assert.Single(root.GetProperty("designations").EnumerateArray());
    }

    private static double Metric(JsonElement d, string metric, string property = "points") =>
        d.GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("metric").GetString() == metric).GetProperty(property).GetDouble();

    private static string[] List(JsonElement d, string property) => [.. d.GetProperty(property).EnumerateArray().Select(e => e.GetString()!)];

    [Fact]
    public async Task Relecloud_qualifies_through_its_ireland_location_rolling_up_to_the_global_partner()
    {
        var (code, output, error) = await CliRunner.RunAsync("score", "9100002", "--format", "json", "--storage", Conn);
        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("9100000", root.GetProperty("globalPartnerId").GetString());
        Assert.Equal("9100002", root.GetProperty("requestedPartnerId").GetString());
        // Every designation of the shipped rules, in rules order.
        Assert.Equal(["Infrastructure", "ModernWork", "Security", "BusinessApplications"],
            root.GetProperty("designations").EnumerateArray().Select(d => d.GetProperty("designation").GetString()));

        var d = await InfrastructureAsync("9100000");
        // Q(2026-10) = t1…t5 (CSP t1–t4 via 9100001, PAL t5 via 9100002; t7's 700 is under the minimum), Q(2025-10) =
        // t1 and t6 (whose CSP link ended 2025-10-31): net 3 → 30.
        Assert.Equal(3, Metric(d, "netCustomerAdds", "value"));
        Assert.Equal(30, Metric(d, "netCustomerAdds"));
        // 5 AZ-104 holders → 20; AZ-305 and a lower-case az-400 → 2 × 4 = 8.
        Assert.Equal(20, Metric(d, "intermediateCertifications"));
        Assert.Equal(2, Metric(d, "advancedCertifications", "value"));
        // total(2025-10) = 5,000 (t1) + 1,200 (t6), total(2026-10) = 5,000 + 4 × 2,500 + 700 (t7) = 15,700: +153.2 % → 20 (max).
        Assert.Equal((15_700.0 - 6_200) / 6_200 * 100, Metric(d, "usageGrowth", "value"), 9);
        // t1–t5's 12-month sums reach 12,000 (t2–t5: 12 × 2,500; t7 only 8,400): 5 × 2 = 10.
        Assert.Equal(5, Metric(d, "deployments", "value"));
        Assert.Equal(88, d.GetProperty("score").GetDouble(), 9);
        Assert.True(d.GetProperty("qualified").GetBoolean());
        Assert.Equal(["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"], List(d, "qualifiedMonths"));
        Assert.Equal(0, d.GetProperty("pointsToQualify").GetDouble());
    }

    [Fact]
    public async Task Lamna_is_eligible_only_through_the_first_month_of_the_window()
    {
        var d = await InfrastructureAsync("9200000");
        // Its AZ-700 holders' certifications expire 2026-05-31: in force on May's last day, not on June's. At 2026-05:
        // net adds 4 − 1 (u0 a year before) = 3 → 30, 5 × 4 = 20, AZ-305 → 4, growth 2,000 → 6,500 = 225 % → 20,
        // deployments u0 only (u1–u3 have 7 × 1,500 = 10,500 < 12,000) → 2: 76 ≥ 70, no metric at 0.
        Assert.False(d.GetProperty("qualified").GetBoolean());
        Assert.True(d.GetProperty("eligible").GetBoolean());
        Assert.Equal(["2026-05"], List(d, "qualifiedMonths"));
        // At 2026-10 the intermediate and (AZ-305 expired 2026-08-31) advanced certifications are at 0.
        Assert.Equal(["advancedCertifications", "intermediateCertifications"], List(d, "zeroMetrics"));
        Assert.Equal(70 - d.GetProperty("score").GetDouble(), d.GetProperty("pointsToQualify").GetDouble(), 9);
    }

    [Fact]
    public async Task Tailwind_has_the_points_but_a_metric_at_zero()
    {
        var d = await InfrastructureAsync("9300000");
        // DPOR of v0–v4: net 5 − 1 → 30; 5 AZ-800 → 20; growth 3,000 → 11,000 → 20; 5 deployments → 10; no advanced.
        Assert.Equal(80, d.GetProperty("score").GetDouble(), 9);
        Assert.False(d.GetProperty("qualified").GetBoolean());
        Assert.False(d.GetProperty("eligible").GetBoolean());
        Assert.Equal(0, d.GetProperty("pointsToQualify").GetDouble());
        Assert.Equal(["advancedCertifications"], List(d, "zeroMetrics"));
        Assert.Equal("1 more certified person", d.GetProperty("metrics").EnumerateArray()
            .Single(m => m.GetProperty("metric").GetString() == "advancedCertifications").GetProperty("nextPoint").GetString());
    }

    [Fact]
    public async Task The_table_fits_80_columns_and_csv_has_a_row_per_metric()
    {
        var (code, output, error) = await CliRunner.RunAsync("score", "9300000", "--width", "80", "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.All(output.Split('\n'), l => Assert.True(l.TrimEnd().Length <= 80, l));
        Assert.Contains("Infrastructure (Standard): 80 of 70 points, not qualified (enough points, but a metric is at 0)", output.ReplaceLineEndings(" ").Replace("  ", " ", StringComparison.Ordinal), StringComparison.Ordinal);

        (code, output, error) = await CliRunner.RunAsync("score", "9300000", "--designation", "Infrastructure", "--format", "csv", "--storage", Conn);
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("globalPartnerId,asOf,designation,track,score,", lines[0], StringComparison.Ordinal);
        Assert.Equal(6, lines.Length); // the header and Infrastructure's five metrics
        Assert.All(lines.Skip(1), l => Assert.StartsWith("9300000,2026-10,Infrastructure,Standard,80,", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_designation_or_partner_is_a_clear_error()
    {
        var (code, _, error) = await CliRunner.RunAsync("score", "9300000", "--designation", "Data", "--storage", Conn);
        Assert.NotEqual(0, code);
        Assert.Contains("Unknown designation 'Data'", error, StringComparison.Ordinal);
        Assert.Contains("Infrastructure ModernWork Security BusinessApplications", error, StringComparison.Ordinal);

        (code, _, error) = await CliRunner.RunAsync("score", "999", "--storage", Conn);
        Assert.NotEqual(0, code);
        Assert.Contains("Partner 999 has no capability score as of 2026-10", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_customer_view_lists_the_customers_behind_the_net_adds_and_fits_80_columns()
    {
        // Relecloud: t2–t5 added, t6 lost (CSP ended 2025-10-31), t1 both times, t7 under the 1,000 minimum.
        var (code, output, error) = await CliRunner.RunAsync("score", "9100002", "--designation", "Infrastructure", "--customers", "--format", "json", "--storage", Conn);
        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("revenue", root.GetProperty("measure").GetString());
        var totals = root.GetProperty("totals");
        Assert.Equal((7, 5, 2, 3, 5), (totals.GetProperty("customers").GetInt32(), totals.GetProperty("countsNow").GetInt32(),
            totals.GetProperty("countsYearAgo").GetInt32(), totals.GetProperty("netCustomerAdds").GetInt32(), totals.GetProperty("countsDeployment").GetInt32()));
        var customers = root.GetProperty("customers").EnumerateArray().ToList();
        Assert.Equal([2500, 2500, 2500, 2500, 0, 5000, 700], customers.Select(c => c.GetProperty("valueM").GetDouble()));
        var lost = customers[4];
        Assert.Equal(1200, lost.GetProperty("valueM12").GetDouble());
        var association = Assert.Single(lost.GetProperty("associations").EnumerateArray());
        Assert.Equal(("csp", "9100001", "2025-01-01", "2025-10-31"), (association.GetProperty("source").GetString(), association.GetProperty("partnerId").GetString(),
            association.GetProperty("validFrom").GetString(), association.GetProperty("validTo").GetString()));
        Assert.True(association.GetProperty("line").GetInt64() > 0);

        (code, output, error) = await CliRunner.RunAsync("score", "9100000", "--designation", "Infrastructure", "--customers", "--counted", "no", "--width", "80", "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.All(output.Split('\n'), l => Assert.True(l.TrimEnd().Length <= 80, l));
        Assert.Contains("2 of 7 customers match.", output, StringComparison.Ordinal);
        Assert.Contains(customers[6].GetProperty("customerTenantId").GetString()!, output, StringComparison.Ordinal);

        (code, _, error) = await CliRunner.RunAsync("score", "9100000", "--customers", "--storage", Conn);
        Assert.Equal(2, code);
        Assert.Contains("--customers needs --designation", error, StringComparison.Ordinal);
    }
}
