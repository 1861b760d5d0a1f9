using System.Text.Json;
using Attribution.Testing;

namespace Attribution.Cli.Tests;

/// <summary>
/// `attribution tenant` on feeds the test writes: a same-day DPOR override, an association of a workload without usage,
/// one that starts after the window — each partner's "why not", computed by hand from these rows (nothing published).
/// </summary>
public sealed class TenantWhyNotTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const string Tenant = "7d0c1e52-3f4b-4a8e-9c11-2b7e5a9d0f31";
    private const string Sub = "e1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f607";

    private static string S(JsonElement e, string name) => e.GetProperty(name).GetString()!;

    private static JsonElement Partner(JsonElement v, string id) => v.GetProperty("partners").EnumerateArray().Single(p => S(p, "partnerId") == id);

    private static IEnumerable<string> Reasons(JsonElement p) => p.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!);

    [Fact]
    public async Task Each_partner_says_why_it_is_or_is_not_credited()
    {
        var conn = azurite.ConnectionString;
        var dir = TestPaths.NewTempDirectory();
        var first = TestPaths.WriteFeed(dir, "dpor", "dpor-a.csv",
            "subscriptionId,customerTenantId,partnerId,effectiveDate,action\n" +
            $"{Sub},{Tenant},1111111,2026-01-01,set\n" +
            $"{Sub},{Tenant},2222222,2026-06-10,set\n");
        var second = TestPaths.WriteFeed(dir, "dpor", "dpor-b.csv",
            "subscriptionId,customerTenantId,partnerId,effectiveDate,action\n" +
            $"{Sub},{Tenant},3333333,2026-06-10,set\n");
        var csp = TestPaths.WriteFeed(dir, "csp", "csp.csv",
            "customerTenantId,subscriptionId,partnerId,validFrom,validTo,resellerPartnerId,workloads\n" +
            $"{Tenant},{Sub},4444444,2025-01-01,,,Teams\n");
        var fasttrack = TestPaths.WriteFeed(dir, "fasttrack", "fasttrack.csv",
            "customerTenantId,partnerId,workloads,engagementStart,engagementEnd\n" +
            $"{Tenant},5555555,Exchange Online,2027-01-01,2027-06-30\n");
        var usage = TestPaths.WriteFeed(dir, "usage", "usage.csv",
            "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" +
            $"{Tenant},{Sub},Azure,2026-05,100,\n" +
            $"{Tenant},{Sub},Azure,2026-06,300,\n");
        // One ingestion after the other: dpor-b.csv is the later-ingested.
        foreach (var path in new[] { first, second, csp, fasttrack, usage })
        {
            var (ingested, _, error) = await CliRunner.RunAsync("ingest", path, "--storage", conn);
            Assert.True(ingested == 0, error);
        }

        var (code, output, stderr) = await CliRunner.RunAsync("tenant", Tenant, "--as-of", "2026-06", "--json", "--storage", conn);
        Assert.True(code == 0, stderr);
        var v = JsonDocument.Parse(output).RootElement;
        Assert.False(v.GetProperty("published").GetBoolean());
        Assert.Equal("2025-07", S(v, "windowFrom"));

        // On 2026-06-10 two sets: the later-ingested (3333333) wins; 1111111 holds to the day before.
        var timeline = Assert.Single(v.GetProperty("dporTimelines").EnumerateArray());
        Assert.Equal(["2026-01-01 set 1111111 True dpor-a.csv:2", "2026-06-10 set 2222222 False dpor-a.csv:3", "2026-06-10 set 3333333 True dpor-b.csv:2"],
            timeline.GetProperty("events").EnumerateArray().Select(e =>
                $"{S(e, "effectiveDate")} {S(e, "action")} {S(e, "partnerId")} {e.GetProperty("counts").GetBoolean()} {S(e.GetProperty("feedRecord"), "file")}:{e.GetProperty("feedRecord").GetProperty("line").GetInt64()}"));
        // In the window: 1111111 Jan 31 + Feb 28 + Mar 31 + Apr 30 + May 31 + Jun 9 = 160 days; 3333333 Jun 10 … 30 = 21.
        Assert.Equal(["1111111 2026-01-01..2026-06-09 160", "3333333 2026-06-10.. 21"],
            timeline.GetProperty("periods").EnumerateArray().Select(p =>
                $"{S(p, "partnerId")} {S(p, "from")}..{(p.TryGetProperty("to", out var t) ? t.GetString() : "")} {p.GetProperty("daysInWindow").GetInt32()}"));
        Assert.Equal("3333333", S(timeline, "dporOnLastDay"));

        // May: 1111111 all 31 days; June: 1111111 9 of 30 days, 3333333 21 of 30.
        Assert.Equal(["2026-05 1111111/31", "2026-06 1111111/9 3333333/21"],
            v.GetProperty("usage").EnumerateArray().Select(u => S(u, "month") + " " +
                string.Join(' ', u.GetProperty("creditedPartners").EnumerateArray().Select(c => $"{S(c, "partnerId")}/{c.GetProperty("dporDays").GetInt32()}"))));

        Assert.Equal(["1111111", "2222222", "3333333", "4444444", "5555555"], v.GetProperty("partners").EnumerateArray().Select(p => S(p, "partnerId")));
        var p1 = Partner(v, "1111111");
        Assert.False(p1.GetProperty("isDpor").GetBoolean());
        Assert.Equal(190, p1.GetProperty("incentiveAcrUsd").GetDouble(), 6); // 100 + 300 × 9/30
        var p3 = Partner(v, "3333333");
        Assert.True(p3.GetProperty("isDpor").GetBoolean());
        Assert.Equal(210, p3.GetProperty("incentiveAcrUsd").GetDouble(), 6); // 300 × 21/30

        var p2 = Partner(v, "2222222");
        Assert.False(p2.GetProperty("credited").GetBoolean());
        Assert.Contains(Reasons(p2), r => r.Contains("does not count", StringComparison.Ordinal) && r.Contains("dpor-b.csv", StringComparison.Ordinal));

        var p4 = Partner(v, "4444444");
        Assert.False(p4.GetProperty("credited").GetBoolean());
        Assert.Contains(Reasons(p4), r => r.Contains("in force 2025-07 … 2026-06, but no usage of Teams", StringComparison.Ordinal));

        var p5 = Partner(v, "5555555");
        Assert.False(p5.GetProperty("credited").GetBoolean());
        Assert.Contains(Reasons(p5), r => r.Contains("not in force in the window 2025-07 … 2026-06: starts 2027-01-01", StringComparison.Ordinal));
    }
}
