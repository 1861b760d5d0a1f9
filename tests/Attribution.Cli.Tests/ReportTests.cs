using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Attribution.Pipeline.Reading;
using Attribution.Testing;
using SkiaSharp;

namespace Attribution.Cli.Tests;

/// <summary>The samples published for four months (2026-07 … 2026-10), and the report of the latest and of 2026-08.</summary>
public sealed class ReportFixture : IAsyncLifetime
{
    public AzuriteFixture Azurite { get; } = new();
    public (int ExitCode, string Out, string Error) BeforeAnyPublish { get; private set; }
    public (int ExitCode, string Out, string Error) Latest { get; private set; }
    public string LatestPath { get; } = Path.Combine(TestPaths.NewTempDirectory(), "report.html");
    public string AugustPath { get; } = Path.Combine(TestPaths.NewTempDirectory(), "report-2026-08.html");
    public static readonly string[] Months = ["2026-07", "2026-08", "2026-09", "2026-10"];

    public async Task InitializeAsync()
    {
        await Azurite.InitializeAsync();
        var conn = Azurite.ConnectionString;
        BeforeAnyPublish = await CliRunner.RunAsync("report", "--out", Path.Combine(TestPaths.NewTempDirectory(), "x.html"), "--storage", conn);
        var run = await CliRunner.RunAsync("run", "--feeds", TestPaths.Samples, "--storage", conn);
        Assert.True(run.ExitCode == 0, run.Error);
        foreach (var m in Months[..^1])
        {
            var recalc = await CliRunner.RunAsync("recalc", "--as-of", m, "--storage", conn);
            Assert.True(recalc.ExitCode == 0, recalc.Error);
        }
        Latest = await CliRunner.RunAsync("report", "--out", LatestPath, "--storage", conn);
        var august = await CliRunner.RunAsync("report", "--as-of", "2026-08", "--out", AugustPath, "--storage", conn);
        Assert.True(august.ExitCode == 0, august.Error);
    }

    public Task DisposeAsync() => Azurite.DisposeAsync();
}

public sealed partial class ReportTests(ReportFixture fixture) : IClassFixture<ReportFixture>
{
    private string Conn => fixture.Azurite.ConnectionString;

    [Fact]
    public async Task The_level_counts_are_the_published_levels_of_every_partner()
    {
        Assert.True(fixture.Latest.ExitCode == 0, fixture.Latest.Error);
        Assert.Contains("2026-10", fixture.Latest.Out);
        var html = await File.ReadAllTextAsync(fixture.LatestPath);
        var expected = new Dictionary<(string, string), int>();
        foreach (var id in await PartnerIdsAsync("2026-10"))
            foreach (var c in (await PartnerJsonAsync(id, "2026-10")).Competencies)
                expected[(c.Competency, c.Level)] = expected.GetValueOrDefault((c.Competency, c.Level)) + 1;

        var cells = Elements(Section(html, "levels")).Where(e => e.ContainsKey("data-count")).ToList();
        Assert.NotEmpty(cells);
        foreach (var cell in cells)
            Assert.Equal(expected.GetValueOrDefault((cell["data-competency"], cell["data-level"])), int.Parse(cell["data-count"], CultureInfo.InvariantCulture));
        foreach (var ((competency, level), count) in expected)
            Assert.Contains(cells, c => c["data-competency"] == competency && c["data-level"] == level && c["data-count"] == count.ToString(CultureInfo.InvariantCulture));
        // By hand from the samples (README): CloudPlatform Gold are Fabrikam, Relecloud US (158,400) and Tailwind (132,000);
        // Silver are Litware, Contoso US, Lamna (78,000) and Relecloud IE (30,000).
        Assert.Contains(cells, c => c["data-competency"] == "CloudPlatform" && c["data-level"] == "Gold" && c["data-count"] == "3");
        Assert.Contains(cells, c => c["data-competency"] == "CloudPlatform" && c["data-level"] == "Silver" && c["data-count"] == "4");
    }

    [Fact]
    public async Task The_heat_map_shows_each_partners_published_level_and_progress_most_ACR_first()
    {
        var html = await File.ReadAllTextAsync(fixture.LatestPath);
        var ids = await PartnerIdsAsync("2026-10");
        var credit = new Dictionary<string, PartnerJson>();
        foreach (var id in ids) credit[id] = await PartnerJsonAsync(id, "2026-10");
        var ranked = ids.OrderByDescending(id => credit[id].Competencies.Sum(c => c.AcrUsdTtm)).ThenBy(long.Parse).ToList();

        var section = Section(html, "heatmap");
        var rows = Elements(section).Where(e => e.Tag == "tr" && e.ContainsKey("data-partner")).Select(e => e["data-partner"]).ToList();
        Assert.Equal(ranked, rows); // 13 partners: all fit under the top-40 cut
        // By hand: Relecloud US's 158,400 and Tailwind's 132,000 (designation samples), then Woodgrove's Azure + Dynamics,
        // then Fabrikam's 114,473.65.
        Assert.Equal(["9100001", "9300000"], rows.Take(2));
        Assert.Equal("2345678", rows[3]);
        var cells = Elements(section).Where(e => e.Tag == "td" && e.ContainsKey("data-progress")).ToList();
        Assert.Equal(ids.Count * 4, cells.Count);
        foreach (var row in RowsOf(section))
        {
            var published = credit[row.Partner];
            foreach (var cell in row.Cells)
            {
                var c = published.Competencies.Single(x => x.Competency == cell["data-competency"]);
                Assert.Equal(c.Level, cell["data-level"]);
                Assert.Equal(c.Progress, double.Parse(cell["data-progress"], CultureInfo.InvariantCulture), 12);
            }
        }
    }

    [Fact]
    public async Task The_monthly_figures_are_each_months_published_credit()
    {
        var html = await File.ReadAllTextAsync(fixture.LatestPath);
        var section = Section(html, "monthly");
        Assert.Contains("<svg", section, StringComparison.Ordinal);
        var rows = RowsOf(section).ToList();
        Assert.NotEmpty(rows);
        foreach (var row in rows)
        {
            Assert.Equal(ReportFixture.Months, row.Cells.Select(c => c["data-month"]));
            foreach (var cell in row.Cells)
            {
                var published = await PartnerJsonAsync(row.Partner, cell["data-month"]);
                Assert.Equal(published.Competencies.Sum(c => c.AcrUsdTtm), double.Parse(cell["data-acr"], CultureInfo.InvariantCulture), 6);
                Assert.Equal(published.Competencies.Sum(c => c.PeakMonthlyActiveUsers), double.Parse(cell["data-mau"], CultureInfo.InvariantCulture), 6);
            }
        }
        // Contoso US's EA renewal starts 2026-07: its ACR grows every month.
        var contoso = rows.Single(r => r.Partner == "1234567").Cells.Select(c => double.Parse(c["data-acr"], CultureInfo.InvariantCulture)).ToList();
        Assert.True(contoso.Zip(contoso.Skip(1)).All(p => p.First < p.Second), string.Join(", ", contoso));
    }

    [Fact]
    public async Task The_non_DPOR_share_counts_the_rows_no_DPOR_credited()
    {
        var html = await File.ReadAllTextAsync(fixture.LatestPath);
        var section = Section(html, "origin");
        var buckets = Elements(section).Where(e => e.ContainsKey("data-origin")).ToDictionary(e => e["data-origin"], e => double.Parse(e["data-acr"], CultureInfo.InvariantCulture));
        var rows = new List<CompetencyJson>();
        foreach (var id in await PartnerIdsAsync("2026-10")) rows.AddRange((await PartnerJsonAsync(id, "2026-10")).Competencies);
        var credited = rows.Where(r => r.Sources.Length > 0).ToList();
        Assert.Equal(credited.Sum(r => r.AcrUsdTtm), buckets.Values.Sum(), 6);
        Assert.Equal(credited.Where(r => r.Sources == "dpor").Sum(r => r.AcrUsdTtm), buckets["dpor-only"], 6);
        // Litware (EA only) is credited with no DPOR at all: its 77,747.70 is in the non-DPOR bucket, and its Silver
        // with Adatum's Security Silver (CSP provider only) among the levels held on such rows.
        Assert.True(buckets["non-dpor-only"] >= 77_747.70 - 0.01, buckets["non-dpor-only"].ToString(CultureInfo.InvariantCulture));
        var headline = Elements(section).Single(e => e.ContainsKey("data-non-dpor-only-share"));
        Assert.True(int.Parse(headline["data-levels-non-dpor-only"], CultureInfo.InvariantCulture) >= 2);
        Assert.Equal(rows.Count(r => r.Level != "None" && r.Sources.Length > 0), int.Parse(headline["data-levels-held"], CultureInfo.InvariantCulture));
        Assert.Equal(buckets["non-dpor-only"] / buckets.Values.Sum(), double.Parse(headline["data-non-dpor-only-share"], CultureInfo.InvariantCulture), 9);
    }

    [Fact]
    public async Task The_changes_are_the_level_differences_from_the_previous_published_month()
    {
        var html = await File.ReadAllTextAsync(fixture.AugustPath);
        Assert.Equal(["2026-07", "2026-08"], RowsOf(Section(html, "monthly")).First().Cells.Select(c => c["data-month"]));
        var section = Section(html, "changes");
        var summary = Elements(section).Single(e => e.ContainsKey("data-previous"));
        Assert.Equal("2026-07", summary["data-previous"]);
        var changes = Elements(section).Where(e => e.Tag == "tr" && e.ContainsKey("data-from")).Select(e => (e["data-partner"], e["data-competency"], e["data-from"], e["data-to"])).ToHashSet();

        var expected = new HashSet<(string, string, string, string)>();
        var ids = (await PartnerIdsAsync("2026-08")).Union(await PartnerIdsAsync("2026-07"));
        foreach (var id in ids)
        {
            var now = await PartnerJsonOrNullAsync(id, "2026-08");
            var before = await PartnerJsonOrNullAsync(id, "2026-07");
            foreach (var competency in (now?.Competencies ?? []).Concat(before?.Competencies ?? []).Select(c => c.Competency).Distinct())
            {
                var to = now?.Competencies.SingleOrDefault(c => c.Competency == competency)?.Level ?? "None";
                var from = before?.Competencies.SingleOrDefault(c => c.Competency == competency)?.Level ?? "None";
                if (to != from) expected.Add((id, competency, from, to));
            }
        }
        Assert.Equal(expected, changes);
        // By hand: Contoso US's EA renewal from 2026-07 gives ≈ 10.5k ACR in July (< 15,000) and ≈ 21k by August: Silver.
        Assert.Contains(("1234567", "CloudPlatform", "None", "Silver"), changes);
        string[] ladder = ["None", "Silver", "Gold"]; // the default rules' levels, lowest first
        Assert.Equal(changes.Count(c => Array.IndexOf(ladder, c.Item4) > Array.IndexOf(ladder, c.Item3)), int.Parse(summary["data-gained"], CultureInfo.InvariantCulture));
        Assert.Equal(changes.Count(c => Array.IndexOf(ladder, c.Item4) < Array.IndexOf(ladder, c.Item3)), int.Parse(summary["data-lost"], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task The_designations_count_and_bucket_the_published_capability_scores()
    {
        var html = await File.ReadAllTextAsync(fixture.LatestPath);
        var section = Section(html, "designations");
        // The published rows of 2026-10, read from the table.
        var table = fixture.Azurite.NewStorage().Tables.GetTableClient(Attribution.Pipeline.Storage.TableNames.PartnerCapabilityScore);
        var rows = new List<(string Partner, string Designation, double Score, bool Qualified, bool Eligible)>();
        await foreach (var e in table.QueryAsync<Azure.Data.Tables.TableEntity>("RowKey gt '2026-10|' and RowKey lt '2026-10}'"))
            rows.Add((e.PartitionKey, e.GetString("designation"), e.GetDouble("score")!.Value, e.GetBoolean("qualified")!.Value, e.GetBoolean("eligible")!.Value));
        Assert.NotEmpty(rows);
        var designations = rows.Select(r => r.Designation).Distinct().ToList();
        Assert.Equal(4, designations.Count);
        static string StatusOf((string, string, double, bool Qualified, bool Eligible) r) => r.Qualified ? "qualified" : r.Eligible ? "eligible" : "none";

        var elements = Elements(section).ToList();
        foreach (var d in designations)
        {
            var of = rows.Where(r => r.Designation == d).OrderBy(r => long.Parse(r.Partner, CultureInfo.InvariantCulture)).ToList();
            foreach (var status in new[] { "qualified", "eligible", "none" })
            {
                var expected = of.Where(r => StatusOf(r) == status).ToList();
                var count = elements.Single(e => e.Tag == "td" && e.GetValueOrDefault("data-designation") == d && e.GetValueOrDefault("data-status") == status);
                Assert.Equal(expected.Count.ToString(CultureInfo.InvariantCulture), count["data-count"]);
                var listed = elements.Single(e => e.Tag == "tr" && e.GetValueOrDefault("data-designation") == d && e.GetValueOrDefault("data-status") == status);
                Assert.Equal(string.Join(';', expected.Select(r => r.Partner)), listed["data-partners"]);
            }
            var histogram = new int[10];
            foreach (var r in of) histogram[Math.Min(9, (int)(r.Score / 10))]++;
            var figure = elements.Single(e => e.Tag == "figure" && e.GetValueOrDefault("data-designation") == d);
            Assert.Equal(string.Join(';', histogram), figure["data-histogram"]);
            Assert.Equal("70", figure["data-qualifying-points"]); // §7.5: every default designation qualifies at 70
        }
        // By hand (samples/feeds/README.md, Designations): Relecloud qualifies for Infrastructure, Lamna is eligible only
        // through 2026-05; every other sample score is under 20 (Woodgrove's BusinessApplications 18 the highest) but
        // Tailwind's 80 (a metric at 0).
        Assert.Equal([("9100000", "Infrastructure", "qualified"), ("9200000", "Infrastructure", "eligible")],
            rows.Where(r => r.Eligible).Select(r => (r.Partner, r.Designation, StatusOf(r))).OrderBy(r => r.Partner));
        Assert.All(rows.Where(r => r.Partner is not ("9100000" or "9200000" or "9300000")), r => Assert.True(r.Score < 20, $"{r.Partner} {r.Designation} {r.Score}"));
    }

    [Fact]
    public async Task The_page_is_self_contained()
    {
        var html = await File.ReadAllTextAsync(fixture.LatestPath);
        Assert.DoesNotMatch(new Regex("https?://", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex(@"<(script|link|img|iframe|object)\b|\bsrc=|@import|url\((?!#)", RegexOptions.IgnoreCase), html);
        // References inside the SVGs stay inside the page, and each names an element that is there exactly once.
        foreach (Match m in Regex.Matches(html, @"url\(#([^)]+)\)"))
            Assert.Equal(1, Regex.Count(html, $"id=\"{Regex.Escape(m.Groups[1].Value)}\""));
        // Every chart is inline SVG drawn by the plotting library: one per level, origin, the two monthly charts, and a
        // score histogram per designation of the rules.
        Assert.Equal(4 + Attribution.Domain.Rules.CreditRulesLoader.Default.Designations.Count, Regex.Count(html, "<svg"));
    }

    [Fact]
    public async Task Headless_Chromium_renders_a_page_that_is_not_blank()
    {
        var chromium = new[] { "chromium", "chromium-browser" }
            .Select(n => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, n)).FirstOrDefault(File.Exists))
            .FirstOrDefault(p => p is not null);
        Assert.True(chromium is not null, "chromium is not installed: the render test needs Debian's chromium package (apt-get install -y chromium; .ci/run installs it).");
        var png = Path.Combine(TestPaths.NewTempDirectory(), "report.png");
        var psi = new ProcessStartInfo(chromium!) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", $"--screenshot={png}", "--window-size=1280,2000", new Uri(fixture.LatestPath).AbsoluteUri })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        using (var bound = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
        {
            try
            {
                await process.WaitForExitAsync(bound.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
        }
        Assert.True(process.ExitCode == 0 && File.Exists(png), $"chromium exited {process.ExitCode}: {await stderr}");

        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        Assert.Equal(1280, bitmap.Width);
        var colours = new HashSet<uint>();
        long ink = 0;
        for (var y = 0; y < bitmap.Height; y += 2)
            for (var x = 0; x < bitmap.Width; x += 2)
            {
                var p = bitmap.GetPixel(x, y);
                colours.Add((uint)p);
                if (p.Red < 235 || p.Green < 235 || p.Blue < 235) ink++;
            }
        var share = (double)ink / (bitmap.Width / 2 * (bitmap.Height / 2));
        Assert.True(colours.Count > 100, $"{colours.Count} distinct colours");
        Assert.True(share > 0.03, $"{share:P1} of the pixels are not white");
    }

    [Fact]
    public async Task Bad_input_fails_with_one_line()
    {
        Assert.Equal(1, fixture.BeforeAnyPublish.ExitCode);
        Assert.Contains("error: Nothing has been published yet", fixture.BeforeAnyPublish.Error);
        var (code, _, error) = await CliRunner.RunAsync("report", "--as-of", "2026-13", "--out", Path.Combine(TestPaths.NewTempDirectory(), "r.html"), "--storage", Conn);
        Assert.Equal(2, code);
        Assert.Contains("error: --as-of", error);
        (code, _, error) = await CliRunner.RunAsync("report", "--out", TestPaths.NewTempDirectory(), "--storage", Conn);
        Assert.Equal(2, code);
        Assert.Contains("is a folder", error);
        (code, _, error) = await CliRunner.RunAsync("report", "--as-of", "2025-01", "--out", Path.Combine(TestPaths.NewTempDirectory(), "r.html"), "--storage", Conn);
        Assert.Equal(1, code);
        Assert.Contains("error: No published recalculation for 2025-01", error);
    }

    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    private sealed record CompetencyJson(string Competency, double AcrUsdTtm, double PeakMonthlyActiveUsers, string Level, double Progress, string Sources);

    private sealed record PartnerJson(string PartnerId, string AsOf, List<CompetencyJson> Competencies);

    private async Task<PartnerJson> PartnerJsonAsync(string id, string month) =>
        await PartnerJsonOrNullAsync(id, month) ?? throw new InvalidOperationException($"partner {id} has no credit in {month}");

    /// <summary>What a user reads with `attribution partner ID --as-of M --json` (null: not credited that month).</summary>
    private async Task<PartnerJson?> PartnerJsonOrNullAsync(string id, string month)
    {
        var (code, output, error) = await CliRunner.RunAsync("partner", id, "--as-of", month, "--json", "--storage", Conn);
        if (code == 1 && error.Contains("has no credit", StringComparison.Ordinal)) return null;
        Assert.True(code == 0, error);
        return JsonSerializer.Deserialize<PartnerJson>(output, WebJson)!;
    }

    /// <summary>The partners credited in the month's published run.</summary>
    private async Task<List<string>> PartnerIdsAsync(string month)
    {
        var reader = fixture.Azurite.NewStorage().Get<CreditReader>();
        var run = await reader.ResolveRunAsync(Attribution.Domain.YearMonth.Parse(month));
        Assert.NotNull(run);
        return (await reader.AllPartnersAsync(run)).Select(p => p.PartnerId).ToList();
    }

    private static string Section(string html, string id)
    {
        var start = html.IndexOf($"<section id=\"{id}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section {id}");
        return html[start..html.IndexOf("</section>", start, StringComparison.Ordinal)];
    }

    private sealed class Element(string tag) : Dictionary<string, string>(StringComparer.Ordinal)
    {
        public string Tag { get; } = tag;
    }

    private static IEnumerable<Element> Elements(string html)
    {
        foreach (Match m in TagPattern().Matches(html))
        {
            var e = new Element(m.Groups[1].Value);
            foreach (Match a in AttributePattern().Matches(m.Groups[2].Value)) e[a.Groups[1].Value] = WebUtility.HtmlDecode(a.Groups[2].Value);
            yield return e;
        }
    }

    /// <summary>Each table row with data-partner, with its cells that carry figures (data- attributes beyond the class).</summary>
    private static IEnumerable<(string Partner, List<Element> Cells)> RowsOf(string section)
    {
        foreach (Match row in RowPattern().Matches(section))
        {
            var cells = Elements(row.Groups[2].Value).Where(e => e.Tag == "td" && e.Keys.Any(k => k.StartsWith("data-", StringComparison.Ordinal))).ToList();
            yield return (row.Groups[1].Value, cells);
        }
    }

    [GeneratedRegex(@"<(\w+)((?:\s+[\w-]+=""[^""]*"")*)\s*>")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"([\w-]+)=""([^""]*)""")]
    private static partial Regex AttributePattern();

    [GeneratedRegex(@"<tr[^>]*\bdata-partner=""(\d+)""[^>]*>(.*?)</tr>", RegexOptions.Singleline)]
    private static partial Regex RowPattern();
}
