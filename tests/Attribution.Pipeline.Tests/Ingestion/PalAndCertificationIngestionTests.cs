using System.Globalization;
using System.Text;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attribution.Pipeline.Tests.Ingestion;

/// <summary>
/// The `pal` and `certifications` feeds through files (FeedIngestor) and Service Bus messages (FeedMessageHandler),
/// against a real Azurite: rejects with line and reason, latest wins by natural key (§2.4), certifications as
/// partner-level segments read at a records version.
/// </summary>
public sealed class PalAndCertificationIngestionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const string PalHeader = "customerTenantId,partnerId,linkedOn,unlinkedOn,subscriptionId,workloads\n";
    private const string CertHeader = "partnerId,personId,certification,earnedOn,expiresOn\n";
    private readonly string _dir = TestPaths.NewTempDirectory();

    private FeedIngestor Ingestor(RecordStoreOptions? options = null) =>
        azurite.Storage.Create<FeedIngestor>(CreditRulesLoader.Default).With(i => i.RecordOptions = options ?? RecordStoreOptions.Default);

    private async Task<FeedIngestionResult> Ingest(FeedSource source, string content, RecordStoreOptions? options = null)
    {
        var result = await Ingestor(options).IngestFileAsync(TestPaths.WriteFeed(_dir, source.Name(), $"{source.Name()}-{Guid.NewGuid():N}.csv", content), source);
        Assert.Equal(result.RowsTotal, result.RowsAccepted + result.RowsRejected);
        return result;
    }

    private async Task<List<TableEntity>> Rejected(string ingestionId) =>
        (await azurite.Storage.AllAsync(TableNames.RejectedRecords, ingestionId)).OrderBy(e => e.GetInt64("line")).ToList();

    /// <summary>Partner IDs no other test of the class uses, so each test reads only its own certifications.</summary>
    private static long NewPartner() => 9_000_000_000L + Random.Shared.NextInt64(900_000_000L);

    private async Task<List<CertificationRecord>> CertificationsOf(long partner, long? atVersion = null)
    {
        var store = azurite.Storage.Get<RecordStore>();
        var snapshot = atVersion is { } v ? await store.AtAsync(v) : await store.LatestAsync();
        return (await snapshot.AllCertificationsAsync()).Where(c => c.PartnerId == partner).ToList();
    }

    [Fact]
    public async Task A_pal_file_stores_associations_and_rejects_bad_rows_with_line_and_reason()
    {
        var tenant = Guid.NewGuid();
        var sub = Guid.NewGuid();
        var result = await Ingest(FeedSource.Pal, PalHeader +
            $"{tenant},4567890,2025-02-01,,,\n" +
            $"{tenant},4567890,2025-02-01,2025-01-31,,\n" +              // line 3: unlinked before linked
            $"{tenant},5678901,2025-05-05,2026-05-04,{sub},Azure;Dynamics 365\n" +
            $"{tenant},5678901,,,{sub},\n");                             // line 5: no linkedOn

        Assert.Equal((IngestionStatus.CompletedWithRejections, 4L, 2L, 2L), (result.Status, result.RowsTotal, result.RowsAccepted, result.RowsRejected));
        var rejected = await Rejected(result.IngestionId);
        Assert.Equal([3L, 5L], rejected.Select(r => r.GetInt64("line")!.Value).ToArray());
        Assert.Equal("unlinkedOn: 2025-01-31 is before linkedOn 2025-02-01", rejected[0].GetString("reason"));
        Assert.Equal("linkedOn: required value is missing", rejected[1].GetString("reason"));

        var stored = (await azurite.Storage.TenantAsync(tenant)).Associations.OrderBy(a => a.PartnerId).ToList();
        Assert.Equal(2, stored.Count);
        Assert.All(stored, a => Assert.Equal(AssociationSource.Pal, a.Source));
        Assert.Equal((4567890L, (Guid?)null, "", new DateOnly(2025, 2, 1), (DateOnly?)null, 2L),
            (stored[0].PartnerId, stored[0].SubscriptionId, stored[0].Workloads.ToString(), stored[0].ValidFrom, stored[0].ValidTo, stored[0].Lineage.Line));
        Assert.Equal((5678901L, (Guid?)sub, "Azure;Dynamics365", (DateOnly?)new DateOnly(2026, 5, 4), 4L),
            (stored[1].PartnerId, stored[1].SubscriptionId, stored[1].Workloads.ToString(), stored[1].ValidTo, stored[1].Lineage.Line));
    }

    [Fact]
    public async Task A_later_pal_row_with_the_same_key_sets_the_unlink_date()
    {
        var tenant = Guid.NewGuid();
        var sub = Guid.NewGuid();
        await Ingest(FeedSource.Pal, PalHeader +
            $"{tenant},4567890,2025-02-01,,{sub},Azure\n" +
            $"{tenant},4567890,2025-02-01,,{sub},\n");  // another key: workloads differ
        await Ingest(FeedSource.Pal, PalHeader +
            $"{tenant},4567890,2025-02-01,2026-03-31,{sub.ToString().ToUpperInvariant()},Microsoft Azure\n");

        var stored = (await azurite.Storage.TenantAsync(tenant)).Associations;
        Assert.Equal(2, stored.Count);
        Assert.Equal(new DateOnly(2026, 3, 31), Assert.Single(stored, a => !a.Workloads.IsEmpty).ValidTo);
        Assert.Null(Assert.Single(stored, a => a.Workloads.IsEmpty).ValidTo);
    }

    [Fact]
    public async Task A_certifications_file_stores_partner_level_records_and_rejects_bad_rows_with_line_and_reason()
    {
        var partner = NewPartner();
        var result = await Ingest(FeedSource.Certifications, CertHeader +
            $"{partner},p-001,az-104,2025-04-02,2026-04-01\n" +
            $"{partner},p-001,AZ 104,2025-04-02,\n" +                          // line 3: a space in the code
            $"{partner},p-002,SC-300,2025-06-01,2025-05-31\n" +                // line 4: expires before earned
            $"{partner},\"p\u0001\",AZ-900,2025-06-01,\n" +                    // line 5: a control character
            $"{partner},{new string('x', 65)},AZ-900,2025-06-01,\n" +         // line 6: 65 characters
            $"{partner},P-001,ms-900,2024-01-15,\n");

        Assert.Equal((6L, 2L, 4L), (result.RowsTotal, result.RowsAccepted, result.RowsRejected));
        var rejected = await Rejected(result.IngestionId);
        Assert.Equal([3L, 4L, 5L, 6L], rejected.Select(r => r.GetInt64("line")!.Value).ToArray());
        Assert.StartsWith("certification: 'AZ 104' is not a certification code", rejected[0].GetString("reason"));
        Assert.Equal("expiresOn: 2025-05-31 is before earnedOn 2025-06-01", rejected[1].GetString("reason"));
        Assert.Equal("personId: 'p\\x01' contains a control character", rejected[2].GetString("reason"));
        Assert.StartsWith("personId: ", rejected[3].GetString("reason"));
        Assert.EndsWith("is longer than 64 characters", rejected[3].GetString("reason"));

        // Sorted by the natural key; person IDs compare exactly ("P-001" before "p-001"); codes upper-case.
        var stored = await CertificationsOf(partner);
        Assert.Equal(new (string, string, DateOnly, DateOnly?, long)[] { ("P-001", "MS-900", new DateOnly(2024, 1, 15), null, 7L), ("p-001", "AZ-104", new DateOnly(2025, 4, 2), new DateOnly(2026, 4, 1), 2L) },
            stored.Select(c => (c.PersonId, c.Certification, c.EarnedOn, c.ExpiresOn, c.Lineage.Line)).ToArray());
        Assert.All(stored, c => Assert.Equal(result.IngestionId, c.Lineage.IngestionId));
    }

    [Fact]
    public async Task Certifications_latest_wins_by_partner_person_code_and_earned_date_across_files_lines_and_compaction()
    {
        var partner = NewPartner();
        var first = await Ingest(FeedSource.Certifications, CertHeader +
            $"{partner},ana,AZ-104,2025-04-02,\n" +
            $"{partner},ana,AZ-104,2023-04-02,2024-04-01\n" +  // an earlier earning of the same code: its own key
            $"{partner},Ana,AZ-104,2025-04-02,\n" +            // another person (case-sensitive)
            $"{partner},bo,DP-600,2025-01-10,2026-01-09\n" +
            $"{partner},bo,dp-600,2025-01-10,2026-01-31\n");   // same key as line 5 (codes ignore case): the later line wins
        var second = await Ingest(FeedSource.Certifications, CertHeader +
            $"{partner},ana,az-104,2025-04-02,2026-04-01\n");  // restates line 2 of the first file: sets its expiry
        Assert.Equal(IngestionStatus.Succeeded, second.Status);

        var expected = new[]
        {
            ("Ana", "AZ-104", "2025-04-02", "", first.IngestionId, 4L),
            ("ana", "AZ-104", "2023-04-02", "2024-04-01", first.IngestionId, 3L),
            ("ana", "AZ-104", "2025-04-02", "2026-04-01", second.IngestionId, 2L),
            ("bo", "DP-600", "2025-01-10", "2026-01-31", first.IngestionId, 6L),
        };
        static (string, string, string, string, string, long) View(CertificationRecord c) => (c.PersonId, c.Certification,
            c.EarnedOn.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), c.ExpiresOn?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "",
            c.Lineage.IngestionId, c.Lineage.Line);
        Assert.Equal(expected, (await CertificationsOf(partner)).Select(View).ToArray());

        await new RecordCompactor(azurite.Storage, RecordStoreOptions.Default, TimeProvider.System, NullLogger.Instance).CompactAsync(all: true);
        var latest = await azurite.Storage.Get<RecordStore>().LatestAsync();
        Assert.Single(latest.Segments(RecordKind.Certifications, -1));
        Assert.Equal(expected, (await CertificationsOf(partner)).Select(View).ToArray());
    }

    [Fact]
    public async Task A_records_version_reads_the_certifications_committed_up_to_it()
    {
        var partner = NewPartner();
        await Ingest(FeedSource.Certifications, CertHeader + $"{partner},ana,AZ-104,2025-04-02,\n");
        var version = (await azurite.Storage.Get<RecordStore>().LatestAsync()).Version;
        await Ingest(FeedSource.Certifications, CertHeader + $"{partner},ana,AZ-104,2025-04-02,2026-04-01\n{partner},bo,AZ-900,2025-01-01,\n");

        Assert.Equal(new (string, DateOnly?)[] { ("ana", null) }, (await CertificationsOf(partner, version)).Select(c => (c.PersonId, c.ExpiresOn)).ToArray());
        Assert.Equal(new (string, DateOnly?)[] { ("ana", new DateOnly(2026, 4, 1)), ("bo", null) }, (await CertificationsOf(partner)).Select(c => (c.PersonId, c.ExpiresOn)).ToArray());
    }

    [Fact]
    public async Task Many_certifications_in_several_parts_and_row_groups_merge_in_key_order_with_the_later_line_winning()
    {
        var partner = NewPartner();
        // Parts of 40 rows and row groups of 7: equal keys land in different parts of one ingestion.
        var options = RecordStoreOptions.Default with { MaxBufferedRows = 40, RowGroupRows = 7 };
        var sb = new StringBuilder(CertHeader);
        var expected = new SortedDictionary<(string Person, int Code), (int Line, string Expires)>();
        var line = 1;
        for (var round = 0; round < 3; round++)
        {
            for (var person = 0; person < 30; person++)
            {
                for (var code = 0; code < 3; code++)
                {
                    line++;
                    var expires = $"2027-0{round + 1}-{person % 28 + 1:D2}";
                    var p = $"person-{person:D3}";
                    sb.Append(CultureInfo.InvariantCulture, $"{partner},{p},CODE-{code},2025-01-01,{expires}\n");
                    expected[(p, code)] = (line, expires); // the later line of the same key wins
                }
            }
        }
        var result = await Ingest(FeedSource.Certifications, sb.ToString(), options);
        Assert.Equal(270, result.RowsAccepted);

        var stored = await CertificationsOf(partner);
        Assert.Equal(expected.Select(e => ($"{e.Key.Person}", $"CODE-{e.Key.Code}", e.Value.Expires, (long)e.Value.Line)).ToArray(),
            stored.Select(c => (c.PersonId, c.Certification, c.ExpiresOn!.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), c.Lineage.Line)).ToArray());
    }

    [Fact]
    public async Task Pal_and_certification_messages_are_stored_like_their_files()
    {
        var handler = azurite.Storage.Create<FeedMessageHandler>(CreditRulesLoader.Default);
        var tenant = Guid.NewGuid();
        var sub = Guid.NewGuid();
        var pal = new FeedMessage("msg-" + Guid.NewGuid().ToString("N"), BinaryData.FromString($$"""
            [
              {"customerTenantId":"{{tenant}}","partnerId":4567890,"linkedOn":"2025-02-01"},
              {"customerTenantId":"{{tenant}}","partnerId":"5678901","linkedOn":"2025-03-01","unlinkedOn":null,"subscriptionId":"{{sub}}","workloads":"Azure|Intune"},
              {"customerTenantId":"{{tenant}}","partnerId":5678901,"linkedOn":"2025-03-01","unlinkedOn":"2025-02-28"}
            ]
            """), new Dictionary<string, object> { ["source"] = "PAL" });
        var settlement = await handler.HandleAsync(pal, default);

        Assert.Equal(SettlementAction.Complete, settlement.Action);
        Assert.Equal((FeedSource.Pal, 3L, 2L, 1L), (settlement.Result!.Source, settlement.Result.RowsTotal, settlement.Result.RowsAccepted, settlement.Result.RowsRejected));
        var rejected = Assert.Single(await Rejected(pal.MessageId));
        Assert.Equal((3L, "unlinkedOn: 2025-02-28 is before linkedOn 2025-03-01"), (rejected.GetInt64("line")!.Value, rejected.GetString("reason")));
        var stored = (await azurite.Storage.TenantAsync(tenant)).Associations.OrderBy(a => a.PartnerId).ToList();
        Assert.Equal(new (long, Guid?, string)[] { (4567890L, null, ""), (5678901L, sub, "Azure;Intune") },
            stored.Select(a => (a.PartnerId, a.SubscriptionId, a.Workloads.ToString())).ToArray());
        Assert.All(stored, a => Assert.Equal((AssociationSource.Pal, pal.MessageId), (a.Source, a.Lineage.IngestionId)));

        var partner = NewPartner();
        var certs = new FeedMessage("msg-" + Guid.NewGuid().ToString("N"), BinaryData.FromString(
            $$"""{"partnerId":{{partner}},"personId":" 00042 ","certification":"az-305","earnedOn":"2025-07-01T10:00:00Z","expiresOn":"2026-07-01"}"""),
            new Dictionary<string, object> { ["source"] = "certifications" });
        settlement = await handler.HandleAsync(certs, default);

        Assert.Equal((SettlementAction.Complete, IngestionStatus.Succeeded), (settlement.Action, settlement.Result!.Status));
        var c = Assert.Single(await CertificationsOf(partner));
        Assert.Equal(("00042", "AZ-305", new DateOnly(2025, 7, 1), (DateOnly?)new DateOnly(2026, 7, 1), certs.MessageId, 1L),
            (c.PersonId, c.Certification, c.EarnedOn, c.ExpiresOn, c.Lineage.IngestionId, c.Lineage.Line));
    }
}
