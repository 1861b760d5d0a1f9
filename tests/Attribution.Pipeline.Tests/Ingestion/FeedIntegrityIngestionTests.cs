using System.IO.Compression;
using System.Text;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Testing;

namespace Attribution.Pipeline.Tests.Ingestion;

/// <summary>
/// "A file is complete or it fails whole" (issue 8, docs/feeds.md), end to end against Azurite. Everything is asserted
/// through the ingestion result, the rejected rows and what a reader of the records sees (<see cref="RecordStore"/>),
/// never through the layout of stored records.
/// </summary>
public sealed class FeedIntegrityIngestionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly YearMonth From = YearMonth.Parse("2000-01");
    private static readonly YearMonth To = YearMonth.Parse("2099-12");

    private readonly FeedIngestor _ingestor = azurite.Storage.Create<FeedIngestor>(CreditRulesLoader.Default);
    private readonly IngestionStore _ingestions = azurite.Storage.Get<IngestionStore>();
    private readonly string _dir = TestPaths.NewTempDirectory();

    private Task<FeedIngestionResult> Ingest(FeedSource source, string name, byte[] content)
    {
        var folder = Path.Combine(_dir, source.Name());
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, content);
        return _ingestor.IngestFileAsync(path, source);
    }

    private async Task<List<RejectedRow>> Rejected(string ingestionId)
    {
        var rows = new List<RejectedRow>();
        await foreach (var r in _ingestions.RejectedRowsAsync(ingestionId)) rows.Add(r);
        return [.. rows.OrderBy(r => r.Line)];
    }

    private async Task<TenantRecords> Visible(Guid tenant) => await (await azurite.Storage.Get<RecordStore>().LatestAsync()).TenantAsync(tenant, From, To);

    private async Task<Dictionary<long, PartnerRecord>> VisiblePartners(IEnumerable<long> ids)
    {
        var wanted = ids.ToHashSet();
        var found = new Dictionary<long, PartnerRecord>();
        await foreach (var p in (await azurite.Storage.Get<RecordStore>().LatestAsync()).PartnersAsync())
            if (wanted.Contains(p.PartnerId)) found[p.PartnerId] = p;
        return found;
    }

    /// <summary>The file failed as a whole: nothing counted, nothing rejected, nothing of the tenant readable.</summary>
    private async Task AssertFailedWhole(FeedIngestionResult result, Guid tenant, string because)
    {
        Assert.Equal(IngestionStatus.Failed, result.Status);
        Assert.True(result.FailedAsWhole);
        Assert.Contains(because, result.Error);
        Assert.Equal(0, result.RowsTotal);
        Assert.Equal(0, result.RowsAccepted);
        Assert.Empty(await Rejected(result.IngestionId));
        var recorded = await _ingestions.GetAsync(result.Source, result.IngestionId, default);
        Assert.Equal(IngestionStatus.Failed, recorded!.Status);
        Assert.Equal(result.Error, recorded.Error);
        var visible = await Visible(tenant);
        Assert.Empty(visible.Usage);
        Assert.Empty(visible.Associations);
    }

    private static string UsageCsv(Guid tenant, int rows, string lastActiveUsers = "1500")
    {
        var csv = new StringBuilder("customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n");
        for (var i = 1; i < rows; i++) csv.Append(System.Globalization.CultureInfo.InvariantCulture, $"{tenant},{Guid.NewGuid()},Azure,2026-{1 + i % 12:D2},{i}.25,\n");
        csv.Append(System.Globalization.CultureInfo.InvariantCulture, $"{tenant},{Guid.NewGuid()},Teams,2026-03,,{lastActiveUsers}\n");
        return csv.ToString();
    }

    private static byte[] Gzip(string text, CompressionLevel level = CompressionLevel.Optimal)
    {
        using var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, level, leaveOpen: true)) gz.Write(Encoding.UTF8.GetBytes(text));
        return buffer.ToArray();
    }

    [Fact]
    public async Task A_csv_gz_cut_in_half_fails_whole_as_truncated_and_stores_nothing()
    {
        var t = Guid.NewGuid();
        var gz = Gzip(UsageCsv(t, 3000));
        var result = await Ingest(FeedSource.Usage, "usage-half.csv.gz", gz[..(gz.Length / 2)]);
        await AssertFailedWhole(result, t, "corrupt gzip: truncated");
        Assert.StartsWith("The file cannot be read: ", result.Error);
    }

    [Fact]
    public async Task A_csv_gz_cut_inside_the_last_value_fails_instead_of_storing_a_shorter_number()
    {
        var t = Guid.NewGuid();
        // Stored (uncompressed) deflate blocks hold the text as is, so the cut can be placed exactly: after "15" of
        // the last row's activeUsers "1500". A reader that takes a truncated gzip for its end would store 15.
        var gz = Gzip(UsageCsv(t, 50), CompressionLevel.NoCompression);
        var value = gz.AsSpan().LastIndexOf(",1500\n"u8);
        Assert.True(value > 0, "the test's gzip holds the text uncompressed");
        var cut = gz[..(value + 3)];
        Assert.EndsWith(",15", Encoding.UTF8.GetString(cut));

        var result = await Ingest(FeedSource.Usage, "usage-cut-in-value.csv.gz", cut);

        await AssertFailedWhole(result, t, "corrupt gzip: truncated");
    }

    [Fact]
    public async Task A_truncated_jsonl_gz_fails_whole_and_stores_nothing()
    {
        var t = Guid.NewGuid();
        var jsonl = new StringBuilder();
        for (var i = 0; i < 1500; i++)
            jsonl.Append(System.Globalization.CultureInfo.InvariantCulture, $"{{\"customerTenantId\":\"{t}\",\"partnerId\":{8200000 + i},\"workloads\":\"Intune\",\"grantedOn\":\"2026-01-15\"}}\n");
        var gz = Gzip(jsonl.ToString());
        var result = await Ingest(FeedSource.Dap, "dap-half.jsonl.gz", gz[..(gz.Length / 2)]);
        await AssertFailedWhole(result, t, "corrupt gzip: truncated");
    }

    [Fact]
    public async Task A_gzip_without_its_trailer_fails_whole()
    {
        var t = Guid.NewGuid();
        var gz = Gzip(UsageCsv(t, 200));
        var result = await Ingest(FeedSource.Usage, "usage-no-trailer.csv.gz", gz[..^8]);
        await AssertFailedWhole(result, t, "corrupt gzip: truncated");
        Assert.Contains("trailer", result.Error);
    }

    [Fact]
    public async Task A_gzip_whose_crc_does_not_match_fails_whole()
    {
        var t = Guid.NewGuid();
        var gz = Gzip(UsageCsv(t, 200));
        gz[^8] ^= 0xFF; // first byte of the CRC-32 in the trailer
        var result = await Ingest(FeedSource.Usage, "usage-bad-crc.csv.gz", gz);
        await AssertFailedWhole(result, t, "corrupt gzip: CRC-32 mismatch");
    }

    [Fact]
    public async Task A_gzip_whose_length_does_not_match_fails_whole()
    {
        var t = Guid.NewGuid();
        var gz = Gzip(UsageCsv(t, 200));
        gz[^4] ^= 0x01; // lowest byte of the uncompressed length in the trailer
        var result = await Ingest(FeedSource.Usage, "usage-bad-length.csv.gz", gz);
        await AssertFailedWhole(result, t, "corrupt gzip: length mismatch");
    }

    [Fact]
    public async Task A_file_named_gz_that_is_not_gzip_fails_saying_so_not_calling_it_corrupt()
    {
        var t = Guid.NewGuid();
        var result = await Ingest(FeedSource.Usage, "usage-plain.csv.gz", Encoding.UTF8.GetBytes(UsageCsv(t, 5)));
        await AssertFailedWhole(result, t, "not gzip data (no gzip signature");
        Assert.DoesNotContain("corrupt", result.Error);
        Assert.DoesNotContain("unsupported compression method", result.Error);
    }

    [Fact]
    public async Task An_empty_gz_fails_saying_it_is_empty()
    {
        var result = await Ingest(FeedSource.Usage, "usage-empty.csv.gz", []);
        await AssertFailedWhole(result, Guid.NewGuid(), "not gzip data (no gzip signature): the file is empty");
    }

    [Fact]
    public async Task A_multi_member_gzip_is_read_whole_and_lines_run_on_across_members()
    {
        var t = Guid.NewGuid();
        var all = UsageCsv(t, 6).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var first = string.Join('\n', all[..4]) + "\n"; // header + 3 rows
        var second = string.Join('\n', all[4..]) + "\n"; // 3 rows, no header
        var result = await Ingest(FeedSource.Usage, "usage-members.csv.gz", [.. Gzip(first), .. Gzip(second, CompressionLevel.Fastest)]);

        Assert.Equal(IngestionStatus.Succeeded, result.Status);
        Assert.Equal(6, result.RowsTotal);
        Assert.Equal(6, result.RowsAccepted);
        var usage = (await Visible(t)).Usage;
        Assert.Equal([2L, 3, 4, 5, 6, 7], usage.Select(u => u.Lineage.Line).Order());
        Assert.Equal(1500, usage.Single(u => u.Workload == Workload.Teams).ActiveUsers);
    }

    [Fact]
    public async Task Invalid_utf8_rejects_the_row_naming_the_column_and_a_genuine_replacement_character_is_kept()
    {
        var ids = Enumerable.Range(0, 4).Select(_ => (long)Random.Shared.Next(10_000_000, 99_999_999)).Distinct().ToArray();
        Assert.Equal(4, ids.Length);
        byte[] content =
        [
            .. "partnerId,partnerName,country,note\n"u8,
            .. Encoding.ASCII.GetBytes($"{ids[0]},Caf"), 0xE9, .. " Partners,FR,\n"u8,           // line 2: Latin-1
            .. Encoding.ASCII.GetBytes($"{ids[1]},Caf"), 0xC3, 0xA9, .. " Ok,FR,\n"u8,             // line 3: UTF-8
            .. Encoding.ASCII.GetBytes($"{ids[2]},Kept "), 0xEF, 0xBF, 0xBD, .. ",US,\n"u8,        // line 4: U+FFFD
            .. Encoding.ASCII.GetBytes($"{ids[3]},Fine,US,"), 0xFF, .. "\n"u8,                     // line 5: ignored column
        ];
        var result = await Ingest(FeedSource.Partners, "partners-latin1.csv", content);

        Assert.Equal(IngestionStatus.CompletedWithRejections, result.Status);
        Assert.Equal(4, result.RowsTotal);
        Assert.Equal(3, result.RowsAccepted);
        var rejected = Assert.Single(await Rejected(result.IngestionId));
        Assert.Equal(2, rejected.Line);
        Assert.StartsWith("partnerName: invalid UTF-8 in 'Caf\\xE9 Partners'", rejected.Reason);
        Assert.Equal($"{ids[0]},Caf\\xE9 Partners,FR,", rejected.Raw);
        var partners = await VisiblePartners(ids);
        Assert.False(partners.ContainsKey(ids[0]));
        Assert.Equal("Caf\u00E9 Ok", partners[ids[1]].PartnerName);
        Assert.Equal("Kept \uFFFD", partners[ids[2]].PartnerName);
        Assert.Equal("Fine", partners[ids[3]].PartnerName);
    }

    [Fact]
    public async Task A_duplicate_header_column_fails_the_file_naming_both_and_stores_nothing()
    {
        var id = Random.Shared.Next(10_000_000, 99_999_999);
        var result = await Ingest(FeedSource.Partners, "partners-dup.csv", Encoding.UTF8.GetBytes($"partnerId,partnerName,partner_id,country\n{id},Contoso,{id + 1},US\n"));

        Assert.Equal(IngestionStatus.Failed, result.Status);
        Assert.Contains("'partnerId' (column 1) and 'partner_id' (column 3) both name partnerId", result.Error);
        Assert.Equal(0, result.RowsAccepted);
        Assert.Empty(await Rejected(result.IngestionId));
        Assert.Empty(await VisiblePartners([id, id + 1]));
    }

    [Fact]
    public async Task A_jsonl_record_with_a_duplicate_field_is_rejected_naming_both_and_the_others_are_stored()
    {
        var t = Guid.NewGuid();
        var s = Guid.NewGuid();
        var jsonl =
            $"{{\"subscriptionId\":\"{s}\",\"customerTenantId\":\"{t}\",\"partnerId\":8300001,\"effectiveDate\":\"2026-01-01\"}}\n" +
            $"{{\"subscriptionId\":\"{s}\",\"customerTenantId\":\"{t}\",\"partnerId\":8300002,\"Partner ID\":8300003,\"effectiveDate\":\"2026-02-01\"}}\n" +
            $"{{\"subscriptionId\":\"{s}\",\"customerTenantId\":\"{t}\",\"partnerId\":8300004,\"effectiveDate\":\"2026-03-01\"}}\n";
        var result = await Ingest(FeedSource.Dpor, "dpor-dup.jsonl", Encoding.UTF8.GetBytes(jsonl));

        Assert.Equal(3, result.RowsTotal);
        Assert.Equal(2, result.RowsAccepted);
        var rejected = Assert.Single(await Rejected(result.IngestionId));
        Assert.Equal(2, rejected.Line);
        Assert.StartsWith("Partner ID: duplicate of field 'partnerId'", rejected.Reason);
        Assert.Equal([8300001L, 8300004], (await Visible(t)).DporEvents.Select(e => e.PartnerId).Order());
    }

    [Fact]
    public async Task A_stray_quote_rejects_its_row_and_every_other_row_is_stored_with_its_own_line()
    {
        // The partner directory case from the issue: the quote in line 3 used to swallow the rows after it.
        var ids = Enumerable.Range(0, 5).Select(i => 84_000_000L + Random.Shared.Next(0, 99_999) * 10 + i).ToArray();
        var csv =
            "partnerId,globalPartnerId,partnerName,country\n" +
            $"{ids[0]},,Adatum,US\n" +
            $"{ids[1]},,Contoso 27\" Monitors,US\n" +
            $"{ids[2]},,Fabrikam,GB\n" +
            $"{ids[3]},,\"Tailspin, \"\"Toys\"\"\",DE\n" +
            $"{ids[4]},,Northwind,FR\n";
        var result = await Ingest(FeedSource.Partners, "partners-stray-quote.csv", Encoding.UTF8.GetBytes(csv));

        Assert.Equal(5, result.RowsTotal);
        Assert.Equal(4, result.RowsAccepted);
        Assert.Equal(1, result.RowsRejected);
        var rejected = Assert.Single(await Rejected(result.IngestionId));
        Assert.Equal(3, rejected.Line);
        Assert.StartsWith("partnerName: quote inside an unquoted field", rejected.Reason);
        Assert.Equal($"{ids[1]},,Contoso 27\" Monitors,US", rejected.Raw);
        var partners = await VisiblePartners(ids);
        Assert.Equal(["Adatum", "Fabrikam", "Tailspin, \"Toys\"", "Northwind"], new[] { ids[0], ids[2], ids[3], ids[4] }.Select(id => partners[id].PartnerName));
        Assert.Equal("FR", partners[ids[4]].Country);
    }

    [Fact]
    public async Task After_a_stray_quote_and_a_quoted_newline_accepted_rows_keep_their_physical_lines()
    {
        var t = Guid.NewGuid();
        var csv =
            "customerTenantId,partnerId,program,validFrom,validTo,subscriptionId,agreementId\n" + // line 1
            $"{t},8500001,EA,2026-01-01,,,\"EA-1\nsecond line\"\n" +                             // lines 2-3
            $"{t},8500002,EA,2026-01-01,,,EA 12\" rollout\n" +                                   // line 4: rejected
            $"{t},8500003,Open,2026-01-01,,,\n" +                                                // line 5
            "\n" +                                                                               // line 6: blank
            $"{t},8500004,EA,2026-01-01,,,\"EA, \"\"4\"\"\"\n" +                                   // line 7
            $"{t},8500005,Open,2026-01-01,,,plain\n";                                            // line 8
        var result = await Ingest(FeedSource.Sales, "sales-quotes.csv", Encoding.UTF8.GetBytes(csv));

        Assert.Equal(5, result.RowsTotal);
        Assert.Equal(4, result.RowsAccepted);
        var rejected = Assert.Single(await Rejected(result.IngestionId));
        Assert.Equal(4, rejected.Line);
        Assert.StartsWith("agreementId: quote inside an unquoted field", rejected.Reason);
        var associations = (await Visible(t)).Associations.ToDictionary(a => a.PartnerId);
        Assert.Equal(2, associations[8500001].Lineage.Line);
        Assert.Equal("EA-1\nsecond line", associations[8500001].AgreementId);
        Assert.Equal(5, associations[8500003].Lineage.Line);
        Assert.Equal(7, associations[8500004].Lineage.Line);
        Assert.Equal("EA, \"4\"", associations[8500004].AgreementId);
        Assert.Equal(8, associations[8500005].Lineage.Line);
        Assert.False(associations.ContainsKey(8500002));
    }

    private static void AssertReadable(string text)
    {
        Assert.DoesNotContain('\uFFFD', text);
        Assert.DoesNotContain(text, char.IsControl);
    }

    [Fact]
    public async Task A_gzip_file_named_csv_fails_whole_saying_it_is_compressed_instead_of_showing_its_bytes()
    {
        var t = Guid.NewGuid();
        var result = await Ingest(FeedSource.Usage, "usage-renamed.csv", Gzip(UsageCsv(t, 40)));
        await AssertFailedWhole(result, t, "The content is gzip-compressed (it starts with the gzip signature 1F 8B) but the name does not end in .gz: rename it to usage-renamed.csv.gz.");
        AssertReadable(result.Error!);

        var jsonl = await Ingest(FeedSource.Dap, "dap-renamed.jsonl", Gzip($"{{\"customerTenantId\":\"{t}\",\"partnerId\":1,\"workloads\":\"Intune\",\"grantedOn\":\"2026-01-15\"}}\n"));
        await AssertFailedWhole(jsonl, t, "rename it to dap-renamed.jsonl.gz.");
    }

    [Fact]
    public async Task Reasons_quote_values_and_json_errors_with_control_characters_escaped()
    {
        var t = Guid.NewGuid();
        var s = Guid.NewGuid();
        var csv = await Ingest(FeedSource.Usage, "usage-controls.csv", Encoding.UTF8.GetBytes(
            "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd\n" +
            $"{t},{s},Azure\u0007\u001B[31m,2026-01,1\n" +
            $"{t},{s},Azure,2026-01\u0000,1\n"));
        var rejected = await Rejected(csv.IngestionId);
        Assert.Equal(2, rejected.Count);
        Assert.Equal("workload: 'Azure\\x07\\x1B[31m' is not a known workload", rejected[0].Reason);
        Assert.Equal("month: '2026-01\\x00' is not a month (expected yyyy-MM)", rejected[1].Reason);
        Assert.All(rejected, r => AssertReadable(r.Reason + r.Raw));
        Assert.Equal($"{t},{s},Azure\\x07\\x1B[31m,2026-01,1", rejected[0].Raw);

        var jsonl = await Ingest(FeedSource.Dap, "dap-controls.jsonl", Encoding.UTF8.GetBytes(
            "{\"customerTenantId\":\u0001}\n" + $"{{\"customer\u001FTenantId\":\"{t}\",\"customerTenantId\":\"x\",\"partnerId\":1}}\n" +
            $"{{\"customerTenantId\":\"{t}\",\"partnerId\":\"12\\u0007\",\"workloads\":\"Intune\",\"grantedOn\":\"2026-01-15\"}}\n"));
        var reasons = await Rejected(jsonl.IngestionId);
        Assert.Equal(3, reasons.Count);
        Assert.StartsWith("line is not valid JSON (", reasons[0].Reason);
        Assert.Contains("'12\\x07' is not a partner ID", reasons[2].Reason);
        Assert.All(reasons, r => AssertReadable(r.Reason + r.Raw));
    }
}
