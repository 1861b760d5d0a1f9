using System.Security.Cryptography;
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

/// <summary>Service Bus feed messages (§2.5): settlement decisions and what each one stores, against a real Azurite.</summary>
public sealed class FeedMessageHandlerTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly FeedMessageHandler _handler = azurite.Storage.Create<FeedMessageHandler>(CreditRulesLoader.Default);

    private static string NewId() => Guid.NewGuid().ToString("D");

    /// <summary>A received message with the application property `source` (left out when null).</summary>
    private static FeedMessage WithSource(BinaryData body, object? source, string? messageId = null)
    {
        var properties = new Dictionary<string, object>();
        if (source is not null) properties["source"] = source;
        return new FeedMessage(messageId ?? "msg-" + Guid.NewGuid().ToString("N"), body, properties);
    }

    private static FeedMessage Message(BinaryData body, string source = "usage", string? messageId = null) =>
        WithSource(body, source, messageId);

    private static FeedMessage Message(string body, string source = "usage", string? messageId = null) =>
        WithSource(BinaryData.FromString(body), source, messageId);

    private static string Usage(string tenant, string subscription, string workload = "Azure", string month = "2026-01", double revenue = 100) =>
        $$"""{"customerTenantId":"{{tenant}}","subscriptionId":"{{subscription}}","workload":"{{workload}}","month":"{{month}}","consumedRevenueUsd":{{revenue.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}""";

    private static async Task<List<UsageRecord>> UsageOf(StorageAccount storage, string tenant) =>
        (await storage.TenantAsync(Guid.Parse(tenant))).Usage;

    private static async Task<List<TableEntity>> Rejected(StorageAccount storage, string ingestionId) =>
        await storage.AllAsync(TableNames.RejectedRecords, ingestionId);

    private static async Task<TableEntity?> IngestionRow(StorageAccount storage, string source, string messageId) =>
        (await storage.AllAsync(TableNames.FeedIngestions, source)).SingleOrDefault(e => e.RowKey == messageId);

    private async Task AssertNothingWritten(string source, string messageId)
    {
        Assert.Null(await IngestionRow(azurite.Storage, source, messageId));
        Assert.Empty(await Rejected(azurite.Storage, messageId));
        Assert.DoesNotContain(messageId, await (await azurite.Storage.LatestRecordsAsync()).IngestionIdsAsync());
    }

    private static void AssertCountsAddUp(FeedIngestionResult r) => Assert.Equal(r.RowsTotal, r.RowsAccepted + r.RowsRejected);

    [Fact]
    public async Task A_record_with_a_duplicate_field_is_rejected_naming_both_like_a_jsonl_line()
    {
        var t = NewId();
        var s = NewId();
        var duplicate = $$"""{"customerTenantId":"{{t}}","subscriptionId":"{{s}}","workload":"Azure","month":"2026-02","consumedRevenueUsd":1,"Consumed Revenue USD":2}""";
        var message = Message($"[{Usage(t, s)},{duplicate}]");

        var settlement = await _handler.HandleAsync(message, default);

        Assert.Equal(SettlementAction.Complete, settlement.Action);
        Assert.Equal((2, 1, 1), (settlement.Result!.RowsTotal, settlement.Result.RowsAccepted, settlement.Result.RowsRejected));
        var rejected = Assert.Single(await Rejected(azurite.Storage, message.MessageId));
        Assert.Equal(2, rejected.GetInt64("line"));
        Assert.StartsWith("Consumed Revenue USD: duplicate of field 'consumedRevenueUsd'", rejected.GetString("reason"));
        Assert.Equal("2026-01", Assert.Single(await UsageOf(azurite.Storage, t)).Month.ToString());
    }

    [Fact]
    public async Task A_single_record_is_stored_as_line_1_of_an_ingestion_named_by_the_MessageId()
    {
        var t = NewId();
        var s = NewId();
        var body = Usage(t, s, revenue: 12.5);
        var message = Message(body);

        var settlement = await _handler.HandleAsync(message, default);

        Assert.Equal(SettlementAction.Complete, settlement.Action);
        Assert.False(settlement.AlreadyIngested);
        var result = settlement.Result!;
        Assert.Equal(message.MessageId, result.IngestionId);
        Assert.Equal(IngestionStatus.Succeeded, result.Status);
        Assert.Equal((1, 1, 0), (result.RowsTotal, result.RowsAccepted, result.RowsRejected));
        var stored = Assert.Single(await UsageOf(azurite.Storage, t));
        Assert.Equal(12.5, stored.ConsumedRevenueUsd);
        Assert.Equal(message.MessageId, stored.Lineage.IngestionId);
        Assert.Equal(1, stored.Lineage.Line);
        Assert.Contains(message.MessageId, await (await azurite.Storage.LatestRecordsAsync()).IngestionIdsAsync());

        var row = await azurite.Storage.Get<IngestionStore>().GetAsync(FeedSource.Usage, message.MessageId, default);
        Assert.NotNull(row);
        Assert.Equal(IngestionStatus.Succeeded, row.Status);
        Assert.Equal("message:" + message.MessageId, row.FileName);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body))), row.ContentSha256);
        Assert.NotNull(row.CompletedAt);
    }

    [Fact]
    public async Task An_array_of_records_is_stored_with_lines_numbered_by_array_position()
    {
        var t = NewId();
        var s = NewId();
        var body = $$"""
            [
              {"customerTenantId":"{{t}}","partnerId":"0008000001","workloads":"Exchange Online;Teams","grantedOn":"2026-01-15"},
              {"Customer Tenant ID":"{{t}}","partner_id":8000002,"workloads":"Intune","grantedOn":"1/20/2026 12:00:00 AM","revokedOn":null,"note":"ignored"},
              {"customerTenantId":"{{t}}","partnerId":8000003,"workloads":"Azure","grantedOn":"2026-02-01","revokedOn":"2026-06-30"}
            ]
            """;
        var settlement = await _handler.HandleAsync(Message(body, "dap"), default);

        Assert.Equal(SettlementAction.Complete, settlement.Action);
        Assert.Equal(IngestionStatus.Succeeded, settlement.Result!.Status);
        Assert.Equal((3, 3, 0), (settlement.Result.RowsTotal, settlement.Result.RowsAccepted, settlement.Result.RowsRejected));
        var stored = (await azurite.Storage.TenantAsync(Guid.Parse(t))).Associations;
        Assert.Equal(3, stored.Count);
        Assert.All(stored, a => Assert.Equal(AssociationSource.Dap, a.Source));
        var byPartner = stored.ToDictionary(a => a.PartnerId);
        Assert.Equal(1, byPartner[8000001].Lineage.Line);
        Assert.Equal("Exchange;Teams", byPartner[8000001].Workloads.ToString());
        Assert.Equal(2, byPartner[8000002].Lineage.Line);
        Assert.Equal(new DateOnly(2026, 1, 20), byPartner[8000002].ValidFrom);
        Assert.Equal(3, byPartner[8000003].Lineage.Line);
        Assert.Equal(new DateOnly(2026, 6, 30), byPartner[8000003].ValidTo);
    }

    [Fact]
    public async Task Invalid_rows_in_a_valid_array_are_rejected_with_their_position_and_the_message_completes()
    {
        var t = NewId();
        var s = NewId();
        var elements = new[]
        {
            Usage(t, s, "Azure"),                                                                     // 1: accepted
            $$"""{"customerTenantId":"{{t}}","subscriptionId":"zzz","workload":"Azure","month":"2026-01","activeUsers":3}""", // 2
            "42",                                                                                     // 3: not an object
            $$"""{"customerTenantId":"{{t}}","subscriptionId":"{{s}}","workload":["Azure"],"month":"2026-01","activeUsers":3}""", // 4
            $$"""{"customerTenantId":"{{t}}","subscriptionId":"{{s}}","workload":"Teams","month":"2026-01"}""", // 5: neither amount
            Usage(t, s, "Microsoft Teams", revenue: 7),                                               // 6: accepted
        };
        var message = Message("[" + string.Join(",\n", elements) + "]");

        var settlement = await _handler.HandleAsync(message, default);

        Assert.Equal(SettlementAction.Complete, settlement.Action);
        var result = settlement.Result!;
        Assert.Equal(IngestionStatus.CompletedWithRejections, result.Status);
        Assert.Equal((6, 2, 4), (result.RowsTotal, result.RowsAccepted, result.RowsRejected));
        AssertCountsAddUp(result);

        var rejected = (await Rejected(azurite.Storage, message.MessageId)).ToDictionary(r => r.GetInt64("line")!.Value);
        Assert.Equal([2L, 3, 4, 5], rejected.Keys.Order());
        Assert.Equal("0000000002", rejected[2].RowKey);
        Assert.Contains("subscriptionId: 'zzz' is not a GUID", rejected[2].GetString("reason"));
        Assert.Equal(elements[1], rejected[2].GetString("raw"));
        Assert.Contains("not an object (Number)", rejected[3].GetString("reason"));
        Assert.Equal("42", rejected[3].GetString("raw"));
        Assert.Contains("workload: expected a string or a number, found Array", rejected[4].GetString("reason"));
        Assert.Contains("at least one of the two", rejected[5].GetString("reason"));
        Assert.All(rejected.Values, r => Assert.Equal("usage", r.GetString("source")));

        var stored = await UsageOf(azurite.Storage, t);
        Assert.Equal(["Azure:1", "Teams:6"], stored.Select(u => $"{u.Workload}:{u.Lineage.Line}").Order());
        var row = await IngestionRow(azurite.Storage, "usage", message.MessageId);
        Assert.Equal("CompletedWithRejections", row!.GetString("status"));
        Assert.Equal(4, row.GetInt64("rowsRejected"));
    }

    public static TheoryData<string, byte[]> NotJson => new()
    {
        { "truncated", Encoding.UTF8.GetBytes("""[{"customerTenantId":"x",""") },
        { "not json at all", Encoding.UTF8.GetBytes("customerTenantId,subscriptionId\n1,2\n") },
        { "empty", [] },
        { "invalid utf-8", [(byte)'{', (byte)'"', (byte)'a', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'] },
        { "a json string", Encoding.UTF8.GetBytes("\"usage\"") },
        { "a json number", Encoding.UTF8.GetBytes("12") },
    };

    [Theory]
    [MemberData(nameof(NotJson))]
    public async Task A_body_that_is_not_a_json_record_or_array_is_dead_lettered_as_InvalidJson_and_nothing_is_written(string name, byte[] body)
    {
        var message = Message(new BinaryData(body));

        var settlement = await _handler.HandleAsync(message, default);

        Assert.Equal(SettlementAction.DeadLetter, settlement.Action);
        Assert.Equal(DeadLetterReasons.InvalidJson, settlement.DeadLetterReason);
        Assert.False(string.IsNullOrWhiteSpace(settlement.DeadLetterDescription), name);
        Assert.Null(settlement.Result);
        await AssertNothingWritten("usage", message.MessageId);
    }

    [Fact]
    public async Task A_utf8_bom_before_the_json_is_accepted()
    {
        var t = NewId();
        var message = Message(new BinaryData([.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(Usage(t, NewId()))]));
        var settlement = await _handler.HandleAsync(message, default);
        Assert.Equal(SettlementAction.Complete, settlement.Action);
        Assert.Single(await UsageOf(azurite.Storage, t));
    }

    [Theory]
    [InlineData("billing")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData(42)]
    public async Task A_message_without_a_known_source_is_dead_lettered_as_UnknownSource_and_nothing_is_written(object? source)
    {
        var t = NewId();
        var message = WithSource(BinaryData.FromString(Usage(t, NewId())), source);

        var settlement = await _handler.HandleAsync(message, default);

        Assert.Equal(SettlementAction.DeadLetter, settlement.Action);
        Assert.Equal(DeadLetterReasons.UnknownSource, settlement.DeadLetterReason);
        Assert.Contains("partners dpor sales csp fasttrack dap pal certifications usage", settlement.DeadLetterDescription);
        Assert.Empty(await UsageOf(azurite.Storage, t));
        foreach (var s in FeedSources.All) Assert.Null(await IngestionRow(azurite.Storage, s.Name(), message.MessageId));
    }

    [Fact]
    public async Task The_source_name_and_property_name_match_ignoring_case()
    {
        var t = NewId();
        var message = new FeedMessage("msg-" + Guid.NewGuid().ToString("N"), BinaryData.FromString(Usage(t, NewId())),
            new Dictionary<string, object> { ["Source"] = " Usage " });
        var settlement = await _handler.HandleAsync(message, default);
        Assert.Equal(SettlementAction.Complete, settlement.Action);
        Assert.Equal(FeedSource.Usage, settlement.Result!.Source);
    }

    [Fact]
    public async Task A_body_over_the_size_limit_is_dead_lettered_as_MessageTooLarge_and_nothing_is_written()
    {
        var t = NewId();
        var record = $$"""{"customerTenantId":"{{t}}","subscriptionId":"{{NewId()}}","workload":"Azure","month":"2026-01","activeUsers":1,"padding":"{{new string('x', 1000)}}"}""";
        var body = "[" + string.Join(",", Enumerable.Repeat(record, FeedMessageHandler.MaxBodyBytes / record.Length + 1)) + "]";
        Assert.True(Encoding.UTF8.GetByteCount(body) > FeedMessageHandler.MaxBodyBytes);
        var message = Message(body);

        var settlement = await _handler.HandleAsync(message, default);

        Assert.Equal(SettlementAction.DeadLetter, settlement.Action);
        Assert.Equal(DeadLetterReasons.MessageTooLarge, settlement.DeadLetterReason);
        Assert.Contains("bytes", settlement.DeadLetterDescription);
        await AssertNothingWritten("usage", message.MessageId);
        Assert.Empty(await UsageOf(azurite.Storage, t));
    }

    [Fact]
    public async Task More_records_than_the_limit_are_dead_lettered_as_MessageTooLarge_and_nothing_is_written()
    {
        var body = "[" + string.Join(",", Enumerable.Repeat("""{"month":"2026-01"}""", FeedMessageHandler.MaxRecords + 1)) + "]";
        Assert.True(Encoding.UTF8.GetByteCount(body) <= FeedMessageHandler.MaxBodyBytes);
        var message = Message(body);

        var settlement = await _handler.HandleAsync(message, default);

        Assert.Equal(SettlementAction.DeadLetter, settlement.Action);
        Assert.Equal(DeadLetterReasons.MessageTooLarge, settlement.DeadLetterReason);
        Assert.Contains("5,001 records", settlement.DeadLetterDescription);
        await AssertNothingWritten("usage", message.MessageId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("batch/7")]
    [InlineData("what?")]
    public async Task A_message_without_a_usable_MessageId_is_dead_lettered(string messageId)
    {
        var t = NewId();
        var message = new FeedMessage(messageId, BinaryData.FromString(Usage(t, NewId())),
            new Dictionary<string, object> { ["source"] = "usage" });

        var settlement = await _handler.HandleAsync(message, default);

        Assert.Equal(SettlementAction.DeadLetter, settlement.Action);
        Assert.Equal(DeadLetterReasons.InvalidMessageId, settlement.DeadLetterReason);
        Assert.Empty(await UsageOf(azurite.Storage, t));
    }

    [Fact]
    public async Task A_duplicate_MessageId_completes_without_changing_anything()
    {
        var t = NewId();
        var s = NewId();
        var id = "msg-" + Guid.NewGuid().ToString("N");
        var first = await _handler.HandleAsync(Message($"[{Usage(t, s, revenue: 100)}, {{\"customerTenantId\":\"bad\"}}]", messageId: id), default);
        Assert.Equal(IngestionStatus.CompletedWithRejections, first.Result!.Status);
        async Task<List<string>> Snapshot() =>
        [
            "records version " + (await azurite.Storage.LatestRecordsAsync()).Version,
            .. (await UsageOf(azurite.Storage, t)).Select(u => RecordReads.Canonical(u)),
            .. (await Rejected(azurite.Storage, id)).Select(e => e.ETag + " " + StorageReads.Canonical(e)),
            .. (await azurite.Storage.AllAsync(TableNames.FeedIngestions)).Where(e => e.RowKey == id).Select(e => e.ETag + " " + StorageReads.Canonical(e)),
        ];
        var before = await Snapshot();

        // Redelivery of the same message, and a resend with the same id but other content: both ignored.
        var again = await _handler.HandleAsync(Message($"[{Usage(t, s, revenue: 100)}, {{\"customerTenantId\":\"bad\"}}]", messageId: id), default);
        var resent = await _handler.HandleAsync(Message($"[{Usage(t, s, revenue: 999)}]", messageId: id), default);

        foreach (var settlement in new[] { again, resent })
        {
            Assert.Equal(SettlementAction.Complete, settlement.Action);
            Assert.True(settlement.AlreadyIngested);
            Assert.Equal(first.Result.IngestionId, settlement.Result!.IngestionId);
            Assert.Equal(IngestionStatus.CompletedWithRejections, settlement.Result.Status);
            Assert.Equal((2, 1, 1), (settlement.Result.RowsTotal, settlement.Result.RowsAccepted, settlement.Result.RowsRejected));
        }
        // Same ETags: not even rewritten with the same values.
        Assert.Equal(before, await Snapshot());
        Assert.Single(await azurite.Storage.AllAsync(TableNames.FeedIngestions), e => e.RowKey == id);
    }

    [Fact]
    public async Task A_storage_outage_abandons_the_message_and_redelivery_ends_with_exactly_the_clean_result()
    {
        // Its own emulator, persisted to disk so a restart keeps what was written (the shared one is in memory).
        var location = TestPaths.NewTempDirectory();
        await using var host = await AzuriteHost.StartAsync(new AzuriteHostOptions { Location = location });
        var storage = StorageAccount.FromConnectionString(host.ConnectionString, maxRetries: 1);
        await storage.EnsureCreatedAsync();

        var t = NewId();
        var s = NewId();
        // Several partitions and both tables, so a crash can land between writes.
        var elements = Enumerable.Range(1, 40).Select(i => Usage(t, NewId(), month: $"2025-{1 + i % 12:D2}", revenue: i))
            .Append("""{"customerTenantId":"nope"}""").Append("[]").Append(Usage(t, s, "Teams"));
        var body = "[" + string.Join(",", elements) + "]";

        // The reference: the same message handled by a clean run into the shared emulator.
        var cleanMessage = Message(body);
        var clean = await _handler.HandleAsync(cleanMessage, default);
        Assert.Equal(SettlementAction.Complete, clean.Action);
        var expected = await StoredAsync(azurite.Storage, t, cleanMessage.MessageId, cleanMessage.MessageId);

        // Storage down before anything is written, after the Running row, with the claim held, after the segments but
        // before the commit, and after the commit but before the final status.
        var crashPoints = new WritePhase?[] { null, WritePhase.RunningRecorded, WritePhase.Claimed, WritePhase.RecordsWritten, WritePhase.Committed };
        foreach (var crashAt in crashPoints)
        {
            // The same records each time (the reference's keys), under a new MessageId.
            var message = Message(body);
            var crashing = storage.Create<FeedMessageHandler>(CreditRulesLoader.Default).With(h =>
            {
                h.AfterPhase = async (phase, _) =>
                {
                    if (phase == crashAt) await host.StopAsync();
                };
            });
            if (crashAt is null) await host.StopAsync();

            // The handler gives up on storage that is gone (a hang would fail the run's test timeout, not a clock here).
            var failed = await crashing.HandleAsync(message, default);

            Assert.Equal(SettlementAction.Abandon, failed.Action);
            Assert.NotNull(failed.Failure);
            Assert.Null(failed.Result);

            await host.RestartAsync();
            // Nothing half-written: no final status for the attempt (it is absent, or still Running).
            var row = await IngestionRow(storage, "usage", message.MessageId);
            if (crashAt is null) Assert.Null(row);
            else Assert.Equal("Running", row!.GetString("status"));
            // Atomic: the segments of a crash before the commit are invisible; after the commit, all of them are visible.
            var visible = (await UsageOf(storage, t)).Count(u => u.Lineage.IngestionId == message.MessageId);
            Assert.Equal(crashAt == WritePhase.Committed ? clean.Result!.RowsAccepted : 0, visible);

            // Redelivery.
            var redelivered = await storage.Create<FeedMessageHandler>(CreditRulesLoader.Default).HandleAsync(message, default);

            Assert.Equal(SettlementAction.Complete, redelivered.Action);
            Assert.False(redelivered.AlreadyIngested);
            Assert.Equal((clean.Result!.Status, clean.Result.RowsTotal, clean.Result.RowsAccepted, clean.Result.RowsRejected),
                (redelivered.Result!.Status, redelivered.Result.RowsTotal, redelivered.Result.RowsAccepted, redelivered.Result.RowsRejected));
            var actual = await StoredAsync(storage, t, message.MessageId, cleanMessage.MessageId);
            Assert.Equal(expected, actual);
        }
    }

    /// <summary>Everything an ingestion of the test's records stored, comparable across runs (message id mapped, times left out).</summary>
    private static async Task<List<string>> StoredAsync(StorageAccount storage, string tenant, string messageId, string asMessageId)
    {
        string Map(string text) => text.Replace(messageId, asMessageId, StringComparison.Ordinal);
        var list = new List<string>();
        foreach (var u in await UsageOf(storage, tenant))
            list.Add(Map($"{RecordReads.Canonical(u, ingestion: false)} {u.Lineage.IngestionId}"));
        foreach (var e in await Rejected(storage, messageId))
            list.Add(Map($"rejected {e.PartitionKey}/{e.RowKey} {StorageReads.Canonical(e)}"));
        foreach (var e in (await storage.AllAsync(TableNames.FeedIngestions)).Where(e => e.RowKey == messageId))
            list.Add(Map($"ingestion {e.PartitionKey}/{e.RowKey} {StorageReads.Canonical(e, "startedAt", "completedAt", "contentSha256")}"));
        list.Sort(StringComparer.Ordinal);
        return list;
    }
}
