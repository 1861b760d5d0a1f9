using System.Globalization;
using System.Text;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Local.Synthetic;

namespace Attribution.Local.Tests.Synthetic;

public sealed class SyntheticFeedGeneratorTests
{
    private static SyntheticFeedSummary Generate(TempFolder dir, int tenants, int seed, IProgress<double>? progress = null) =>
        SyntheticFeedGenerator.Generate(dir.Path, new SyntheticFeedOptions(Tenants: tenants, Seed: seed), progress);

    [Fact]
    public void Same_seed_and_options_give_byte_identical_files()
    {
        using var a = new TempFolder();
        using var b = new TempFolder();
        var sa = Generate(a, 150, 42);
        var sb = Generate(b, 150, 42);

        Assert.Equal(sa.Files.Select(f => (f.Source, f.Rows, f.Bytes)), sb.Files.Select(f => (f.Source, f.Rows, f.Bytes)));
        foreach (var (fa, fb) in sa.Files.Zip(sb.Files))
            Assert.True(File.ReadAllBytes(fa.Path).AsSpan().SequenceEqual(File.ReadAllBytes(fb.Path)), $"{fa.Source} differs");
    }

    [Fact]
    public void A_different_seed_gives_different_data()
    {
        using var a = new TempFolder();
        using var b = new TempFolder();
        var sa = Generate(a, 150, 1);
        var sb = Generate(b, 150, 2);

        foreach (var source in new[] { "partners", "dpor", "usage" })
            Assert.NotEqual(File.ReadAllBytes(sa.File(source).Path), File.ReadAllBytes(sb.File(source).Path));
    }

    [Fact]
    public void Writes_one_file_per_source_with_the_contract_header()
    {
        using var dir = new TempFolder();
        var summary = Generate(dir, 200, 5);

        Assert.Equal(FeedSources.All.Select(s => s.Name()), summary.Files.Select(f => f.Source));
        foreach (var file in summary.Files)
        {
            Assert.Equal(Path.Combine(dir.Path, file.Source, file.Source + ".csv"), file.Path);
            Assert.True(FeedSources.TryInferFromPath(file.Path, out var inferred));
            Assert.Equal(file.Source, inferred.Name());
            var firstLine = File.ReadLines(file.Path).First();
            Assert.Equal(string.Join(',', FeedRowRules.Columns[file.Source]), firstLine);
            Assert.True(file.Rows > 0, $"{file.Source} has no rows");
            Assert.Equal(new FileInfo(file.Path).Length, file.Bytes);
            Assert.Equal(file.Rows, FeedTestFiles.Read(file.Path).Rows.Count);
        }
        Assert.Equal(200, summary.Tenants);
        Assert.Equal(summary.LocationPartners, summary.File("partners").Rows);
        Assert.InRange(summary.GlobalPartners, 1, summary.LocationPartners - 1);
    }

    [Fact]
    public void Row_counts_scale_with_tenants()
    {
        using var small = new TempFolder();
        using var large = new TempFolder();
        var s = Generate(small, 100, 3);
        var l = Generate(large, 400, 3);

        Assert.Equal(25, s.File("partners").Rows);
        Assert.Equal(100, l.File("partners").Rows);
        foreach (var source in new[] { "usage", "dpor" })
        {
            var ratio = (double)l.File(source).Rows / s.File(source).Rows;
            Assert.InRange(ratio, 3.0, 5.3);
        }
        Assert.InRange(l.Subscriptions, 400, 1600); // 1–4 each
        // 1–4 workloads for each of 24 months (fewer for subscriptions created in the months or whose customer left).
        Assert.InRange(l.File("usage").Rows, l.Subscriptions * 6, l.Subscriptions * 96);
    }

    [Fact]
    public void Every_generated_row_is_valid_and_consistent()
    {
        using var dir = new TempFolder();
        var summary = Generate(dir, 400, 11);
        var tables = summary.Files.ToDictionary(f => f.Source, f => FeedTestFiles.Read(f.Path));

        foreach (var (source, table) in tables)
        {
            var problems = FeedRowRules.Check(source, table);
            Assert.True(problems.Count == 0, $"{source}: {string.Join("; ", problems.Take(10))}");
        }

        // Partner IDs are unique, and every association names a partner of the directory.
        var partners = tables["partners"].Rows.Select(r => r["partnerId"]).ToList();
        Assert.Equal(partners.Count, partners.Distinct().Count());
        var known = partners.ToHashSet();
        foreach (var source in new[] { "dpor", "sales", "csp", "fasttrack", "dap", "pal", "certifications" })
            foreach (var row in tables[source].Rows)
            {
                Assert.Contains(row["partnerId"], known);
                if (source == "csp" && row["resellerPartnerId"].Length > 0)
                {
                    Assert.Contains(row["resellerPartnerId"], known);
                    Assert.NotEqual(row["partnerId"], row["resellerPartnerId"]);
                }
            }

        // Some global partners have several locations; a global ID is never also a location ID.
        var globals = tables["partners"].Rows.Where(r => r["globalPartnerId"].Length > 0 && r["globalPartnerId"] != r["partnerId"])
            .GroupBy(r => r["globalPartnerId"]).ToList();
        Assert.Contains(globals, g => g.Count() >= 2);
        Assert.DoesNotContain(globals, g => known.Contains(g.Key));

        // Usage: one row per natural key; a subscription belongs to one tenant; months are the 24 ending 2026-10.
        var usage = tables["usage"].Rows;
        Assert.Equal(usage.Count, usage.Select(r => (r["subscriptionId"], r["workload"], r["month"])).Distinct().Count());
        var tenantOf = usage.GroupBy(r => r["subscriptionId"]).ToDictionary(g => g.Key, g => Assert.Single(g.Select(r => r["customerTenantId"]).Distinct()));
        var months = usage.Select(r => r["month"]).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(Enumerable.Range(0, 24).Select(i => new YearMonth(2024, 11).AddMonths(i).ToString()), months);
        Assert.Contains(usage, r => r["consumedRevenueUsd"].Length > 0 && r["activeUsers"].Length > 0);
        Assert.Contains(usage, r => r["consumedRevenueUsd"].Length > 0 && r["activeUsers"].Length == 0);
        Assert.Contains(usage, r => r["consumedRevenueUsd"].Length == 0 && r["activeUsers"].Length > 0);

        // DPOR events refer to real subscriptions of the right tenant; each shape occurs.
        var dpor = tables["dpor"].Rows;
        foreach (var e in dpor) Assert.Equal(tenantOf[e["subscriptionId"]], e["customerTenantId"]);
        var perSub = dpor.GroupBy(e => e["subscriptionId"]).ToList();
        Assert.Contains(perSub, g => g.Count(e => e["action"] != "remove") >= 2); // mid-window change
        Assert.Contains(dpor, e => e["action"] == "remove");
        Assert.True(perSub.Count(g => g.Count() == 1) > perSub.Count / 2, "most subscriptions have one DPOR set");
        foreach (var g in perSub)
        {
            var dates = g.Select(e => e["effectiveDate"]).ToList();
            Assert.Equal(dates.Order(StringComparer.Ordinal), dates);
            Assert.Equal(dates.Count, dates.Distinct().Count());
        }

        // Association feeds: every shape the brief calls for shows up.
        var sales = tables["sales"].Rows;
        Assert.Contains(sales, r => r["program"] == "EA" && r["subscriptionId"].Length == 0);
        Assert.Contains(sales, r => r["program"] == "EA" && r["subscriptionId"].Length > 0);
        Assert.Contains(sales, r => r["program"] == "Open" && r["subscriptionId"].Length > 0);
        var csp = tables["csp"].Rows;
        Assert.Contains(csp, r => r["resellerPartnerId"].Length > 0);
        Assert.Contains(csp, r => r["resellerPartnerId"].Length == 0);
        Assert.Contains(csp, r => r["workloads"].Length > 0);
        foreach (var r in csp) Assert.Equal(tenantOf[r["subscriptionId"]], r["customerTenantId"]);
        Assert.Contains(tables["fasttrack"].Rows, r => r["workloads"].Contains('|', StringComparison.Ordinal));
        Assert.Contains(tables["fasttrack"].Rows, r => r["workloads"].Contains(' ', StringComparison.Ordinal)); // product names
        Assert.Contains(tables["dap"].Rows, r => r["revokedOn"].Length > 0);
        Assert.Contains(tables["dap"].Rows, r => r["revokedOn"].Length == 0);
        var pal = tables["pal"].Rows;
        Assert.Contains(pal, r => r["subscriptionId"].Length == 0 && r["workloads"].Length == 0);
        Assert.Contains(pal, r => r["subscriptionId"].Length > 0);
        Assert.Contains(pal, r => r["workloads"].Length > 0);
        Assert.Contains(pal, r => r["unlinkedOn"].Length > 0);
        foreach (var r in pal.Where(r => r["subscriptionId"].Length > 0)) Assert.Equal(tenantOf[r["subscriptionId"]], r["customerTenantId"]);
        var certifications = tables["certifications"].Rows;
        Assert.Contains(certifications, r => r["expiresOn"].Length == 0);
        Assert.Contains(certifications, r => r["expiresOn"].Length > 0);
        Assert.Contains(certifications, r => r["certification"].Any(char.IsAsciiLetterLower));
        // A renewal: the same person and code earned again.
        Assert.Contains(certifications.GroupBy(r => (r["partnerId"], r["personId"], r["certification"].ToUpperInvariant())), g => g.Count() >= 2);

        // Start and event dates are never after the last day of the last month.
        foreach (var (source, col) in new[] { ("dpor", "effectiveDate"), ("sales", "validFrom"), ("csp", "validFrom"), ("fasttrack", "engagementStart"), ("dap", "grantedOn"),
                     ("pal", "linkedOn"), ("certifications", "earnedOn") })
            Assert.All(tables[source].Rows, r => Assert.True(string.CompareOrdinal(r[col], "2026-10-31") <= 0, $"{source}.{col} {r[col]}"));
    }

    [Fact]
    public void Usage_has_tenants_that_start_stop_grow_and_shrink()
    {
        using var dir = new TempFolder();
        var summary = Generate(dir, 400, 11);
        var usage = FeedTestFiles.Read(summary.File("usage").Path).Rows;
        const string first = "2024-11", last = "2026-10";
        var byTenant = usage.GroupBy(r => r["customerTenantId"]).Select(g => g.Select(r => r["month"]).Distinct().Order(StringComparer.Ordinal).ToList()).ToList();
        Assert.Contains(byTenant, m => m[0] == first && m[^1] != last);                                  // stopped
        Assert.Contains(byTenant, m => string.CompareOrdinal(m[0], "2025-11") >= 0 && m[^1] == last);   // started in the second year

        // Per subscription and workload, active users in the last month against the first (both present, both > 0).
        var ratios = usage.Where(r => r["activeUsers"].Length > 0)
            .GroupBy(r => (r["subscriptionId"], r["workload"]))
            .Select(g => (First: g.FirstOrDefault(r => r["month"] == first), Last: g.FirstOrDefault(r => r["month"] == last)))
            .Where(p => p.First is not null && p.Last is not null && long.Parse(p.First["activeUsers"], CultureInfo.InvariantCulture) > 0)
            .Select(p => double.Parse(p.Last!["activeUsers"], CultureInfo.InvariantCulture) / double.Parse(p.First!["activeUsers"], CultureInfo.InvariantCulture))
            .ToList();
        Assert.Contains(ratios, r => r >= 1.8);  // grew
        Assert.Contains(ratios, r => r <= 0.6);  // shrank
    }

    [Fact]
    public void Options_move_the_window()
    {
        using var dir = new TempFolder();
        var summary = SyntheticFeedGenerator.Generate(dir.Path, new SyntheticFeedOptions(Tenants: 20, Seed: 4, LastMonth: new YearMonth(2025, 3), Months: 3));
        var months = FeedTestFiles.Read(summary.File("usage").Path).Rows.Select(r => r["month"]).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(["2025-01", "2025-02", "2025-03"], months);
    }

    [Fact]
    public void Progress_rises_to_one()
    {
        using var dir = new TempFolder();
        var reports = new List<double>();
        Generate(dir, 300, 8, new SyncProgress(reports.Add));

        Assert.True(reports.Count >= 10);
        Assert.Equal(reports.Order(), reports);
        Assert.Equal(1.0, reports[^1]);
    }

    [Fact]
    public void Invalid_options_are_refused()
    {
        using var dir = new TempFolder();
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticFeedGenerator.Generate(dir.Path, new SyntheticFeedOptions(Tenants: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticFeedGenerator.Generate(dir.Path, new SyntheticFeedOptions(Months: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticFeedGenerator.WriteUsageCsv(Stream.Null, -1, 1));
    }

    [Fact]
    public void WriteUsageCsv_streams_until_the_target_size()
    {
        const long target = 24L << 20;
        var sink = new CountingStream();
        var written = SyntheticFeedGenerator.WriteUsageCsv(sink, target, seed: 1);

        Assert.Equal(sink.BytesWritten, written);
        Assert.InRange(written, target, target + 1024); // stops within one row of the target
        Assert.True(sink.LargestWrite <= 256 * 1024, $"largest single write {sink.LargestWrite} bytes: output is buffered, not streamed");
        Assert.True(sink.Writes >= 50);
    }

    [Fact]
    public void WriteUsageCsv_is_deterministic_and_matches_the_generated_usage_file()
    {
        var first = UsageText(200_000, seed: 9);
        Assert.Equal(first, UsageText(200_000, seed: 9));
        Assert.NotEqual(first, UsageText(200_000, seed: 10));

        using var dir = new TempFolder();
        var summary = Generate(dir, 200, 9);
        var generated = File.ReadAllText(summary.File("usage").Path);
        Assert.True(generated.Length > first.Length);
        Assert.StartsWith(first, generated, StringComparison.Ordinal);

        var table = FeedTestFiles.ReadCsv(new MemoryStream(Encoding.UTF8.GetBytes(first)));
        Assert.Empty(FeedRowRules.Check("usage", table));
    }

    [Fact]
    public void WriteUsageCsv_adds_an_ignored_column_of_the_requested_width()
    {
        var text = UsageText(100_000, seed: 3, extraColumnBytes: 300);
        var table = FeedTestFiles.ReadCsv(new MemoryStream(Encoding.UTF8.GetBytes(text)));

        Assert.Equal([.. FeedRowRules.Columns["usage"], "notes"], table.Header);
        Assert.All(table.Rows, r => Assert.Equal(300, r["notes"].Length));
        Assert.Empty(FeedRowRules.Check("usage", table));
        Assert.InRange(table.Rows.Count, 100_000 / 450, 100_000 / 300);
    }

    private static string UsageText(long target, int seed, int extraColumnBytes = 0)
    {
        using var buffer = new MemoryStream();
        var written = SyntheticFeedGenerator.WriteUsageCsv(buffer, target, seed, extraColumnBytes);
        Assert.Equal(buffer.Length, written);
        Assert.True(written >= target);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private sealed class SyncProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
