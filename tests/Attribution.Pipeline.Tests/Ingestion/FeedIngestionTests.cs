using System.IO.Compression;
using System.Text;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Local;
using Attribution.Testing;
using Azure.Data.Tables;

namespace Attribution.Pipeline.Tests.Ingestion;

public sealed class FeedIngestionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly FeedIngestor _ingestor = azurite.Storage.Create<FeedIngestor>(CreditRulesLoader.Default);
    private readonly string _dir = TestPaths.NewTempDirectory();

    private static string NewId() => Guid.NewGuid().ToString("D");

    private Task<FeedIngestionResult> Ingest(FeedSource source, string name, string content) =>
        _ingestor.IngestFileAsync(TestPaths.WriteFeed(_dir, source.Name(), name, content), source);

    private async Task<List<UsageRecord>> UsageOf(string ingestionId) =>
        (await (await azurite.Storage.LatestRecordsAsync()).AllUsageAsync()).Where(u => u.Lineage.IngestionId == ingestionId).ToList();

    private async Task<List<Association>> AssociationsOf(string ingestionId) =>
        (await (await azurite.Storage.LatestRecordsAsync()).AllAssociationsAsync()).Where(a => a.Lineage.IngestionId == ingestionId).ToList();

    private async Task<List<DporEvent>> DporOf(string ingestionId) =>
        (await (await azurite.Storage.LatestRecordsAsync()).AllDporEventsAsync()).Where(d => d.Lineage.IngestionId == ingestionId).ToList();

    private async Task<List<PartnerRow>> PartnersOf(string ingestionId) =>
        (await (await azurite.Storage.LatestRecordsAsync()).PartnerRowsAsync()).Where(p => p.Lineage.IngestionId == ingestionId).ToList();

    private async Task<List<TableEntity>> Rejected(string ingestionId) =>
        await azurite.Storage.AllAsync(TableNames.RejectedRecords, ingestionId);

    private static void AssertCountsAddUp(FeedIngestionResult r) => Assert.Equal(r.RowsTotal, r.RowsAccepted + r.RowsRejected);

    public static TheoryData<FeedSource, string[]> RequiredColumns => new()
    {
        { FeedSource.Partners, ["partnerId"] },
        { FeedSource.Dpor, ["subscriptionId", "customerTenantId", "partnerId", "effectiveDate"] },
        { FeedSource.Sales, ["customerTenantId", "partnerId", "program", "validFrom"] },
        { FeedSource.Csp, ["customerTenantId", "subscriptionId", "partnerId", "validFrom"] },
        { FeedSource.FastTrack, ["customerTenantId", "partnerId", "workloads", "engagementStart"] },
        { FeedSource.Dap, ["customerTenantId", "partnerId", "workloads", "grantedOn"] },
        { FeedSource.Pal, ["customerTenantId", "partnerId", "linkedOn"] },
        { FeedSource.Certifications, ["partnerId", "personId", "certification", "earnedOn"] },
        { FeedSource.Usage, ["customerTenantId", "subscriptionId", "workload", "month"] },
    };

    [Theory]
    [MemberData(nameof(RequiredColumns))]
    public async Task A_file_without_its_required_columns_fails_naming_every_one_and_stores_nothing(FeedSource source, string[] required)
    {
        var optional = FeedSchema.For(source).Columns.Where(c => !c.Required).Select(c => c.Name).ToList();
        var header = string.Join(',', optional.Append("comment"));
        var row = string.Join(',', optional.Select(_ => "").Append("x"));
        var result = await Ingest(source, $"missing-all-{Guid.NewGuid():N}.csv", header + "\n" + row + "\n");

        Assert.Equal(IngestionStatus.Failed, result.Status);
        foreach (var column in required) Assert.Contains(column, result.Error);
        Assert.Equal(0, result.RowsTotal);
        Assert.Empty(await Rejected(result.IngestionId));

        // Each required column alone is named too.
        foreach (var missing in required)
        {
            var cols = FeedSchema.For(source).Columns.Select(c => c.Name).Where(n => n != missing);
            var one = await Ingest(source, $"missing-one-{Guid.NewGuid():N}.csv", string.Join(',', cols) + "\n");
            Assert.Equal(IngestionStatus.Failed, one.Status);
            Assert.Contains(missing, one.Error);
            // Only the list of columns: the sentence also names the feed ("The certifications file …").
            var named = one.Error![one.Error!.IndexOf("column(s):", StringComparison.Ordinal)..];
            foreach (var other in required.Where(r => r != missing)) Assert.DoesNotContain($" {other}", named);
        }
    }

    [Fact]
    public async Task A_file_with_a_bad_header_stores_none_of_its_good_rows()
    {
        var t = NewId();
        // The rows are valid usage rows, but the header lacks `month`: the file fails as a whole.
        var result = await Ingest(FeedSource.Usage, "no-month.csv",
            $"customerTenantId,subscriptionId,workload,consumedRevenueUsd\n{t},{NewId()},Azure,10\n");
        Assert.Equal(IngestionStatus.Failed, result.Status);
        Assert.Empty((await azurite.Storage.TenantAsync(Guid.Parse(t))).Usage);
        var row = await azurite.Storage.Get<IngestionStore>().GetAsync(FeedSource.Usage, result.IngestionId, default);
        Assert.Equal(IngestionStatus.Failed, row!.Status);
        Assert.NotNull(row.ContentSha256);
    }

    [Fact]
    public async Task Headers_match_ignoring_case_spaces_underscores_and_hyphens_and_extra_columns_are_ignored()
    {
        var t = NewId();
        var s = NewId();
        var result = await Ingest(FeedSource.Usage, "aliases.csv",
            "Customer Tenant ID,SUBSCRIPTION_ID,work-load,Month,consumed_revenue_usd,Active Users,Region\n" +
            $"{t},{s},Azure,2026-02,12.5,,westeurope\n");
        Assert.Equal(IngestionStatus.Succeeded, result.Status);
        var stored = Assert.Single(await UsageOf(result.IngestionId));
        Assert.Equal(12.5, stored.ConsumedRevenueUsd);
        Assert.Null(stored.ActiveUsers);
    }

    [Fact]
    public async Task Quoted_fields_may_hold_commas_quotes_and_newlines_and_line_numbers_count_physical_lines()
    {
        var p1 = "1000001";
        var csv =
            "partnerId,partnerName,country,globalPartnerId\n" +             // line 1
            $"{p1},\"Contoso, \"\"Cloud\"\" Ltd\nSecond line\nThird\",GB,\n" + // lines 2-4
            "12x,Bad Partner,US,\n" +                                       // line 5: rejected
            "1000002,\"Fabrikam\r\nInc\",US,1000001\n" +                     // lines 6-7
            "1000003,Tailspin,US,notanumber\n";                             // line 8: rejected
        var result = await Ingest(FeedSource.Partners, "partners-quoted.csv", csv);

        Assert.Equal(IngestionStatus.CompletedWithRejections, result.Status);
        Assert.Equal(4, result.RowsTotal);
        Assert.Equal(2, result.RowsAccepted);
        AssertCountsAddUp(result);
        var rejected = await Rejected(result.IngestionId);
        Assert.Equal(["0000000005", "0000000008"], rejected.Select(r => r.RowKey).Order());
        var line5 = rejected.Single(r => r.GetInt64("line") == 5);
        Assert.Contains("partnerId", line5.GetString("reason"));
        Assert.Equal("12x,Bad Partner,US,", line5.GetString("raw"));
        Assert.Contains("globalPartnerId", rejected.Single(r => r.GetInt64("line") == 8).GetString("reason"));
        var partners = await PartnersOf(result.IngestionId);
        var contoso = partners.Single(p => p.Partner.PartnerId == long.Parse(p1, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("Contoso, \"Cloud\" Ltd\nSecond line\nThird", contoso.Partner.PartnerName);
        var fabrikam = partners.Single(p => p.Partner.PartnerId == 1000002);
        Assert.Equal(1000001, fabrikam.Partner.GlobalPartnerId);
        Assert.Equal("Fabrikam\r\nInc", fabrikam.Partner.PartnerName);
        Assert.Equal(6, fabrikam.Lineage.Line);
    }

    [Fact]
    public async Task A_utf8_bom_and_crlf_line_endings_are_accepted()
    {
        var t = NewId();
        var text = "customerTenantId,partnerId,workloads,grantedOn,revokedOn\r\n" +
                   $"{t},2000001,Exchange Online;Teams,2026-01-15,\r\n" +
                   $"{t},2000002,Intune,1/20/2026 12:00:00 AM,2026-06-30\r\n";
        var path = Path.Combine(_dir, "dap", "dap-bom.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(text)]);
        var result = await _ingestor.IngestFileAsync(path, FeedSource.Dap);

        Assert.Equal(IngestionStatus.Succeeded, result.Status);
        var stored = await AssociationsOf(result.IngestionId);
        Assert.Equal(2, stored.Count);
        var first = stored.Single(a => a.PartnerId == 2000001);
        Assert.Equal("Exchange;Teams", first.Workloads.ToString());
        Assert.Null(first.ValidTo);
        Assert.Equal(new DateOnly(2026, 1, 20), stored.Single(a => a.PartnerId == 2000002).ValidFrom);
    }

    [Fact]
    public async Task A_jsonl_line_that_is_not_json_is_rejected_with_its_line_and_the_rest_is_accepted()
    {
        var t = NewId();
        var s = NewId();
        var jsonl =
            $"{{\"subscriptionId\":\"{s}\",\"customerTenantId\":\"{t}\",\"partnerId\":3000001,\"effectiveDate\":\"2026-01-01\"}}\n" +
            "{this is not json\n" +
            "\n" +
            $"{{\"subscriptionId\":\"{s}\",\"customerTenantId\":\"{t}\",\"partnerId\":\"3000002\",\"effectiveDate\":\"2026-02-10T00:00:00Z\",\"action\":\"remove\",\"note\":\"ignored\"}}\n" +
            $"{{\"subscriptionId\":\"{s}\",\"customerTenantId\":\"{t}\",\"partnerId\":null,\"effectiveDate\":\"2026-03-01\"}}\n" +
            "[1,2,3]\n";
        var result = await Ingest(FeedSource.Dpor, "dpor.jsonl", jsonl);

        Assert.Equal(5, result.RowsTotal); // the blank line is not a record
        Assert.Equal(2, result.RowsAccepted);
        AssertCountsAddUp(result);
        var rejected = (await Rejected(result.IngestionId)).ToDictionary(r => r.GetInt64("line")!.Value, r => r.GetString("reason")!);
        Assert.Contains("not valid JSON", rejected[2]);
        Assert.Contains("partnerId: required value is missing", rejected[5]);
        Assert.Contains("not an object", rejected[6]);
        var events = await DporOf(result.IngestionId);
        Assert.Contains(events, e => e.PartnerId == 3000001 && e.Action == DporAction.Set);
        Assert.Contains(events, e => e.PartnerId == 3000002 && e.Action == DporAction.Remove && e.EffectiveDate == new DateOnly(2026, 2, 10));
    }

    [Fact]
    public async Task A_partner_center_reconciliation_export_is_a_csp_file_and_its_PartnerId_guid_is_not_the_partner()
    {
        var t = NewId();
        var s1 = NewId();
        var s2 = NewId();
        var pcGuid = NewId();
        var csv =
            "PartnerId,CustomerId,CustomerName,MpnId,ResellerMpnId,SubscriptionId,ChargeStartDate,ChargeEndDate,ProductName,Quantity\n" +
            $"{pcGuid},{t},Contoso,4000001,4000009,{s1},3/1/2026 12:00:00 AM,3/31/2026 11:59:59 PM,Microsoft 365 Business Premium,25\n" +
            $"{pcGuid},{t},Contoso,4000001,0,{s2},3/1/2026 12:00:00 AM,3/31/2026 11:59:59 PM,Azure plan,1\n" +
            $"{pcGuid},{t},Contoso,4000001,4000001,{s2},4/1/2026 12:00:00 AM,,Microsoft Azure consumption,1\n" +
            $"{pcGuid},{t},Contoso,4000001,,{s1},3/1/2026 12:00:00 AM,3/31/2026 11:59:59 PM,Minecraft Education,3\n";
        var result = await Ingest(FeedSource.Csp, "recon-export.csv", csv);

        Assert.Equal(4, result.RowsTotal);
        Assert.Equal(3, result.RowsAccepted);
        var rejected = Assert.Single(await Rejected(result.IngestionId));
        Assert.Equal(5, rejected.GetInt64("line"));
        Assert.Contains("ProductName", rejected.GetString("reason"));
        Assert.Contains("Minecraft Education", rejected.GetString("reason"));

        var stored = await AssociationsOf(result.IngestionId);
        Assert.Equal(4, stored.Count);
        Assert.All(stored, a => Assert.Equal(AssociationSource.Csp, a.Source));
        Assert.All(stored, a => Assert.Equal(Guid.Parse(t), a.CustomerTenantId));
        // Line 2: provider + indirect reseller, Microsoft 365 → the four productivity workloads, for the charge period.
        var m365 = stored.Where(a => a.SubscriptionId == Guid.Parse(s1)).ToList();
        Assert.Equal([4000001L, 4000009L], m365.Select(a => a.PartnerId).Order());
        Assert.All(m365, a => Assert.Equal("Exchange;OneDrive;SharePoint;Teams", a.Workloads.ToString()));
        Assert.All(m365, a => Assert.Equal(new DateOnly(2026, 3, 31), a.ValidTo));
        // Lines 3-4: reseller 0 or equal to MpnId means no reseller.
        var azure = stored.Where(a => a.SubscriptionId == Guid.Parse(s2)).ToList();
        Assert.Equal(2, azure.Count);
        Assert.All(azure, a => Assert.Equal(4000001, a.PartnerId));
        Assert.All(azure, a => Assert.Equal("Azure", a.Workloads.ToString()));
    }

    [Fact]
    public async Task A_reconciliation_export_without_MpnId_names_what_is_missing()
    {
        var result = await Ingest(FeedSource.Csp, "recon-no-customer.csv",
            "PartnerId,MpnId,SubscriptionId,ChargeStartDate\n");
        Assert.Equal(IngestionStatus.Failed, result.Status);
        Assert.Contains("CustomerId", result.Error);
        Assert.Contains("ProductName", result.Error);
        Assert.Contains("reconciliation", result.Error);
    }

    [Fact]
    public async Task The_same_file_twice_is_a_duplicate_and_changes_nothing()
    {
        var t = NewId();
        var content = "customerTenantId,partnerId,program,validFrom,validTo,subscriptionId,agreementId\n" +
                      $"{t},5000001,EA,2025-07-01,,,EA-778899\n" +
                      $"{t},5000002,Open,2026-01-01,2026-12-31,{NewId()},\n" +
                      $"{t},5000003,Retail,2026-01-01,,,\n";
        var first = await Ingest(FeedSource.Sales, "sales-a.csv", content);
        Assert.Equal(IngestionStatus.CompletedWithRejections, first.Status);
        var snapshotBefore = await azurite.Storage.LatestRecordsAsync();
        var before = await snapshotBefore.EverythingAsync();
        var rejectedBefore = (await azurite.Storage.AllAsync(TableNames.RejectedRecords)).Count;

        var second = await Ingest(FeedSource.Sales, "sales-a-again.csv", content);

        Assert.Equal(IngestionStatus.Duplicate, second.Status);
        Assert.Equal(first.IngestionId, second.DuplicateOf);
        Assert.Equal(first.ContentSha256, second.ContentSha256);
        Assert.Contains(first.IngestionId, second.Error);
        var snapshotAfter = await azurite.Storage.LatestRecordsAsync();
        Assert.Equal(snapshotBefore.Version, snapshotAfter.Version); // no commit at all
        Assert.Equal(before, await snapshotAfter.EverythingAsync());
        Assert.Equal(rejectedBefore, (await azurite.Storage.AllAsync(TableNames.RejectedRecords)).Count);
        var ingestions = await azurite.Storage.AllAsync(TableNames.FeedIngestions, "sales");
        Assert.Contains(ingestions, e => e.RowKey == second.IngestionId && e.GetString("status") == "Duplicate");
    }

    [Fact]
    public async Task A_corrected_usage_file_restates_values_in_place()
    {
        var t = NewId();
        var s = NewId();
        var original = await Ingest(FeedSource.Usage, "usage-jan.csv",
            "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" +
            $"{t},{s},Azure,2026-01,1000,\n{t},{s},Teams,2026-01,,40\n");
        var corrected = await Ingest(FeedSource.Usage, "usage-jan-corrected.csv",
            "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" +
            $"{t},{s},Azure,2026-01,1250.75,\n");

        Assert.Equal(IngestionStatus.Succeeded, original.Status);
        Assert.Equal(IngestionStatus.Succeeded, corrected.Status);
        var rows = (await azurite.Storage.TenantAsync(Guid.Parse(t))).Usage;
        Assert.Equal(2, rows.Count);
        var azure = rows.Single(u => u.Workload == Workload.Azure);
        Assert.Equal(1250.75, azure.ConsumedRevenueUsd);
        Assert.Equal(corrected.IngestionId, azure.Lineage.IngestionId);
        Assert.Equal(40, rows.Single(u => u.Workload == Workload.Teams).ActiveUsers);
    }

    [Fact]
    public async Task A_later_association_row_with_the_same_key_sets_the_end_date()
    {
        var t = NewId();
        await Ingest(FeedSource.FastTrack, "ft-1.csv", $"customerTenantId,partnerId,workloads,engagementStart,engagementEnd\n{t},6000001,Teams|SharePoint,2026-01-01,\n");
        await Ingest(FeedSource.FastTrack, "ft-2.csv", $"customerTenantId,partnerId,workloads,engagementStart,engagementEnd\n{t},6000001,SharePoint;Microsoft Teams,2026-01-01,2026-04-30\n");
        var only = Assert.Single((await azurite.Storage.TenantAsync(Guid.Parse(t))).Associations);
        Assert.Equal(new DateOnly(2026, 4, 30), only.ValidTo);
    }

    [Fact]
    public async Task Every_value_rule_violation_is_rejected_with_the_column_and_problem()
    {
        var t = NewId();
        var s = NewId();
        var rows = new (string Row, string Expected)[]
        {
            ($"{t},{s},Azure,2026-01,-5,", "consumedRevenueUsd: '-5' is negative"),
            ($"{t},{s},Azure,2026-01,1.234,56,", "has 7 field(s)"),
            ($"{t},{s},Azure,2026-01,,", "at least one of the two"),
            ($"{t},{s},Minecraft,2026-01,1,", "workload: 'Minecraft' is not a known workload"),
            ($"{t},{s},Azure,2026-1,1,", "month: '2026-1' is not a month"),
            ($"{t},{s},Azure,2026-01,,2.5", "activeUsers: '2.5' is not a whole number"),
            ($"{t},zzz,Azure,2026-01,1,", "subscriptionId: 'zzz' is not a GUID"),
            ($",{s},Azure,2026-01,1,", "customerTenantId: required value is missing"),
            ($"{t},{s},Azure,2026-01,1,2", ""),
        };
        var csv = "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" + string.Join("\n", rows.Select(r => r.Row)) + "\n";
        var result = await Ingest(FeedSource.Usage, "usage-rules.csv", csv);

        Assert.Equal(rows.Length, result.RowsTotal);
        Assert.Equal(1, result.RowsAccepted);
        AssertCountsAddUp(result);
        var rejected = (await Rejected(result.IngestionId)).ToDictionary(r => r.GetInt64("line")!.Value, r => r.GetString("reason")!);
        for (var i = 0; i < rows.Length - 1; i++) Assert.Contains(rows[i].Expected, rejected[i + 2]);
        Assert.False(rejected.ContainsKey(rows.Length + 1));
    }

    [Fact]
    public async Task End_dates_before_start_dates_and_bad_actions_are_rejected()
    {
        var t = NewId();
        var result = await Ingest(FeedSource.Csp, "csp-dates.csv",
            "customerTenantId,subscriptionId,partnerId,validFrom,validTo,resellerPartnerId,workloads\n" +
            $"{t},{NewId()},7000001,2026-05-01,2026-04-30,,\n" +
            $"{t},{NewId()},7000001,2026-05-01,2026-05-01,7000002,Azure\n");
        Assert.Equal(1, result.RowsAccepted);
        Assert.Contains("validTo: 2026-04-30 is before validFrom 2026-05-01", Assert.Single(await Rejected(result.IngestionId)).GetString("reason"));
        // A one-day association is fine (end dates are inclusive), and the reseller is credited too.
        Assert.Equal(2, (await AssociationsOf(result.IngestionId)).Count);

        var dpor = await Ingest(FeedSource.Dpor, "dpor-action.csv",
            $"subscriptionId,customerTenantId,partnerId,effectiveDate,action\n{NewId()},{t},7000003,2026-01-01,transfer\n");
        Assert.Contains("action: 'transfer' is not an action", Assert.Single(await Rejected(dpor.IngestionId)).GetString("reason"));
    }

    [Fact]
    public async Task Gzip_files_are_read_as_streams_and_a_corrupt_gzip_fails_as_a_whole()
    {
        var t = NewId();
        var path = Path.Combine(_dir, "usage", "usage-2026.csv.gz");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using (var file = File.Create(path))
        await using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        await using (var w = new StreamWriter(gz))
        {
            await w.WriteLineAsync("customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers");
            for (var m = 1; m <= 12; m++) await w.WriteLineAsync($"{t},{NewId()},Azure,2025-{m:D2},{m * 10},");
        }
        var ok = await _ingestor.IngestFileAsync(path, FeedSource.Usage);
        Assert.Equal(IngestionStatus.Succeeded, ok.Status);
        Assert.Equal(12, ok.RowsAccepted);

        var bad = Path.Combine(_dir, "usage", "broken.csv.gz");
        await File.WriteAllBytesAsync(bad, [.. (await File.ReadAllBytesAsync(path)).Take(40), .. new byte[200]]);
        var failed = await _ingestor.IngestFileAsync(bad, FeedSource.Usage);
        Assert.Equal(IngestionStatus.Failed, failed.Status);
        Assert.Contains("cannot be read", failed.Error);
        Assert.Empty(await Rejected(failed.IngestionId));
    }

    [Fact]
    public async Task Raw_text_of_a_rejected_row_is_cut_to_1_KB()
    {
        var longName = new string('x', 5000);
        var result = await Ingest(FeedSource.Partners, "partners-long.csv", $"partnerId,partnerName\nabc,{longName}\n");
        var rejected = Assert.Single(await Rejected(result.IngestionId));
        Assert.Equal(1024, rejected.GetString("raw")!.Length);
        Assert.Equal("partners", rejected.GetString("source"));
    }

    [Fact]
    public async Task An_ingestion_interrupted_part_way_and_run_again_stores_exactly_what_a_clean_run_stores()
    {
        const int Rows = 8000;
        const string Marker = "-0001-0002-0102-"; // in every tenant id of this test
        var content = new StringBuilder("customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n");
        var rng = new Random(7);
        for (var i = 0; i < Rows; i++)
        {
            var tenant = new Guid(i, 1, 2, [1, 2, 3, 4, 5, 6, 7, (byte)(i % 250)]);
            content.Append(System.Globalization.CultureInfo.InvariantCulture, $"{tenant},{new Guid(i, 3, 4, [9, 9, 9, 9, 9, 9, 9, 9])},Azure,2026-0{1 + i % 9},{rng.Next(1, 9999)}.5,\n");
            if (i % 500 == 0) content.Append("garbage,row,with,too,few\n");
        }
        var path = TestPaths.WriteFeed(_dir, "usage", "big-usage.csv", content.ToString());
        var bytes = new FileInfo(path).Length;

        // A clean run into its own emulator is the reference.
        await using var reference = await AzuriteHost.StartAsync(new() { InMemory = true });
        var referenceStorage = StorageAccount.FromConnectionString(reference.ConnectionString);
        var clean = await referenceStorage.Create<FeedIngestor>(CreditRulesLoader.Default).IngestFileAsync(path, FeedSource.Usage);

        // The crash: the second pass's stream dies two thirds of the way through. A small buffer cap makes the
        // writer spill segment parts before that, so there is really something written and not committed.
        var crashing = azurite.Storage.Create<FeedIngestor>(CreditRulesLoader.Default).With(i => i.RecordOptions = RecordStoreOptions.Default with { MaxBufferedRows = 1000 });
        var before = await azurite.Storage.LatestRecordsAsync();
        var opens = 0;
        await Assert.ThrowsAsync<IOException>(() => crashing.IngestAsync(FeedSource.Usage, "big-usage.csv", _ =>
        {
            Stream s = File.OpenRead(path);
            return Task.FromResult(++opens == 2 ? new FailingStream(s, bytes * 2 / 3) : s);
        }));
        var attempts = await azurite.Storage.AllAsync(TableNames.FeedIngestions, "usage");
        var failedAttempt = attempts.Single(e => e.GetString("fileName") == "big-usage.csv");
        Assert.Equal("Failed", failedAttempt.GetString("status"));
        Assert.Contains("ingest the file again", failedAttempt.GetString("error"), StringComparison.OrdinalIgnoreCase);
        // Segments were written (fault injected part-way), but none is visible: nothing was committed.
        Assert.NotEmpty(await SegmentBlobsOf(failedAttempt.RowKey));
        var afterCrash = await azurite.Storage.LatestRecordsAsync();
        Assert.Equal(before.Version, afterCrash.Version);
        Assert.DoesNotContain(await afterCrash.AllUsageAsync(), u => u.CustomerTenantId.ToString().Contains(Marker, StringComparison.Ordinal));

        var rerun = await _ingestor.IngestFileAsync(path, FeedSource.Usage);

        Assert.Equal(IngestionStatus.CompletedWithRejections, rerun.Status); // not a Duplicate: the first attempt never completed
        Assert.Equal(clean.RowsTotal, rerun.RowsTotal);
        Assert.Equal(clean.RowsAccepted, rerun.RowsAccepted);
        Assert.Equal(clean.RowsRejected, rerun.RowsRejected);
        var expected = (await (await referenceStorage.LatestRecordsAsync()).AllUsageAsync()).Select(u => RecordReads.Canonical(u, ingestion: false)).Order().ToList();
        var actual = (await (await azurite.Storage.LatestRecordsAsync()).AllUsageAsync())
            .Where(u => u.CustomerTenantId.ToString().Contains(Marker, StringComparison.Ordinal))
            .Select(u => RecordReads.Canonical(u, ingestion: false)).Order().ToList();
        Assert.Equal(Rows, expected.Count);
        Assert.Equal(expected, actual);
        Assert.All(await UsageOf(rerun.IngestionId), u => Assert.Equal(rerun.StartedAt, u.Lineage.IngestedAt));
    }

    /// <summary>Segment blobs an attempt wrote (committed or not): only for tests that inject a fault.</summary>
    private async Task<List<string>> SegmentBlobsOf(string ingestionId)
    {
        var names = new List<string>();
        await foreach (var blob in azurite.Storage.Blobs.GetBlobContainerClient(TableNames.RecordsContainer).GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "usage/", default))
            if (blob.Name.Contains("/" + ingestionId + "-", StringComparison.Ordinal)) names.Add(blob.Name);
        return names;
    }

    [Fact]
    public async Task Batches_never_exceed_100_operations_or_4_MiB_even_when_azurite_would_accept_them()
    {
        var writer = new TableBatchWriter(azurite.Storage.Table(TableNames.RejectedRecords));
        var partition = "batch-" + Guid.NewGuid().ToString("N");
        var big = new string('y', 30_000); // ~90 KB estimated each: 100 of them would be ~9 MiB
        for (var i = 0; i < 250; i++)
            await writer.UpsertAsync(new TableEntity(partition, i.ToString("D10", System.Globalization.CultureInfo.InvariantCulture)) { ["raw"] = big });
        await writer.FlushAsync();

        Assert.Equal(250, writer.Written);
        Assert.True(writer.LargestBatchBytes < TableBatchWriter.MaxBatchBytes, $"largest batch {writer.LargestBatchBytes} bytes");
        Assert.True(writer.Batches >= 250 * 90_000 / TableBatchWriter.MaxBatchBytes, $"{writer.Batches} batches");
        Assert.Equal(250, (await azurite.Storage.AllAsync(TableNames.RejectedRecords, partition)).Count);

        var small = new TableBatchWriter(azurite.Storage.Table(TableNames.RejectedRecords));
        var p2 = "batch-" + Guid.NewGuid().ToString("N");
        for (var i = 0; i < 250; i++) await small.UpsertAsync(new TableEntity(p2, i.ToString("D10", System.Globalization.CultureInfo.InvariantCulture)));
        await small.FlushAsync();
        Assert.Equal(3, small.Batches); // 100 + 100 + 50
    }

    /// <summary>Simulates a crash: the stream breaks after a number of bytes.</summary>
    private sealed class FailingStream(Stream inner, long failAfter) : Stream
    {
        private long _read;
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_read >= failAfter) throw new IOException("simulated crash");
            var n = inner.Read(buffer, offset, (int)Math.Min(count, failAfter - _read));
            _read += n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => _read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
