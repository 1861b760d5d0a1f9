using System.Text.Json;
using System.Text.Json.Nodes;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Data.Tables;

namespace Attribution.Cli.Tests;

/// <summary>
/// The samples published for 2026-01 and 2026-10 with certification-only Infrastructure and Security designations (so
/// the sample certifications alone decide them), and for 2026-09 with no designations at all (the shape of a run
/// published before scores existed). ModernWork and BusinessApplications keep their default definitions.
/// </summary>
public sealed class DesignationFixture : IAsyncLifetime
{
    public AzuriteFixture Azurite { get; } = new();

    public async Task InitializeAsync()
    {
        await Azurite.InitializeAsync();
        var conn = Azurite.ConnectionString;
        var dir = TestPaths.NewTempDirectory();
        var certs = Path.Combine(dir, "certs.json");
        await File.WriteAllTextAsync(certs, CertificationRules());
        var none = Path.Combine(dir, "no-designations.json");
        var rules = JsonNode.Parse(CreditRulesLoader.DefaultJson)!.AsObject();
        rules["rulesVersion"] = "no-designations";
        rules["designations"] = new JsonArray();
        await File.WriteAllTextAsync(none, rules.ToJsonString());

        await Succeed("run", "--as-of", "2026-01", "--feeds", TestPaths.Samples, "--rules", certs, "--storage", conn);
        await Succeed("recalc", "--as-of", "2026-09", "--rules", none, "--storage", conn);
        await Succeed("recalc", "--as-of", "2026-10", "--rules", certs, "--storage", conn);
    }

    /// <summary>
    /// Infrastructure: 4 points per person holding AZ-104/700/800, bar 4, qualification window 2 months. Security: 8 per
    /// person holding SC-200/SC-300/AZ-500, bar 8, 6 months. One metric each, so one certified person qualifies.
    /// </summary>
    private static string CertificationRules()
    {
        var rules = JsonNode.Parse(CreditRulesLoader.DefaultJson)!.AsObject();
        rules["rulesVersion"] = "certs-only";
        foreach (var d in rules["designations"]!.AsArray())
        {
            var (certifications, points, months) = d!["name"]!.GetValue<string>() switch
            {
                "Infrastructure" => (new[] { "AZ-104", "AZ-700", "AZ-800" }, 4, 2),
                "Security" => (["SC-200", "SC-300", "AZ-500"], 8, 6),
                _ => (null, 0, 0),
            };
            if (certifications is null) continue;
            d["qualifyingPoints"] = points;
            d["qualificationMonths"] = months;
            d["tracks"] = new JsonArray(new JsonObject
            {
                ["name"] = "Standard",
                ["metrics"] = new JsonArray(new JsonObject
                {
                    ["metric"] = "intermediateCertifications",
                    ["certifications"] = new JsonArray([.. certifications.Select(c => (JsonNode)c)]),
                    ["pointsPerUnit"] = points,
                    ["maxPoints"] = 40,
                }),
            });
        }
        return rules.ToJsonString();
    }

    private static async Task Succeed(params string[] args)
    {
        var (code, _, error) = await CliRunner.RunAsync(args);
        Assert.True(code == 0, $"{string.Join(' ', args)}: {error}");
    }

    public Task DisposeAsync() => Azurite.DisposeAsync();
}

/// <summary>
/// `partners --designation` and the designations of `changes`, checked against the published PartnerCapabilityScore
/// rows (read from the table, not through the CLI's reader), and by hand against samples/feeds/certifications.
/// </summary>
public sealed class DesignationReadersTests(DesignationFixture fixture) : IClassFixture<DesignationFixture>
{
    private string Conn => fixture.Azurite.ConnectionString;

    private sealed record ScoreRow(string GlobalPartnerId, string Designation, string Track, double Score, bool Qualified, bool Eligible, double PointsToQualify, string ZeroMetrics);

    /// <summary>The published PartnerCapabilityScore rows of a month.</summary>
    private async Task<List<ScoreRow>> PublishedAsync(string asOf)
    {
        var table = fixture.Azurite.NewStorage().Tables.GetTableClient(TableNames.PartnerCapabilityScore);
        var rows = new List<ScoreRow>();
        await foreach (var e in table.QueryAsync<TableEntity>($"RowKey gt '{asOf}|' and RowKey lt '{asOf}}}'"))
            rows.Add(new ScoreRow(e.PartitionKey, e.GetString("designation"), e.GetString("track"), e.GetDouble("score")!.Value,
                e.GetBoolean("qualified")!.Value, e.GetBoolean("eligible")!.Value, e.GetDouble("pointsToQualify")!.Value, e.GetString("zeroMetrics") ?? ""));
        return rows;
    }

    private async Task<JsonDocument> JsonAsync(params string[] args)
    {
        var (code, output, error) = await CliRunner.RunAsync([.. args, "--storage", Conn]);
        Assert.True(code == 0, error);
        return JsonDocument.Parse(output);
    }

    private static List<string> Ids(JsonElement element, string property) =>
        [.. element.GetProperty(property).EnumerateArray().Select(p => p.ValueKind == JsonValueKind.String ? p.GetString()! : p.GetProperty("globalPartnerId").GetString()!)];

    [Fact]
    public async Task Partners_by_designation_list_the_published_scores_and_filter_by_status()
    {
        var published = await PublishedAsync("2026-10");
        foreach (var designation in new[] { "Infrastructure", "ModernWork", "Security", "BusinessApplications" })
        {
            var expected = published.Where(r => r.Designation == designation).OrderBy(r => long.Parse(r.GlobalPartnerId)).ToList();
            Assert.NotEmpty(expected);
            using var doc = await JsonAsync("partners", "--designation", designation.ToLowerInvariant(), "--format", "json");
            var root = doc.RootElement;
            Assert.Equal(designation, root.GetProperty("designation").GetString());
            var listed = root.GetProperty("partners").EnumerateArray().ToList();
            Assert.Equal(expected.Select(r => r.GlobalPartnerId), listed.Select(p => p.GetProperty("globalPartnerId").GetString()));
            foreach (var (row, p) in expected.Zip(listed))
            {
                Assert.Equal(row.Track, p.GetProperty("track").GetString());
                Assert.Equal(row.Score, p.GetProperty("score").GetDouble());
                Assert.Equal(row.Qualified, p.GetProperty("qualified").GetBoolean());
                Assert.Equal(row.Eligible, p.GetProperty("eligible").GetBoolean());
                Assert.Equal(row.PointsToQualify, p.GetProperty("pointsToQualify").GetDouble());
                Assert.Equal(row.ZeroMetrics, string.Join(';', p.GetProperty("zeroMetrics").EnumerateArray().Select(z => z.GetString())));
            }
            var counts = root.GetProperty("statusCounts");
            Assert.Equal(expected.Count(r => r.Qualified), counts.GetProperty("qualified").GetInt32());
            Assert.Equal(expected.Count(r => r.Eligible), counts.GetProperty("eligible").GetInt32());
            Assert.Equal(expected.Count(r => !r.Eligible), counts.GetProperty("none").GetInt32());

            foreach (var (status, keep) in new (string, Func<ScoreRow, bool>)[] { ("qualified", r => r.Qualified), ("eligible", r => r.Eligible), ("none", r => !r.Eligible) })
            {
                using var filtered = await JsonAsync("partners", "--designation", designation, "--status", status, "--json");
                Assert.Equal(expected.Where(keep).Select(r => r.GlobalPartnerId), Ids(filtered.RootElement, "partners"));
                Assert.Equal(status, filtered.RootElement.GetProperty("status").GetString());
            }
        }

        // By hand from the certifications: Contoso DE's SC-300 (global 1234500) is in force on 2026-10-31; Tailspin's
        // SC-200 ran out 2026-06-30, inside Security's six months (eligible, not qualified); Fabrikam's last AZ-104
        // expired 2026-09-08, before Infrastructure's two months (Sep, Oct) end: none. Of the designation samples,
        // Relecloud's AZ-104s (to 2027-01-14) and Tailwind's AZ-800s (to 2027-03-31) are in force; Lamna's ran out 2026-05-31.
        var security = published.Where(r => r.Designation == "Security").ToDictionary(r => r.GlobalPartnerId);
        Assert.True(security["1234500"] is { Qualified: true, Eligible: true });
        Assert.True(security["5678901"] is { Qualified: false, Eligible: true });
        Assert.Equal(["9100000", "9300000"], published.Where(r => r.Designation == "Infrastructure" && r.Eligible).Select(r => r.GlobalPartnerId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_designation_table_fits_80_columns_and_counts_every_status()
    {
        var published = (await PublishedAsync("2026-10")).Where(r => r.Designation == "Security").ToList();
        var (code, output, error) = await CliRunner.RunAsync("partners", "--designation", "Security", "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.All(output.Split('\n'), line => Assert.True(line.TrimEnd().Length <= 80, line));
        Assert.Contains("Tailspin", output); // the name, when the directory knows it
        var scored = published.Count;
        Assert.Contains($"Security as of 2026-10, {scored} scored: qualified {published.Count(r => r.Qualified)}, eligible {published.Count(r => r.Eligible)}, none {published.Count(r => !r.Eligible)}", output);
        Assert.Contains($"{scored} global partners match (designation Security, 8 points to qualify)", output);

        (code, output, error) = await CliRunner.RunAsync("partners", "--designation", "Security", "--status", "eligible", "--format", "csv", "--storage", Conn);
        Assert.True(code == 0, error);
        var lines = output.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("globalPartnerId,partnerName,designation,track,score,", lines[0], StringComparison.Ordinal);
        Assert.Equal(published.Where(r => r.Eligible).Select(r => r.GlobalPartnerId).Order(), lines.Skip(1).Select(l => l.Split(',')[0]).Order());
    }

    [Theory]
    [InlineData("Unknown designation 'Cloud' (rules certs-only: Infrastructure ModernWork Security BusinessApplications)", "--designation", "Cloud")]
    [InlineData("give one of them", "--designation", "Security", "--competency", "CloudPlatform")]
    [InlineData("--level is a competency level", "--designation", "Security", "--level", "Gold")]
    [InlineData("--sort orders competency credit", "--designation", "Security", "--sort", "acr")]
    [InlineData("give --designation D with it", "--status", "qualified")]
    [InlineData("maybe", "--designation", "Security", "--status", "maybe")]
    public async Task Bad_designation_usage_is_one_error_line_and_exit_code_2(string message, params string[] args)
    {
        var (code, output, error) = await CliRunner.RunAsync(["partners", .. args, "--storage", Conn]);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(message, error);
    }

    [Fact]
    public async Task Changes_name_the_designations_gained_and_lost_between_the_published_rows()
    {
        var before = await PublishedAsync("2026-01");
        var after = await PublishedAsync("2026-10");
        using var doc = await JsonAsync("changes", "--as-of", "2026-10", "--since", "2026-01", "--json");
        var root = doc.RootElement;
        Assert.False(root.TryGetProperty("designationsNote", out _));
        Assert.Equal(after.Select(r => r.GlobalPartnerId).Distinct().Count(), root.GetProperty("to").GetProperty("scoredPartners").GetInt32());
        var designations = root.GetProperty("designations").EnumerateArray().ToDictionary(d => d.GetProperty("designation").GetString()!);
        Assert.Equal(["Infrastructure", "ModernWork", "Security", "BusinessApplications"], designations.Keys);
        foreach (var (name, d) in designations)
        {
            bool Held(List<ScoreRow> rows, string id, Func<ScoreRow, bool> status) => rows.Any(r => r.GlobalPartnerId == id && r.Designation == name && status(r));
            var ids = before.Concat(after).Where(r => r.Designation == name).Select(r => r.GlobalPartnerId).Distinct().OrderBy(long.Parse).ToList();
            List<string> Moved(Func<ScoreRow, bool> status, bool gained) => [.. ids.Where(id => Held(after, id, status) == gained && Held(before, id, status) != gained)];
            Assert.Equal(Moved(r => r.Eligible, true), Ids(d, "eligibleGained"));
            Assert.Equal(Moved(r => r.Eligible, false), Ids(d, "eligibleLost"));
            Assert.Equal(Moved(r => r.Qualified, true), Ids(d, "qualifiedGained"));
            Assert.Equal(Moved(r => r.Qualified, false), Ids(d, "qualifiedLost"));
        }
        // By hand: Contoso DE earned SC-300 on 2026-02-11 (Security gained); Fabrikam's AZ-104 held on 2026-01-31 and
        // nobody's on 2026-09-30 or 2026-10-31 (Infrastructure lost); Tailspin stays eligible but is no longer qualified.
        Assert.Equal(["1234500"], Ids(designations["Security"], "eligibleGained"));
        Assert.Equal(["5678901"], Ids(designations["Security"], "qualifiedLost"));
        // Infrastructure (two months): Fabrikam's AZ-104 and Lamna's AZ-700s (expired 2026-05-31) are gone by 2026-10;
        // Tailwind's AZ-800s, earned 2026-04-01, arrive; Relecloud's AZ-104s (from 2026-01-15) hold both times.
        Assert.Equal(["2345678", "9200000"], Ids(designations["Infrastructure"], "eligibleLost"));
        Assert.Equal(["9300000"], Ids(designations["Infrastructure"], "eligibleGained"));

        var (code, output, error) = await CliRunner.RunAsync("changes", "--as-of", "2026-10", "--since", "2026-01", "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.Contains("Designations (global partners)", output);
        Assert.Contains("eligible gained: 1234500; lost: none", output);
        Assert.Contains("eligible gained: 9300000; lost: 2345678, 9200000", output);
    }

    [Fact]
    public async Task The_report_lists_each_status_as_published()
    {
        var published = await PublishedAsync("2026-10");
        var path = Path.Combine(TestPaths.NewTempDirectory(), "report.html");
        var (code, _, error) = await CliRunner.RunAsync("report", "--out", path, "--storage", Conn);
        Assert.True(code == 0, error);
        var html = await File.ReadAllTextAsync(path);
        foreach (var (status, keep) in new (string, Func<ScoreRow, bool>)[] { ("qualified", r => r.Qualified), ("eligible", r => r.Eligible && !r.Qualified), ("none", r => !r.Eligible) })
        {
            var ids = published.Where(r => r.Designation == "Security" && keep(r)).Select(r => r.GlobalPartnerId).OrderBy(long.Parse);
            Assert.Contains($"data-designation=\"Security\" data-status=\"{status}\" data-partners=\"{string.Join(';', ids)}\"", html);
        }
        // By hand (certifications): Contoso's SC-300 qualifies it; Tailspin's lapsed SC-200 leaves it eligible only.
        Assert.Contains("data-designation=\"Security\" data-status=\"qualified\" data-partners=\"1234500\"", html);
        Assert.Contains("data-designation=\"Security\" data-status=\"eligible\" data-partners=\"5678901\"", html);
        Assert.Contains("data-designation=\"Security\" data-qualifying-points=\"8\"", html);
    }

    [Fact]
    public async Task A_run_without_scores_counts_as_none_and_changes_say_so()
    {
        Assert.Empty(await PublishedAsync("2026-09"));
        var after = await PublishedAsync("2026-10");
        using var doc = await JsonAsync("changes", "--json"); // 2026-10 against 2026-09
        var root = doc.RootElement;
        Assert.Equal("2026-09", root.GetProperty("from").GetProperty("asOf").GetString());
        Assert.Equal(0, root.GetProperty("from").GetProperty("scoredPartners").GetInt32());
        Assert.Contains("2026-09", root.GetProperty("designationsNote").GetString());
        foreach (var d in root.GetProperty("designations").EnumerateArray())
        {
            var name = d.GetProperty("designation").GetString();
            var rows = after.Where(r => r.Designation == name).OrderBy(r => long.Parse(r.GlobalPartnerId)).ToList();
            Assert.Equal(rows.Where(r => r.Eligible).Select(r => r.GlobalPartnerId), Ids(d, "eligibleGained"));
            Assert.Equal(rows.Where(r => r.Qualified).Select(r => r.GlobalPartnerId), Ids(d, "qualifiedGained"));
            Assert.Empty(Ids(d, "eligibleLost"));
        }

        var (code, output, error) = await CliRunner.RunAsync("changes", "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.Contains("has no capability scores", output);
    }
}
