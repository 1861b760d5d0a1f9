using System.Globalization;
using System.Text;
using System.Text.Json;
using Attribution.Domain.Rules;
using Attribution.Testing;

namespace Attribution.Cli.Tests;

/// <summary>`attribution run` on the shipped samples, as a table at 80 columns and as JSON with a filter.</summary>
public sealed class OutputFormatFixture : IAsyncLifetime
{
    public AzuriteFixture Azurite { get; } = new();
    public (int ExitCode, string Out, string Error) Table { get; private set; }
    public (int ExitCode, string Out, string Error) Json { get; private set; }

    public async Task InitializeAsync()
    {
        await Azurite.InitializeAsync();
        Table = await CliRunner.RunAsync("run", "--feeds", TestPaths.Samples, "--width", "80", "--storage", Azurite.ConnectionString);
        Json = await CliRunner.RunAsync("run", "--feeds", TestPaths.Samples, "--format", "json", "--competency", "cloudplatform", "--sort", "acr", "--top", "2", "--storage", Azurite.ConnectionString);
    }

    public Task DisposeAsync() => Azurite.DisposeAsync();
}

/// <summary>
/// Output that fits (tables within the width, no word or id split) and the same listing as JSON and CSV. Expected
/// listings are computed here from the unfiltered JSON and the shipped rules, never taken from the code under test.
/// </summary>
public sealed class OutputFormatTests(OutputFormatFixture fixture) : IClassFixture<OutputFormatFixture>
{
    private string Conn => fixture.Azurite.ConnectionString;

    private static readonly string[] ListingCsvHeader =
    [
        "partnerId", "partnerName", "globalPartnerId", "locations", "competency", "level", "nextLevel", "progress",
        "acrUsdTtm", "peakMonthlyActiveUsers", "customers", "incentiveEligibleAcrUsdTtm", "sources",
    ];

    private async Task<string> OkAsync(params string[] args)
    {
        var (code, output, error) = await CliRunner.RunAsync([.. args, "--storage", Conn]);
        Assert.True(code == 0, $"{string.Join(' ', args)} exited {code}: {error}");
        return output;
    }

    /// <summary>The unfiltered listing: every location partner and its credit on every competency.</summary>
    private async Task<List<Partner>> AllAsync(bool global = false)
    {
        using var doc = JsonDocument.Parse(await OkAsync(global ? ["partners", "--format", "json", "--global"] : ["partners", "--format", "json"]));
        return [.. doc.RootElement.GetProperty("partners").EnumerateArray().Select(Partner.From)];
    }

    [Theory]
    [InlineData(80)]
    [InlineData(120)]
    public async Task Run_partners_and_partner_tables_fit_the_width_and_split_no_id_or_word(int width)
    {
        var all = await AllAsync();
        Assert.Equal(13, all.Count); // the samples' 13 location partners (README)
        var w = width.ToString(CultureInfo.InvariantCulture);
        var run = width == 80 ? fixture.Table : await CliRunner.RunAsync("recalc", "--as-of", "2026-10", "--width", w, "--storage", Conn);
        Assert.True(run.ExitCode == 0, run.Error);
        var global = await AllAsync(global: true);
        Assert.NotEmpty(global);
        var outputs = new List<(string Output, List<Partner> Partners)>
        {
            (run.Out, all),
            (await OkAsync("partners", "--width", w), all),
            (await OkAsync("partners", "--competency", "SmallMidmarketCloud", "--width", w), all),
            (await OkAsync("partners", "--global", "--width", w), global),
        };
        foreach (var (output, partners) in outputs)
        {
            AssertFits(output, width);
            foreach (var p in partners)
            {
                Assert.Matches($@"(?<!\d){p.Id}(?!\d)", output);
                // A name wraps between its words, never inside one.
                foreach (var word in (p.Name ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    Assert.Contains(word, output);
            }
        }
        foreach (var p in all)
        {
            var detail = await OkAsync("partner", p.Id, "--width", w);
            AssertFits(detail, width);
            Assert.Contains(p.Id, detail);
            foreach (var c in p.Credit.Keys) Assert.Matches($@"(?m)^\s*{c}\s", detail); // competency names stay whole
        }
    }

    [Theory]
    [InlineData(80)]
    [InlineData(120)]
    public async Task Explain_and_subscription_tables_fit_and_keep_feed_record_ids_whole(int width)
    {
        var w = width.ToString(CultureInfo.InvariantCulture);
        using var evidence = JsonDocument.Parse(await OkAsync("explain", "7890123", "--competency", "CloudPlatform", "--format", "json"));
        var text = await OkAsync("explain", "7890123", "--competency", "CloudPlatform", "--width", w);
        AssertFits(text, width);
        foreach (var row in evidence.RootElement.GetProperty("rows").EnumerateArray())
        {
            Assert.Contains(row.GetProperty("month").GetString()!, text);
            foreach (var a in row.GetProperty("associations").EnumerateArray())
                Assert.Contains($"{a.GetProperty("feedRecord").GetProperty("ingestionId").GetString()} line {a.GetProperty("feedRecord").GetProperty("line").GetInt64()}", text);
        }

        var sub = (await fixture.Azurite.Storage.AllAsync("SubscriptionPartners")).First(e => e.GetBoolean("isDpor") == true).PartitionKey;
        using var partners = JsonDocument.Parse(await OkAsync("subscription", sub, "--format", "json"));
        var table = await OkAsync("subscription", sub, "--width", w);
        AssertFits(table, width);
        Assert.Contains(sub, table);
        foreach (var p in partners.RootElement.GetProperty("partners").EnumerateArray())
            Assert.Matches($@"(?<!\d){p.GetProperty("partnerId").GetString()}(?!\d)", table);
        var csv = ParseCsv(await OkAsync("subscription", sub, "--format", "csv"));
        Assert.Equal(["subscriptionId", "asOf", "partnerId", "isDpor", "customerTenantId", "sources", "workloads"], csv[0]);
        Assert.Equal(partners.RootElement.GetProperty("partners").GetArrayLength(), csv.Count - 1);
    }

    private static void AssertFits(string output, int width)
    {
        foreach (var line in output.Split('\n'))
            Assert.True(line.TrimEnd('\r').Length <= width, $"{line.Length} > {width}: '{line}'");
    }

    [Fact]
    public async Task Redirected_output_follows_COLUMNS()
    {
        var wide = await CliRunner.RunProcessAsync(new Dictionary<string, string?> { ["COLUMNS"] = "150" }, "partners", "--storage", Conn);
        var unset = await CliRunner.RunProcessAsync(new Dictionary<string, string?> { ["COLUMNS"] = null }, "partners", "--storage", Conn);
        Assert.True(wide.ExitCode == 0, wide.Error);
        Assert.True(unset.ExitCode == 0, unset.Error);
        AssertFits(wide.Out, 150);
        Assert.Contains(wide.Out.Split('\n'), l => l.TrimEnd().Length > 120); // the room is used: every column fits at 150
        AssertFits(unset.Out, 80);
    }

    [Fact]
    public async Task Json_has_the_filtered_and_sorted_rows_and_json_is_an_alias()
    {
        var all = await AllAsync();
        var ranks = Ranks();

        // --competency, --sort acr, --top 3: the three highest CloudPlatform ACRs, only that competency listed.
        using (var doc = JsonDocument.Parse(await OkAsync("partners", "--competency", "CLOUDPLATFORM", "--sort", "acr", "--top", "3", "--format", "json")))
        {
            var expected = all.OrderByDescending(p => p.Credit["CloudPlatform"].Acr).ThenBy(p => long.Parse(p.Id, CultureInfo.InvariantCulture)).Take(3).Select(p => p.Id);
            var rows = doc.RootElement.GetProperty("partners").EnumerateArray().ToList();
            Assert.Equal(expected, rows.Select(r => r.GetProperty("partnerId").GetString()));
            Assert.All(rows, r => Assert.Equal("CloudPlatform", Assert.Single(r.GetProperty("competencies").EnumerateArray()).GetProperty("competency").GetString()));
            Assert.Equal(13, doc.RootElement.GetProperty("matching").GetInt32()); // the samples' 13 location partners
            Assert.Equal("CloudPlatform", doc.RootElement.GetProperty("competency").GetString());
        }

        // --level without --competency: a partner holding it on any competency; --sort progress: level, then progress.
        using (var doc = JsonDocument.Parse(await OkAsync("partners", "--level", "silver", "--sort", "progress", "--json")))
        {
            var expected = all.Where(p => p.Credit.Values.Any(c => c.Level == "Silver"))
                .OrderByDescending(p => p.Credit.Max(c => (ranks[c.Key][c.Value.Level], c.Value.Progress)))
                .ThenBy(p => long.Parse(p.Id, CultureInfo.InvariantCulture)).Select(p => p.Id).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, doc.RootElement.GetProperty("partners").EnumerateArray().Select(r => r.GetProperty("partnerId").GetString()));

            // Counts per level of each competency, over the matching partners.
            foreach (var count in doc.RootElement.GetProperty("levelCounts").EnumerateArray())
            {
                var competency = count.GetProperty("competency").GetString()!;
                var level = count.GetProperty("level").GetString()!;
                var matching = all.Where(p => expected.Contains(p.Id));
                Assert.Equal(matching.Count(p => p.Credit[competency].Level == level), count.GetProperty("partners").GetInt32());
            }
        }

        // --competency with --level and --sort users.
        using (var doc = JsonDocument.Parse(await OkAsync("partners", "--competency", "Security", "--level", "Silver", "--sort", "users", "--format", "json")))
        {
            var expected = all.Where(p => p.Credit["Security"].Level == "Silver").OrderByDescending(p => p.Credit["Security"].Users)
                .ThenBy(p => long.Parse(p.Id, CultureInfo.InvariantCulture)).Select(p => p.Id).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, doc.RootElement.GetProperty("partners").EnumerateArray().Select(r => r.GetProperty("partnerId").GetString()));
        }

        // --sort customers with --top 1 is the partner with the most customers on its best competency.
        using (var doc = JsonDocument.Parse(await OkAsync("partners", "--sort", "customers", "--top", "1", "--format", "json")))
        {
            var best = all.OrderByDescending(p => p.Credit.Values.Max(c => c.Customers)).ThenBy(p => long.Parse(p.Id, CultureInfo.InvariantCulture)).First().Id;
            Assert.Equal(best, Assert.Single(doc.RootElement.GetProperty("partners").EnumerateArray()).GetProperty("partnerId").GetString());
        }

        Assert.Equal(await OkAsync("partner", "2345678", "--json"), await OkAsync("partner", "2345678", "--format", "json"));
    }

    [Fact]
    public async Task Run_json_is_one_document_with_the_files_the_recalculation_and_the_filtered_listing()
    {
        var (code, output, error) = fixture.Json;
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(16, root.GetProperty("files").GetArrayLength()); // samples/feeds: three csp and three usage files, two dpor, pal and certifications files, one partners, sales, fasttrack and dap file
        Assert.Equal("2026-10", root.GetProperty("recalculation").GetProperty("asOf").GetString());
        var all = await AllAsync();
        var expected = all.OrderByDescending(p => p.Credit["CloudPlatform"].Acr).ThenBy(p => long.Parse(p.Id, CultureInfo.InvariantCulture)).Take(2).Select(p => p.Id);
        Assert.Equal(expected, root.GetProperty("credit").GetProperty("partners").EnumerateArray().Select(p => p.GetProperty("partnerId").GetString()));
    }

    [Fact]
    public async Task Csv_has_a_header_and_one_row_per_partner_and_competency()
    {
        var all = await AllAsync();
        var rows = ParseCsv(await OkAsync("partners", "--format", "csv"));
        Assert.Equal(ListingCsvHeader, rows[0]);
        Assert.Equal(all.Sum(p => p.Credit.Count), rows.Count - 1);
        foreach (var row in rows.Skip(1))
        {
            var p = all.Single(x => x.Id == row[0]);
            Assert.Equal(p.Name ?? "", row[1]); // "Contoso Cloud Services, Inc. (United States)" has a comma: quoted, read back whole
            var c = p.Credit[row[4]];
            Assert.Equal(c.Level, row[5]);
            Assert.Equal(c.Acr, double.Parse(row[8], CultureInfo.InvariantCulture));
        }

        var filtered = ParseCsv(await OkAsync("partners", "--format", "csv", "--competency", "CloudPlatform", "--level", "Silver"));
        Assert.Equal(all.Count(p => p.Credit["CloudPlatform"].Level == "Silver"), filtered.Count - 1);
        Assert.All(filtered.Skip(1), r => Assert.Equal(("CloudPlatform", "Silver"), (r[4], r[5])));

        // recalc (as run) prints the listing alone on stdout, its headline on stderr.
        var (code, recalc, error) = await CliRunner.RunAsync("recalc", "--as-of", "2026-10", "--format", "csv", "--competency", "Security", "--sort", "users", "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.Contains("Credit as of 2026-10", error);
        var recalculated = ParseCsv(recalc);
        Assert.Equal(ListingCsvHeader, recalculated[0]);
        Assert.Equal(
            all.OrderByDescending(p => p.Credit["Security"].Users).ThenBy(p => long.Parse(p.Id, CultureInfo.InvariantCulture)).Select(p => p.Id),
            recalculated.Skip(1).Select(r => r[0]));

        var partner = ParseCsv(await OkAsync("partner", "2345678", "--format", "csv"));
        Assert.Equal(all.Single(p => p.Id == "2345678").Credit.Count, partner.Count - 1);
        Assert.All(partner.Skip(1), r => Assert.Equal(partner[0].Length, r.Length));
    }

    [Theory]
    [InlineData("partners", "--competency", "Quantum")]
    [InlineData("partners", "--level", "Platinum")]
    [InlineData("partners", "--competency", "Security", "--level", "Bronze")]
    [InlineData("partners", "--sort", "name")]
    [InlineData("partners", "--top", "0")]
    [InlineData("partners", "--format", "xml")]
    [InlineData("partners", "--json", "--format", "csv")]
    [InlineData("partners", "--width", "10")]
    [InlineData("tenant", "4fd2a1e8-5c3b-4b8e-9f1a-2d6c7e8f9a0b", "--format", "csv")]
    [InlineData("changes", "--format", "csv")]
    [InlineData("run", "--feeds", "{samples}", "--competency", "Quantum")]
    public async Task Bad_options_exit_2_naming_what_is_valid(params string[] args)
    {
        args = [.. args.Select(a => a == "{samples}" ? TestPaths.Samples : a)];
        var (code, output, error) = await CliRunner.RunAsync([.. args, "--storage", Conn]);
        Assert.Equal(2, code);
        var line = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).First(l => !l.StartsWith("storage: ", StringComparison.Ordinal));
        Assert.StartsWith("error:", line, StringComparison.Ordinal);
        Assert.Equal("", output);
        if (args.Contains("Quantum"))
            foreach (var c in CreditRulesLoader.Default.Competencies) Assert.Contains(c.Name, line);
        if (args.Contains("Platinum")) Assert.Contains("Gold, Silver, None", line);
    }

    [Fact]
    public async Task Explain_and_tenant_name_the_same_credited_rows_for_every_partner_and_competency()
    {
        // `explain` reads the run's explanation index, `tenant` re-walks one customer's records: every credited row of a
        // competency's workloads is in both, with the same share, DPOR days and sources.
        var rules = CreditRulesLoader.Default;
        var fromExplain = new HashSet<string>();
        foreach (var partner in await AllAsync())
        {
            foreach (var competency in partner.Credit.Keys)
            {
                using var doc = JsonDocument.Parse(await OkAsync("explain", partner.Id, "--competency", competency, "--format", "json"));
                foreach (var r in doc.RootElement.GetProperty("rows").EnumerateArray())
                    fromExplain.Add(string.Join('|', r.GetProperty("customerTenantId").GetString(), r.GetProperty("subscriptionId").GetString(),
                        r.GetProperty("workload").GetString(), r.GetProperty("month").GetString(), partner.Id,
                        r.GetProperty("share").GetDouble().ToString("R", CultureInfo.InvariantCulture), r.GetProperty("dporDays").GetInt32(), r.GetProperty("sources").GetString()));
            }
        }
        Assert.True(fromExplain.Count > 100, $"{fromExplain.Count} rows");
        var counted = rules.Competencies.SelectMany(c => c.Workloads.Members()).Select(w => w.ToString()).ToHashSet();
        var fromTenant = new HashSet<string>();
        foreach (var tenant in fromExplain.Select(k => k.Split('|')[0]).Distinct())
        {
            using var doc = JsonDocument.Parse(await OkAsync("tenant", tenant, "--format", "json"));
            Assert.Equal(doc.RootElement.GetRawText(), JsonDocument.Parse(await OkAsync("tenant", tenant, "--json")).RootElement.GetRawText()); // the older spelling
            foreach (var u in doc.RootElement.GetProperty("usage").EnumerateArray())
            {
                if (!counted.Contains(u.GetProperty("workload").GetString()!)) continue;
                foreach (var p in u.GetProperty("creditedPartners").EnumerateArray())
                    fromTenant.Add(string.Join('|', tenant, u.GetProperty("subscriptionId").GetString(), u.GetProperty("workload").GetString(), u.GetProperty("month").GetString(),
                        p.GetProperty("partnerId").GetString(), p.GetProperty("share").GetDouble().ToString("R", CultureInfo.InvariantCulture), p.GetProperty("dporDays").GetInt32(), p.GetProperty("sources").GetString()));
            }
        }
        Assert.Empty(fromExplain.Except(fromTenant));
        Assert.Empty(fromTenant.Except(fromExplain));
    }

    /// <summary>Each competency's level names ranked as the shipped rules order them (None lowest).</summary>
    private static Dictionary<string, Dictionary<string, int>> Ranks() =>
        CreditRulesLoader.Default.Competencies.ToDictionary(c => c.Name,
            c => c.Levels.Select((l, i) => (l.Level.Name, Rank: i + 1)).Append(("None", 0)).ToDictionary(x => x.Item1, x => x.Item2));

    private sealed record Credit(string Level, double Progress, double Acr, double Users, int Customers);

    private sealed record Partner(string Id, string? Name, Dictionary<string, Credit> Credit)
    {
        public static Partner From(JsonElement e) => new(
            e.GetProperty("partnerId").GetString()!,
            e.TryGetProperty("partnerName", out var n) ? n.GetString() : null,
            e.GetProperty("competencies").EnumerateArray().ToDictionary(c => c.GetProperty("competency").GetString()!, c => new Credit(
                c.GetProperty("level").GetString()!, c.GetProperty("progress").GetDouble(), c.GetProperty("acrUsdTtm").GetDouble(),
                c.GetProperty("peakMonthlyActiveUsers").GetDouble(), c.GetProperty("customers").GetInt32())));
    }

    /// <summary>RFC 4180: fields separated by commas, quoted fields may hold commas, doubled quotes and line breaks; records end in CRLF.</summary>
    private static List<string[]> ParseCsv(string text)
    {
        var records = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (quoted)
            {
                if (ch != '"') field.Append(ch);
                else if (i + 1 < text.Length && text[i + 1] == '"') field.Append(text[++i]);
                else quoted = false;
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { fields.Add(field.ToString()); field.Clear(); }
            else if (ch == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                i++;
                fields.Add(field.ToString());
                field.Clear();
                records.Add([.. fields]);
                fields.Clear();
            }
            else field.Append(ch);
        }
        Assert.True(field.Length == 0 && fields.Count == 0, "the last record ends in CRLF");
        return records;
    }
}
