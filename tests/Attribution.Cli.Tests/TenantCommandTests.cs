using System.Text.Json;
using Attribution.Testing;

namespace Attribution.Cli.Tests;

/// <summary>The shipped samples ingested; Trey Research's view read once before anything is published, then 2026-10 recalculated.</summary>
public sealed class TenantCommandFixture : IAsyncLifetime
{
    public AzuriteFixture Azurite { get; } = new();
    public (int ExitCode, string Out, string Error) Unpublished { get; private set; }

    public async Task InitializeAsync()
    {
        await Azurite.InitializeAsync();
        var conn = Azurite.ConnectionString;
        var samples = Directory.EnumerateFiles(TestPaths.Samples, "*.*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".md", StringComparison.Ordinal));
        var (ingested, _, ingestError) = await CliRunner.RunAsync(["ingest", .. samples, "--storage", conn]);
        Assert.True(ingested == 0, ingestError);
        Unpublished = await CliRunner.RunAsync("tenant", TenantCommandTests.Trey, "--as-of", "2026-10", "--json", "--storage", conn);
        var (recalc, _, recalcError) = await CliRunner.RunAsync("recalc", "--as-of", "2026-10", "--storage", conn);
        Assert.True(recalc == 0, recalcError);
    }

    public Task DisposeAsync() => Azurite.DisposeAsync();
}

/// <summary>
/// `attribution tenant` on the samples. Every expectation is read off samples/feeds by hand: the usage files' lines,
/// the association and DPOR files' lines, and the §3 rules (in force on ≥ 1 day of a month; DPOR periods end the day
/// before the next event; the window of 2026-10 is 2025-11 … 2026-10).
/// </summary>
public sealed class TenantCommandTests(TenantCommandFixture fixture) : IClassFixture<TenantCommandFixture>
{
    /// <summary>Trey Research: one subscription (Exchange, 12 users but 11 in 2026-03); DPOR Northwind removed 2026-08-20; Open Proseware; DAP Contoso DE from 2026-04-01.</summary>
    public const string Trey = "3d581895-9d1f-4841-8daf-9df15c1216c8";
    private const string TreySub = "28c9ad96-6c67-4ad3-8abd-5d711b2641b3";

    /// <summary>Alpine Ski House: prod and dev (Azure); dev's DPOR moves from Fabrikam to Contoso DE on 2026-05-15; EA Litware to 2026-06-30, then Contoso US.</summary>
    private const string Alpine = "bbdc79ef-c388-417b-bdef-d3cf4e4665d2";
    private const string AlpineProd = "0a765893-8334-4ba8-92a2-94bc602ab29c";
    private const string AlpineDev = "389eef2f-79d0-4d1d-bf42-840f356fdc04";

    private string Conn => fixture.Azurite.ConnectionString;

    private async Task<JsonElement> JsonAsync(params string[] args)
    {
        var (code, output, error) = await CliRunner.RunAsync([.. args, "--json", "--storage", Conn]);
        Assert.True(code == 0, error);
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    private static string S(JsonElement e, string name) => e.GetProperty(name).GetString()!;

    private static string? N(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.GetString() : null;

    private static JsonElement Partner(JsonElement view, string id) => view.GetProperty("partners").EnumerateArray().Single(p => S(p, "partnerId") == id);

    private static string FeedRecord(JsonElement e)
    {
        var r = e.GetProperty("feedRecord");
        Assert.False(string.IsNullOrEmpty(S(r, "ingestionId")));
        return $"{S(r, "file")}:{r.GetProperty("line").GetInt64()}";
    }

    /// <summary>Source, partner, subscription, workloads, valid, in force, rows, feed record.</summary>
    private static string Association(JsonElement a) =>
        $"{S(a, "source")}{(N(a, "program") is { } p ? "/" + p : "")} {S(a, "partnerId")} {S(a, "scope")} {N(a, "subscriptionId") ?? "-"} {S(a, "workloads")} " +
        $"{S(a, "validFrom")}..{N(a, "validTo") ?? "open"} in force {N(a, "inForceFrom") ?? "-"}..{N(a, "inForceTo") ?? "-"} rows {a.GetProperty("creditedRows").GetInt64()} {FeedRecord(a)}";

    private static void AssertTreyRecords(JsonElement v)
    {
        Assert.Equal(Trey, S(v, "customerTenantId"));
        Assert.Equal("2026-10", S(v, "asOf"));
        Assert.Equal("2025-11", S(v, "windowFrom"));
        Assert.Equal("full", S(v, "creditPolicy"));

        // usage-2025.csv lines 13 and 30, then usage-2026.csv.gz every 18th line from 13.
        string[] months = ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"];
        string[] lines = ["usage-2025.csv:13", "usage-2025.csv:30", .. Enumerable.Range(0, 10).Select(i => $"usage-2026.csv.gz:{13 + 18 * i}")];
        string[] credited =
        [
            .. Enumerable.Repeat("3456789/dpor 8901234/sales", 5),            // DPOR Northwind and Open Proseware
            .. Enumerable.Repeat("1234568/dap 3456789/dpor 8901234/sales", 5), // + DAP Contoso DE (Exchange) from 2026-04
            .. Enumerable.Repeat("1234568/dap 8901234/sales", 2),             // the DPOR was removed on 2026-08-20
        ];
        var expected = months.Select((m, i) => $"{m} {TreySub} Exchange {(m == "2026-03" ? 11 : 12)} {credited[i]} {lines[i]}");
        var usage = v.GetProperty("usage").EnumerateArray().Select(u =>
            $"{S(u, "month")} {S(u, "subscriptionId")} {S(u, "workload")} {u.GetProperty("activeUsers").GetInt64()} " +
            string.Join(' ', u.GetProperty("creditedPartners").EnumerateArray().Select(c => $"{S(c, "partnerId")}/{S(c, "sources")}")) + $" {FeedRecord(u)}");
        Assert.Equal(expected, usage);
        var august = v.GetProperty("usage").EnumerateArray().Single(u => S(u, "month") == "2026-08");
        Assert.Equal(19, august.GetProperty("creditedPartners").EnumerateArray().Single(c => S(c, "partnerId") == "3456789").GetProperty("dporDays").GetInt32());

        Assert.Equal(
        [
            $"dpor 3456789 subscription {TreySub} * 2024-11-04..2026-08-19 in force 2025-11..2026-08 rows 10 dpor.csv:8",
            $"dap 1234568 tenant-wide - Exchange 2026-04-01..open in force 2026-04..2026-10 rows 7 dap.jsonl:4",
            $"sales/Open 8901234 subscription {TreySub} * 2025-06-01..2028-05-31 in force 2025-11..2026-10 rows 12 sales.csv:4",
        ], v.GetProperty("associations").EnumerateArray().Select(Association));
        Assert.All(v.GetProperty("associations").EnumerateArray(), a => Assert.Equal(S(a, "source") == "dpor", a.GetProperty("incentiveEligible").GetBoolean()));

        var timeline = Assert.Single(v.GetProperty("dporTimelines").EnumerateArray());
        Assert.Equal(TreySub, S(timeline, "subscriptionId"));
        Assert.Null(N(timeline, "dporOnLastDay"));
        Assert.Equal(["2024-11-04 set 3456789 True dpor.csv:8", "2026-08-20 remove 3456789 True dpor.csv:9"],
            timeline.GetProperty("events").EnumerateArray().Select(e => $"{S(e, "effectiveDate")} {S(e, "action")} {S(e, "partnerId")} {e.GetProperty("counts").GetBoolean()} {FeedRecord(e)}"));
        // Nov 30 + Dec 31 + Jan 31 + Feb 28 + Mar 31 + Apr 30 + May 31 + Jun 30 + Jul 31 + Aug 19 days.
        Assert.Equal(["3456789 2024-11-04..2026-08-19 292 dpor.csv:8"],
            timeline.GetProperty("periods").EnumerateArray().Select(p => $"{S(p, "partnerId")} {S(p, "from")}..{N(p, "to")} {p.GetProperty("daysInWindow").GetInt32()} {FeedRecord(p)}"));

        Assert.Equal(["1234568", "3456789", "8901234"], v.GetProperty("partners").EnumerateArray().Select(p => S(p, "partnerId")));
        Assert.Equal(
        [
            $"1234568 global 1234500 dap Exchange {TreySub} 2026-04..2026-10 rows 7 dpor False incentive 0",
            $"3456789 global 3456789 dpor Exchange {TreySub} 2025-11..2026-08 rows 10 dpor False incentive 0",
            $"8901234 global 8901234 sales Exchange {TreySub} 2025-11..2026-10 rows 12 dpor False incentive 0",
        ], v.GetProperty("partners").EnumerateArray().Select(p =>
            $"{S(p, "partnerId")} global {S(p, "globalPartnerId")} {S(p, "sources")} {S(p, "workloads")} {string.Join(',', p.GetProperty("subscriptions").EnumerateArray().Select(s => s.GetString()))} " +
            $"{S(p, "creditedFrom")}..{S(p, "creditedTo")} rows {p.GetProperty("creditedRows").GetInt64()} dpor {p.GetProperty("isDpor").GetBoolean()} incentive {p.GetProperty("incentiveAcrUsd").GetDouble()}"));
        Assert.All(v.GetProperty("partners").EnumerateArray(), p => Assert.True(p.GetProperty("credited").GetBoolean()));
    }

    [Fact]
    public async Task Trey_Research_shows_its_usage_associations_DPOR_removal_and_credited_partners_with_their_feed_lines()
    {
        var v = await JsonAsync("tenant", Trey);
        AssertTreyRecords(v);
        Assert.True(v.GetProperty("published").GetBoolean());
        Assert.False(string.IsNullOrEmpty(S(v, "runId")));
        Assert.False(v.TryGetProperty("note", out _));

        // The run's SubscriptionPartners rows (samples/feeds/README.md): Northwind no longer DPOR after the remove.
        var sub = Assert.Single(v.GetProperty("subscriptions").EnumerateArray());
        Assert.Equal("Exchange", S(sub, "usageWorkloads"));
        Assert.Equal(["1234568 dap False Exchange", "3456789 dpor False Exchange", "8901234 sales False Exchange"],
            sub.GetProperty("published").EnumerateArray().Select(p => $"{S(p, "partnerId")} {S(p, "sources")} {p.GetProperty("isDpor").GetBoolean()} {S(p, "workloads")}").Order(StringComparer.Ordinal));

        // Only the DPOR is incentive eligible; the others are recognition only.
        Assert.Contains(Partner(v, "8901234").GetProperty("reasons").EnumerateArray(), r => r.GetString()!.Contains("not incentive eligible", StringComparison.Ordinal));
        Assert.Contains(Partner(v, "3456789").GetProperty("reasons").EnumerateArray(), r => r.GetString()!.Contains("Incentive eligible as the DPOR", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Before_anything_is_published_the_view_is_computed_from_the_stored_records_and_says_so()
    {
        var (code, output, error) = fixture.Unpublished;
        Assert.True(code == 0, error);
        var v = JsonDocument.Parse(output).RootElement;
        AssertTreyRecords(v);
        Assert.False(v.GetProperty("published").GetBoolean());
        Assert.False(v.TryGetProperty("runId", out _));
        Assert.Contains("No recalculation has been published for 2026-10", S(v, "note"), StringComparison.Ordinal);
        Assert.All(v.GetProperty("subscriptions").EnumerateArray(), s => Assert.False(s.TryGetProperty("published", out _)));
    }

    [Fact]
    public async Task Alpine_shows_the_mid_month_DPOR_change_and_the_EA_that_ended_and_its_renewal()
    {
        var v = await JsonAsync("tenant", Alpine);
        // Days in the window: Fabrikam on dev Nov 30 + Dec 31 + Jan 31 + Feb 28 + Mar 31 + Apr 30 + May 14 = 195; Contoso DE
        // May 17 + Jun 30 + Jul 31 + Aug 31 + Sep 30 + Oct 31 = 170; Fabrikam on prod the whole window, 365.
        Assert.Equal(
        [
            $"{AlpineProd} 2345678: 2024-03-12 set 2345678 dpor.csv:2 | 2345678 2024-03-12..open (365)",
            $"{AlpineDev} 1234568: 2024-03-12 set 2345678 dpor.csv:3, 2026-05-15 set 1234568 dpor.csv:4 | 2345678 2024-03-12..2026-05-14 (195), 1234568 2026-05-15..open (170)",
        ], v.GetProperty("dporTimelines").EnumerateArray().Select(t =>
            $"{S(t, "subscriptionId")} {N(t, "dporOnLastDay")}: " +
            string.Join(", ", t.GetProperty("events").EnumerateArray().Select(e => $"{S(e, "effectiveDate")} {S(e, "action")} {S(e, "partnerId")} {FeedRecord(e)}")) + " | " +
            string.Join(", ", t.GetProperty("periods").EnumerateArray().Select(p => $"{S(p, "partnerId")} {S(p, "from")}..{N(p, "to") ?? "open"} ({p.GetProperty("daysInWindow").GetInt32()})")))
            .Order(StringComparer.Ordinal));

        // 12 months × 2 subscriptions of Azure usage; the EA is tenant-wide, so it covers both subscriptions.
        Assert.Equal(24, v.GetProperty("usage").GetArrayLength());
        var sales = v.GetProperty("associations").EnumerateArray().Where(a => S(a, "source") == "sales").Select(Association);
        Assert.Equal(
        [
            "sales/EA 7890123 tenant-wide - * 2023-07-01..2026-06-30 in force 2025-11..2026-06 rows 16 sales.csv:2",
            "sales/EA 1234567 tenant-wide - * 2026-07-01..2029-06-30 in force 2026-07..2026-10 rows 8 sales.csv:3",
        ], sales);

        // Fabrikam: prod all year (12 rows) and dev Nov … May (7 rows, May counts); Contoso DE: dev May … Oct.
        Assert.Equal(
        [
            "1234567 sales 2026-07..2026-10 rows 8 dpor False",
            $"1234568 dpor 2026-05..2026-10 rows 6 dpor True",
            "2345678 dpor 2025-11..2026-10 rows 19 dpor True",
            "7890123 sales 2025-11..2026-06 rows 16 dpor False",
        ], v.GetProperty("partners").EnumerateArray().Select(p =>
            $"{S(p, "partnerId")} {S(p, "sources")} {S(p, "creditedFrom")}..{S(p, "creditedTo")} rows {p.GetProperty("creditedRows").GetInt64()} dpor {p.GetProperty("isDpor").GetBoolean()}"));
        // Incentives of samples/feeds/README.md: Fabrikam's dev May prorated 14/31, Contoso DE's 17/31.
        Assert.Equal(113_843.00, Partner(v, "2345678").GetProperty("incentiveAcrUsd").GetDouble(), 2);
        Assert.Equal(6_881.15, Partner(v, "1234568").GetProperty("incentiveAcrUsd").GetDouble(), 2);
        Assert.Equal(0, Partner(v, "7890123").GetProperty("incentiveAcrUsd").GetDouble());

        // October's dev row: Fabrikam is no longer its DPOR, Litware's EA has ended.
        var octoberDev = v.GetProperty("usage").EnumerateArray().Single(u => S(u, "month") == "2026-10" && S(u, "subscriptionId") == AlpineDev);
        Assert.Equal(["1234567/sales", "1234568/dpor"], octoberDev.GetProperty("creditedPartners").EnumerateArray().Select(c => $"{S(c, "partnerId")}/{S(c, "sources")}"));
        Assert.Equal("usage-2026.csv.gz:165", FeedRecord(octoberDev));
    }

    [Fact]
    public async Task A_pal_link_shows_with_its_scope_and_feed_line_even_when_it_credits_nothing()
    {
        // pal.csv line 3: Adatum on Wide World's Azure subscription for Dynamics 365 and Power Apps only; that
        // subscription has Azure usage alone, so the link is in force from February but covers no row.
        var v = await JsonAsync("tenant", "f928a468-7d40-43da-aa39-a63ea1fb9834", "--partner", "4567890");
        var pal = Assert.Single(v.GetProperty("associations").EnumerateArray());
        Assert.Equal("pal 4567890 subscription 650be66f-a60d-4d38-9f99-7a216334579b Dynamics365;PowerPlatform 2026-02-10..open in force 2026-02..2026-10 rows 0 pal.csv:3",
            Association(pal));
        Assert.False(pal.GetProperty("incentiveEligible").GetBoolean());
        Assert.False(Assert.Single(v.GetProperty("partners").EnumerateArray()).GetProperty("credited").GetBoolean());
    }

    [Fact]
    public async Task A_partner_focus_says_why_a_partner_is_not_credited()
    {
        // Litware on Alpine: its EA ended 2026-06-30, so nothing after June.
        var v = await JsonAsync("tenant", Alpine, "--partner", "7890123");
        var litware = Assert.Single(v.GetProperty("partners").EnumerateArray());
        Assert.Equal("2026-06", S(litware, "creditedTo"));
        Assert.Contains(litware.GetProperty("reasons").EnumerateArray(), r => r.GetString()!.Contains("ended 2026-06-30: nothing after 2026-06", StringComparison.Ordinal));
        Assert.All(v.GetProperty("associations").EnumerateArray(), a => Assert.Equal("7890123", S(a, "partnerId")));

        // Fabrikam has nothing with Trey Research.
        v = await JsonAsync("tenant", Trey, "--partner", "2345678");
        var fabrikam = Assert.Single(v.GetProperty("partners").EnumerateArray());
        Assert.False(fabrikam.GetProperty("credited").GetBoolean());
        Assert.Equal(0, fabrikam.GetProperty("creditedRows").GetInt64());
        Assert.Contains("No association or DPOR designation", Assert.Single(fabrikam.GetProperty("reasons").EnumerateArray()).GetString(), StringComparison.Ordinal);
        Assert.Equal(0, v.GetProperty("associations").GetArrayLength());

        // Tailspin's FastTrack with Humongous ended 2025-10-31, before the window: in force nowhere in it.
        v = await JsonAsync("tenant", "caf3e770-6092-4a33-8995-f6c713416dfb", "--partner", "5678901");
        var fasttrack = v.GetProperty("associations").EnumerateArray().Single(a => S(a, "source") == "fasttrack");
        Assert.Null(N(fasttrack, "inForceFrom"));
        Assert.Equal(0, fasttrack.GetProperty("creditedRows").GetInt64());
        Assert.Contains("ended 2025-10-31", S(fasttrack, "status"), StringComparison.Ordinal);
        Assert.Equal("fasttrack.csv:4", FeedRecord(fasttrack));
    }

    [Fact]
    public async Task The_table_output_names_the_feed_files_and_lines()
    {
        var (code, output, error) = await CliRunner.RunAsync("tenant", Trey, "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.Contains($"Customer tenant {Trey} as of 2026-10", output, StringComparison.Ordinal);
        foreach (var expected in new[] { "dpor.csv:8", "dpor.csv:9", "sales.csv:4", "dap.jsonl:4", "usage-2025.csv:13", "usage-2026.csv.gz:175", "sales (Open)" })
            Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Alpine)]
    [InlineData(Trey)]
    public async Task The_designations_the_usage_counts_toward_follow_the_rules_workloads_and_sources(string tenant)
    {
        var view = await JsonAsync("tenant", tenant, "--as-of", "2026-10");
        // From the view's own credit listing (the window holds all the sample usage: it starts 2025-11): a row counts for D
        // and G when its workload is one of D's and a location of G is credited on it through one of D's sources.
        var globalOf = view.GetProperty("partners").EnumerateArray().ToDictionary(p => S(p, "partnerId"), p => S(p, "globalPartnerId"));
        var expected = new List<string>();
        foreach (var rule in Attribution.Domain.Rules.CreditRulesLoader.Default.Designations)
        {
            var workloads = rule.Workloads.ToString().Split(';');
            var sources = rule.Sources.Select(x => Attribution.Domain.AssociationSources.Name(x)).ToHashSet();
            var found = new SortedDictionary<long, (SortedSet<string> Locations, SortedSet<string> Sources, SortedSet<string> Months, int Rows)>();
            foreach (var u in view.GetProperty("usage").EnumerateArray().Where(u => workloads.Contains(S(u, "workload"))))
            {
                var counted = new HashSet<long>();
                foreach (var c in u.GetProperty("creditedPartners").EnumerateArray())
                {
                    var through = S(c, "sources").Split(';').Where(sources.Contains).ToList();
                    if (through.Count == 0) continue;
                    var g = long.Parse(globalOf[S(c, "partnerId")]);
                    if (!found.TryGetValue(g, out var f)) found[g] = f = ([], [], [], 0);
                    f.Locations.Add(S(c, "partnerId"));
                    f.Sources.UnionWith(through);
                    f.Months.Add(S(u, "month"));
                    if (counted.Add(g)) found[g] = f with { Rows = f.Rows + 1 };
                }
            }
            expected.AddRange(found.Select(x => $"{rule.Name} {x.Key} [{string.Join(',', x.Value.Locations)}] {string.Join(';', x.Value.Sources)} {string.Join(',', x.Value.Months)} {x.Value.Rows}"));
        }
        var actual = view.GetProperty("designations").EnumerateArray().Select(d =>
            $"{S(d, "designation")} {S(d, "globalPartnerId")} [{string.Join(',', d.GetProperty("locations").EnumerateArray().Select(l => l.GetString()))}] {S(d, "sources")} " +
            $"{string.Join(',', d.GetProperty("months").EnumerateArray().Select(m => m.GetString()))} {d.GetProperty("rows").GetInt64()}").ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, actual);
        if (tenant == Alpine)
        {
            // By hand: Infrastructure reads csp, dpor and pal, not sales: Contoso's global partner counts through Contoso DE's
            // DPOR of dev (from 2026-05-15), never through Contoso US's EA; Fabrikam through its DPOR.
            Assert.Contains("Infrastructure 1234500 [1234568] dpor 2026-05,2026-06,2026-07,2026-08,2026-09,2026-10 6", actual);
            Assert.Equal(["1234500", "2345678"], actual.Select(a => a.Split(' ')[1]));
        }
        else
        {
            // Trey's Exchange: Northwind as DPOR (to 2026-08-20); Contoso DE's DAP is not a ModernWork source, Proseware's Open is no source at all.
            Assert.Equal("ModernWork 3456789 [3456789] dpor", string.Join(' ', Assert.Single(actual).Split(' ')[..4]));
        }
        var (code, output, error) = await CliRunner.RunAsync("tenant", tenant, "--as-of", "2026-10", "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.Contains("Designations (the usage counts toward", output);
    }

    [Fact]
    public async Task A_bad_id_is_bad_usage_and_an_unknown_tenant_fails_with_one_line()
    {
        var (code, output, error) = await CliRunner.RunAsync("tenant", "not-a-guid", "--storage", Conn);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("error: Customer tenant ID", error.Trim(), StringComparison.Ordinal);

        (code, _, error) = await CliRunner.RunAsync("tenant", Trey, "--partner", "abc", "--storage", Conn);
        Assert.Equal(2, code);

        var unknown = Guid.NewGuid().ToString("D");
        (code, output, error) = await CliRunner.RunAsync("tenant", unknown, "--storage", Conn);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), l => !l.StartsWith("storage: ", StringComparison.Ordinal));
        Assert.Contains(unknown, line, StringComparison.Ordinal);
        Assert.Contains("no stored records", line, StringComparison.Ordinal);
    }
}
