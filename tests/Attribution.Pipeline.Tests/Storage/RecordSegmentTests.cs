using Microsoft.Extensions.Logging.Abstractions;
using System.Globalization;
using System.Text;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Local;
using Attribution.Testing;
using DuckDB.NET.Data;

namespace Attribution.Pipeline.Tests.Storage;

/// <summary>
/// Records as Parquet segments under a commit log (§2.4, §2.6, docs/storage.md), against a real Azurite: atomic
/// visibility, latest-wins across segments and compaction, concurrency, takeover of abandoned attempts, crash-safe
/// compaction, versioned reads and retention. Asserted through ingestion results, FeedIngestions rows and the
/// RecordSnapshot read API; blob names only where a test injects a fault.
/// </summary>
public sealed class RecordSegmentTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const string UsageHeader = "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n";
    private readonly string _dir = TestPaths.NewTempDirectory();

    private FeedIngestor Ingestor(StorageAccount? storage = null, RecordStoreOptions? options = null, Func<WritePhase, CancellationToken, Task>? afterPhase = null) =>
        (storage ?? azurite.Storage).Create<FeedIngestor>(CreditRulesLoader.Default).With(i =>
        {
            i.RecordOptions = options ?? RecordStoreOptions.Default;
            i.AfterPhase = afterPhase;
        });

    private string Feed(string source, string content) => TestPaths.WriteFeed(_dir, source, $"{source}-{Guid.NewGuid():N}.csv", content);

    private static string Usage(params (Guid Tenant, Guid Subscription, string Workload, string Month, string Revenue, string Users)[] rows) =>
        UsageHeader + string.Concat(rows.Select(r => $"{r.Tenant},{r.Subscription},{r.Workload},{r.Month},{r.Revenue},{r.Users}\n"));

    private static string ManyUsage(int tenants, int seed)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder(UsageHeader);
        for (var t = 0; t < tenants; t++)
        {
            var tenant = new Guid(seed, (short)t, 7, [1, 2, 3, 4, 5, 6, 7, (byte)t]);
            for (var m = 1; m <= 6; m++)
                sb.Append(CultureInfo.InvariantCulture, $"{tenant},{new Guid(t, 1, 1, [9, 9, 9, 9, 9, 9, 9, (byte)m])},Azure,2026-{m:D2},{rng.Next(1, 5000)}.25,\n");
            if (t % 50 == 0) sb.Append("bad,row\n");
        }
        return sb.ToString();
    }

    private static async Task<FeedIngestionResult?> Row(StorageAccount storage, FeedSource source, string id) =>
        await storage.Get<IngestionStore>().GetAsync(source, id, default);

    [Fact]
    public async Task A_crash_between_segment_writes_and_the_commit_leaves_nothing_visible_and_the_rerun_ends_identical_to_a_clean_run()
    {
        var content = ManyUsage(300, seed: 11);
        var path = Feed("usage", content);
        var options = RecordStoreOptions.Default with { MaxBufferedRows = 200 }; // several parts per bucket
        var before = await azurite.Storage.LatestRecordsAsync();

        string? crashedId = null;
        var crash = Ingestor(options: options, afterPhase: (phase, _) =>
            phase == WritePhase.RecordsWritten ? throw new IOException("simulated crash after the segments, before the commit") : Task.CompletedTask);
        var error = await Assert.ThrowsAsync<IOException>(() => crash.IngestFileAsync(path, FeedSource.Usage));
        Assert.Contains("simulated crash", error.Message);

        // The fault was injected after segments were written: they exist, yet none is visible.
        var attempts = new List<FeedIngestionResult>();
        await foreach (var r in azurite.Storage.Get<IngestionStore>().ListAsync(FeedSource.Usage)) attempts.Add(r);
        var crashed = attempts.Single(r => r.FileName == Path.GetFileName(path));
        crashedId = crashed.IngestionId;
        Assert.Equal(IngestionStatus.Failed, crashed.Status);
        Assert.True(await SegmentBlobCountAsync(azurite.Storage, crashedId) > 1);
        var afterCrash = await azurite.Storage.LatestRecordsAsync();
        Assert.Equal(before.Version, afterCrash.Version);
        Assert.Equal(await before.EverythingAsync(), await afterCrash.EverythingAsync());
        Assert.DoesNotContain(crashedId, await afterCrash.IngestionIdsAsync());

        var rerun = await Ingestor(options: options).IngestFileAsync(path, FeedSource.Usage);
        Assert.Equal(IngestionStatus.CompletedWithRejections, rerun.Status);

        await using var reference = await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true });
        var referenceStorage = StorageAccount.FromConnectionString(reference.ConnectionString);
        var clean = await Ingestor(referenceStorage).IngestFileAsync(path, FeedSource.Usage);
        Assert.Equal((clean.Status, clean.RowsTotal, clean.RowsAccepted, clean.RowsRejected), (rerun.Status, rerun.RowsTotal, rerun.RowsAccepted, rerun.RowsRejected));
        var expected = (await (await referenceStorage.LatestRecordsAsync()).AllUsageAsync()).Select(u => RecordReads.Canonical(u, ingestion: false)).Order(StringComparer.Ordinal);
        var tenants = content.Split('\n').Skip(1).Where(l => l.Length > 40).Select(l => Guid.Parse(l[..36])).ToHashSet();
        var actual = (await (await azurite.Storage.LatestRecordsAsync()).AllUsageAsync()).Where(u => tenants.Contains(u.CustomerTenantId))
            .Select(u => RecordReads.Canonical(u, ingestion: false)).Order(StringComparer.Ordinal);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Latest_wins_by_natural_key_across_segments_within_a_file_and_after_compaction()
    {
        var t = Guid.NewGuid();
        var s = Guid.NewGuid();
        var first = await Ingestor().IngestFileAsync(Feed("usage", Usage(
            (t, s, "Azure", "2026-01", "100", ""), (t, s, "Teams", "2026-01", "", "5"),
            (t, s, "Azure", "2026-02", "1", ""), (t, s, "Microsoft Azure", "2026-02", "2", ""))), FeedSource.Usage); // later line wins
        var second = await Ingestor().IngestFileAsync(Feed("usage", Usage((t, s, "Azure", "2026-01", "200", ""))), FeedSource.Usage);
        var third = await Ingestor().IngestFileAsync(Feed("usage", Usage((t, s, "Teams", "2026-01", "", "7"))), FeedSource.Usage);
        await Ingestor().IngestFileAsync(Feed("fasttrack", $"customerTenantId,partnerId,workloads,engagementStart,engagementEnd\n{t},6100001,Teams,2026-01-01,\n"), FeedSource.FastTrack);
        var ended = await Ingestor().IngestFileAsync(Feed("fasttrack", $"customerTenantId,partnerId,workloads,engagementStart,engagementEnd\n{t},6100001,Microsoft Teams,2026-01-01,2026-03-31\n"), FeedSource.FastTrack);

        void AssertLatest(TenantRecords r, string azureJanFrom, double azureJan)
        {
            Assert.Equal(3, r.Usage.Count);
            var azureJanRow = r.Usage.Single(u => u.Workload == Workload.Azure && u.Month == new YearMonth(2026, 1));
            Assert.Equal(azureJan, azureJanRow.ConsumedRevenueUsd);
            Assert.Equal(azureJanFrom, azureJanRow.Lineage.IngestionId);
            var azureFeb = r.Usage.Single(u => u.Workload == Workload.Azure && u.Month == new YearMonth(2026, 2));
            Assert.Equal((2.0, first.IngestionId, 5L), (azureFeb.ConsumedRevenueUsd!.Value, azureFeb.Lineage.IngestionId, azureFeb.Lineage.Line));
            var teams = r.Usage.Single(u => u.Workload == Workload.Teams);
            Assert.Equal((7L, third.IngestionId), (teams.ActiveUsers!.Value, teams.Lineage.IngestionId));
            var association = Assert.Single(r.Associations);
            Assert.Equal((new DateOnly(2026, 3, 31), ended.IngestionId), (association.ValidTo!.Value, association.Lineage.IngestionId));
        }

        var records = await azurite.Storage.LatestRecordsAsync();
        Assert.True(records.Segments(RecordKind.Usage, records.BucketOf(t)).Count >= 3);
        AssertLatest(await azurite.Storage.TenantAsync(t), second.IngestionId, 200);
        var everything = await records.EverythingAsync();

        var compaction = await new RecordCompactor(azurite.Storage, RecordStoreOptions.Default, TimeProvider.System, NullLogger.Instance).CompactAsync(all: true);
        Assert.True(compaction.BucketsCompacted >= 2);
        var compacted = await azurite.Storage.LatestRecordsAsync();
        Assert.Single(compacted.Segments(RecordKind.Usage, compacted.BucketOf(t)));
        Assert.Single(compacted.Segments(RecordKind.Associations, compacted.BucketOf(t)));
        Assert.Equal(everything, await compacted.EverythingAsync());
        AssertLatest(await azurite.Storage.TenantAsync(t), second.IngestionId, 200);
        Assert.Equal(await records.IngestionIdsAsync(), await compacted.IngestionIdsAsync());

        // A later commit still wins over the compacted segment.
        var fourth = await Ingestor().IngestFileAsync(Feed("usage", Usage((t, s, "Azure", "2026-01", "300", ""))), FeedSource.Usage);
        AssertLatest(await azurite.Storage.TenantAsync(t), fourth.IngestionId, 300);
        var bucket = (await azurite.Storage.LatestRecordsAsync()).UsageAsync(compacted.BucketOf(t), new YearMonth(2026, 1), new YearMonth(2026, 1));
        Assert.Equal(300, (await bucket).Single(u => u.CustomerTenantId == t && u.Workload == Workload.Azure).ConsumedRevenueUsd);
    }

    [Fact]
    public async Task An_older_version_still_reads_exactly_what_was_committed_up_to_it_after_a_restatement_and_a_compaction()
    {
        var t = Guid.NewGuid();
        var s = Guid.NewGuid();
        var original = await Ingestor().IngestFileAsync(Feed("usage", Usage((t, s, "Azure", "2026-03", "10", ""), (t, s, "Intune", "2026-03", "", "3"))), FeedSource.Usage);
        var store = azurite.Storage.Get<RecordStore>();
        var v1 = (await store.LatestAsync()).Version;

        var restated = await Ingestor().IngestFileAsync(Feed("usage", Usage((t, s, "Azure", "2026-03", "99", ""), (t, s, "Teams", "2026-03", "", "8"))), FeedSource.Usage);
        await new RecordCompactor(azurite.Storage, RecordStoreOptions.Default, TimeProvider.System, NullLogger.Instance).CompactAsync(all: true);

        var old = await store.AtAsync(v1);
        Assert.Equal(v1, old.Version);
        var oldTenant = await old.TenantAsync(t, RecordReads.FirstMonth, RecordReads.LastMonth);
        Assert.Equal(["Azure:10:" + original.IngestionId, "Intune::" + original.IngestionId],
            oldTenant.Usage.Select(u => $"{u.Workload}:{u.ConsumedRevenueUsd}:{u.Lineage.IngestionId}").Order());
        Assert.Contains(original.IngestionId, await old.IngestionIdsAsync());
        Assert.DoesNotContain(restated.IngestionId, await old.IngestionIdsAsync());

        var latest = await store.LatestAsync();
        Assert.True(latest.Version > v1);
        var now = await latest.TenantAsync(t, RecordReads.FirstMonth, RecordReads.LastMonth);
        Assert.Equal(["Azure:99", "Intune:", "Teams:"], now.Usage.Select(u => $"{u.Workload}:{u.ConsumedRevenueUsd}").Order());

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.AtAsync(latest.Version + 1000));
    }

    [Fact]
    public async Task The_same_file_ingested_twice_at_once_stores_its_records_once_and_records_the_other_attempt_as_a_Duplicate()
    {
        var t = Guid.NewGuid();
        var path = Feed("usage", Usage(Enumerable.Range(1, 12).Select(m => (t, Guid.NewGuid(), "Azure", $"2025-{m:D2}", $"{m}", "")).ToArray()));

        var results = await Task.WhenAll(
            Task.Run(() => Ingestor(azurite.NewStorage()).IngestFileAsync(path, FeedSource.Usage)),
            Task.Run(() => Ingestor(azurite.NewStorage()).IngestFileAsync(path, FeedSource.Usage)));

        var succeeded = Assert.Single(results, r => r.Status == IngestionStatus.Succeeded);
        var duplicate = Assert.Single(results, r => r.Status == IngestionStatus.Duplicate);
        Assert.Equal(succeeded.IngestionId, duplicate.DuplicateOf);
        Assert.Equal(IngestionStatus.Duplicate, (await Row(azurite.Storage, FeedSource.Usage, duplicate.IngestionId))!.Status);
        var usage = (await azurite.Storage.TenantAsync(t)).Usage;
        Assert.Equal(12, usage.Count);
        Assert.All(usage, u => Assert.Equal(succeeded.IngestionId, u.Lineage.IngestionId));
        var ids = await (await azurite.Storage.LatestRecordsAsync()).IngestionIdsAsync();
        Assert.Contains(succeeded.IngestionId, ids);
        Assert.DoesNotContain(duplicate.IngestionId, ids);
    }

    [Fact]
    public async Task Different_files_ingested_at_once_all_commit_and_all_are_visible()
    {
        var before = await azurite.Storage.LatestRecordsAsync();
        var tenants = Enumerable.Range(0, 4).Select(_ => Guid.NewGuid()).ToList();
        var paths = tenants.Select(t => Feed("usage", Usage((t, Guid.NewGuid(), "Azure", "2026-04", "42", "")))).ToList();

        var results = await Task.WhenAll(paths.Select(p => Task.Run(() => Ingestor(azurite.NewStorage()).IngestFileAsync(p, FeedSource.Usage))));

        Assert.All(results, r => Assert.Equal(IngestionStatus.Succeeded, r.Status));
        var after = await azurite.Storage.LatestRecordsAsync();
        Assert.Equal(before.Version + 4, after.Version); // one commit each, none lost to a race
        var ids = await after.IngestionIdsAsync();
        Assert.All(results, r => Assert.Contains(r.IngestionId, ids));
        foreach (var (tenant, result) in tenants.Zip(results))
            Assert.Equal(result.IngestionId, Assert.Single((await azurite.Storage.TenantAsync(tenant)).Usage).Lineage.IngestionId);
    }

    [Fact]
    public async Task An_attempt_that_died_holding_the_claim_is_taken_over_once_its_lease_runs_out_and_its_row_stops_saying_Running()
    {
        var t = Guid.NewGuid();
        var path = Feed("usage", Usage((t, Guid.NewGuid(), "Azure", "2026-05", "5", ""), (t, Guid.NewGuid(), "Teams", "2026-05", "", "2")));
        var shortLease = RecordStoreOptions.Default with { ClaimLease = TimeSpan.FromSeconds(15) };

        // "Dies" after writing its segments: cancelled from outside, so nothing is cleaned up and the lease is not released.
        var dying = Ingestor(azurite.NewStorage(), shortLease, (phase, _) =>
            phase == WritePhase.RecordsWritten ? throw new OperationCanceledException("process killed") : Task.CompletedTask);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dying.IngestFileAsync(path, FeedSource.Usage));
        var dead = await SingleRowAsync(Path.GetFileName(path));
        Assert.Equal(IngestionStatus.Running, dead.Status);

        // The next attempt finds the lease live, waits (with backoff) until it runs out, then takes over.
        var next = await Ingestor(azurite.NewStorage(), shortLease).IngestFileAsync(path, FeedSource.Usage);

        Assert.Equal(IngestionStatus.Succeeded, next.Status);
        var abandoned = (await Row(azurite.Storage, FeedSource.Usage, dead.IngestionId))!;
        Assert.Equal(IngestionStatus.Failed, abandoned.Status);
        Assert.Contains(next.IngestionId, abandoned.Error);
        Assert.Contains("Abandoned", abandoned.Error);
        var usage = (await azurite.Storage.TenantAsync(t)).Usage;
        Assert.Equal(2, usage.Count);
        Assert.All(usage, u => Assert.Equal(next.IngestionId, u.Lineage.IngestionId));
        Assert.DoesNotContain(dead.IngestionId, await (await azurite.Storage.LatestRecordsAsync()).IngestionIdsAsync());

        // And it is the original from now on.
        var again = await Ingestor().IngestFileAsync(path, FeedSource.Usage);
        Assert.Equal((IngestionStatus.Duplicate, next.IngestionId), (again.Status, again.DuplicateOf));
    }

    [Fact]
    public async Task An_attempt_that_died_after_its_commit_is_finished_from_the_log_by_the_next_attempt_on_the_same_content()
    {
        var t = Guid.NewGuid();
        var path = Feed("usage", Usage((t, Guid.NewGuid(), "Azure", "2026-06", "6", ""), (t, Guid.NewGuid(), "Nope", "2026-06", "6", "")));
        var dying = Ingestor(azurite.NewStorage(), afterPhase: (phase, _) =>
            phase == WritePhase.Committed ? throw new OperationCanceledException("process killed") : Task.CompletedTask);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dying.IngestFileAsync(path, FeedSource.Usage));
        var dead = await SingleRowAsync(Path.GetFileName(path));
        Assert.Equal(IngestionStatus.Running, dead.Status);
        Assert.Single((await azurite.Storage.TenantAsync(t)).Usage); // committed: visible

        var next = await Ingestor().IngestFileAsync(path, FeedSource.Usage);

        Assert.Equal((IngestionStatus.Duplicate, dead.IngestionId), (next.Status, next.DuplicateOf));
        var finished = (await Row(azurite.Storage, FeedSource.Usage, dead.IngestionId))!;
        Assert.Equal((IngestionStatus.CompletedWithRejections, 2L, 1L, 1L), (finished.Status, finished.RowsTotal, finished.RowsAccepted, finished.RowsRejected));
        Assert.NotNull(finished.CompletedAt);
    }

    [Fact]
    public async Task An_attempt_cancelled_before_it_holds_a_claim_says_Failed_itself()
    {
        var path = Feed("usage", Usage((Guid.NewGuid(), Guid.NewGuid(), "Azure", "2026-06", "1", "")));
        var cancelled = Ingestor(afterPhase: (phase, _) => phase == WritePhase.RunningRecorded ? throw new OperationCanceledException() : Task.CompletedTask);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.IngestFileAsync(path, FeedSource.Usage));
        var row = await SingleRowAsync(Path.GetFileName(path));
        Assert.Equal(IngestionStatus.Failed, row.Status);
        Assert.Contains("Cancelled", row.Error);
        Assert.Equal(IngestionStatus.Succeeded, (await Ingestor().IngestFileAsync(path, FeedSource.Usage)).Status);
    }

    [Fact]
    public async Task A_crash_mid_compaction_leaves_reads_identical_and_a_later_compaction_succeeds()
    {
        var t = Guid.NewGuid();
        var s = Guid.NewGuid();
        for (var i = 1; i <= 3; i++)
            await Ingestor().IngestFileAsync(Feed("usage", Usage((t, s, "Azure", "2026-07", $"{i * 10}", ""), (t, Guid.NewGuid(), "Teams", "2026-07", "", $"{i}"))), FeedSource.Usage);
        var before = await azurite.Storage.LatestRecordsAsync();
        var bucket = before.BucketOf(t);
        var segments = before.Segments(RecordKind.Usage, bucket).Count;
        Assert.True(segments >= 3); // ours, and any other test's in the same bucket
        var everything = await before.EverythingAsync();

        string? orphan = null;
        var crashing = new RecordCompactor(azurite.Storage, RecordStoreOptions.Default, TimeProvider.System, NullLogger.Instance)
        {
            AfterSegmentWritten = (path, _) =>
            {
                orphan = path;
                throw new IOException("simulated crash after the compacted segment, before its commit");
            },
        };
        await Assert.ThrowsAsync<IOException>(() => crashing.CompactAsync(all: true));

        Assert.NotNull(orphan);
        Assert.True(await azurite.Storage.Blobs.GetBlobContainerClient(TableNames.RecordsContainer).GetBlobClient(orphan).ExistsAsync());
        var afterCrash = await azurite.Storage.LatestRecordsAsync();
        Assert.Equal(before.Version, afterCrash.Version);
        Assert.Equal(segments, afterCrash.Segments(RecordKind.Usage, bucket).Count);
        Assert.Equal(everything, await afterCrash.EverythingAsync());

        var summary = await new RecordCompactor(azurite.Storage, RecordStoreOptions.Default, TimeProvider.System, NullLogger.Instance).CompactAsync(all: true);
        Assert.True(summary.BucketsCompacted >= 1);
        var compacted = await azurite.Storage.LatestRecordsAsync();
        Assert.Single(compacted.Segments(RecordKind.Usage, bucket));
        Assert.Equal(everything, await compacted.EverythingAsync());
        Assert.Equal(30, (await azurite.Storage.TenantAsync(t)).Usage.Single(u => u.Workload == Workload.Azure).ConsumedRevenueUsd);

        // Compacting again finds nothing to do (idempotent).
        var again = await new RecordCompactor(azurite.Storage, RecordStoreOptions.Default, TimeProvider.System, NullLogger.Instance).CompactAsync(all: true);
        Assert.Equal(0, again.BucketsCompacted);
        Assert.Equal(compacted.Version, (await azurite.Storage.LatestRecordsAsync()).Version);
    }

    [Fact]
    public async Task A_committed_segment_is_plain_Parquet_that_DuckDB_reads()
    {
        var t = Guid.NewGuid();
        var result = await Ingestor().IngestFileAsync(Feed("usage", Usage(
            (t, Guid.NewGuid(), "Azure", "2026-08", "12.5", ""), (t, Guid.NewGuid(), "Teams", "2026-08", "", "30"), (t, Guid.NewGuid(), "Azure", "2026-09", "7.25", "4"))), FeedSource.Usage);
        var records = await azurite.Storage.LatestRecordsAsync();
        var segment = records.Segments(RecordKind.Usage, records.BucketOf(t)).Single(s => s.Path.Contains(result.IngestionId, StringComparison.Ordinal));
        var file = Path.Combine(_dir, "segment.parquet");
        await azurite.Storage.Blobs.GetBlobContainerClient(TableNames.RecordsContainer).GetBlobClient(segment.Path).DownloadToAsync(file);

        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText =
            $"SELECT count(*), sum(consumedRevenueUsd), CAST(sum(activeUsers) AS BIGINT), min(customerTenantId), min(month), max(ingestionId), max(line), count(ingestedAt) " +
            $"FROM read_parquet('{file}') WHERE customerTenantId = '{t}'";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(3L, Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture));
        Assert.Equal(19.75, reader.GetDouble(1));
        Assert.Equal(34L, Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture));
        Assert.Equal(t.ToString(), reader.GetString(3));
        Assert.Equal("2026-08", reader.GetString(4));
        Assert.Equal(result.IngestionId, reader.GetString(5));
        Assert.Equal(4L, Convert.ToInt64(reader.GetValue(6), CultureInfo.InvariantCulture));
        Assert.Equal(3L, Convert.ToInt64(reader.GetValue(7), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Checkpoints_keep_every_version_readable_and_a_snapshot_past_the_retention_fails_with_a_clear_message()
    {
        // Its own store: the layout (4 buckets, a checkpoint every 3 commits) is fixed when a store is created.
        await using var host = await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true });
        var storage = StorageAccount.FromConnectionString(host.ConnectionString);
        var options = RecordStoreOptions.Default with { BucketCount = 4, CheckpointInterval = 3, AutoCompact = false };
        var t = Guid.NewGuid();
        var s = Guid.NewGuid();
        var versions = new List<(long Version, int Value)>();
        for (var i = 1; i <= 8; i++)
        {
            await Ingestor(storage, options).IngestFileAsync(Feed("usage", Usage((t, s, "Azure", "2026-10", $"{i}", ""))), FeedSource.Usage);
            versions.Add(((await new RecordStore(storage, options, TimeProvider.System).LatestAsync()).Version, i));
        }

        // A reader with other settings still reads the store's own layout.
        var store = storage.Get<RecordStore>();
        var latest = await store.LatestAsync();
        Assert.Equal(4, latest.BucketCount);
        Assert.Equal(8, latest.Version);
        Assert.Equal(8, (await store.LatestAsync()).Segments(RecordKind.Usage, latest.BucketOf(t)).Count);
        foreach (var (version, value) in versions)
        {
            var usage = (await store.AtAsync(version)).TenantAsync(t, RecordReads.FirstMonth, RecordReads.LastMonth);
            Assert.Equal(value, Assert.Single((await usage).Usage).ConsumedRevenueUsd);
            Assert.Equal((int)version, (await (await store.AtAsync(version)).IngestionIdsAsync()).Count);
        }

        // No retention: compaction's inputs and a crashed attempt's segments go at the next clean-up.
        var noRetention = options with { Retention = TimeSpan.Zero, UncommittedGrace = TimeSpan.Zero };
        await Assert.ThrowsAsync<IOException>(() => Ingestor(storage, options, (phase, _) =>
            phase == WritePhase.RecordsWritten ? throw new IOException("crash") : Task.CompletedTask)
            .IngestFileAsync(Feed("usage", Usage((t, s, "Azure", "2026-11", "1", ""))), FeedSource.Usage));
        var summary = await new RecordCompactor(storage, noRetention, TimeProvider.System, NullLogger.Instance).CompactAsync(all: true);
        Assert.Equal(1, summary.BucketsCompacted);
        Assert.True(summary.BlobsDeleted >= 9, $"{summary.BlobsDeleted} blobs deleted"); // 8 inputs + the crashed attempt's segment

        Assert.Equal(8, Assert.Single((await (await store.LatestAsync()).TenantAsync(t, RecordReads.FirstMonth, RecordReads.LastMonth)).Usage).ConsumedRevenueUsd);
        var expired = await store.AtAsync(versions[2].Version);
        var error = await Assert.ThrowsAsync<RecordsUnavailableException>(() => expired.TenantAsync(t, RecordReads.FirstMonth, RecordReads.LastMonth));
        Assert.Contains($"Records version {versions[2].Version} can no longer be read", error.Message);
        Assert.Contains("Retention", error.Message);
    }

    private async Task<FeedIngestionResult> SingleRowAsync(string fileName)
    {
        var rows = new List<FeedIngestionResult>();
        await foreach (var r in azurite.Storage.Get<IngestionStore>().ListAsync(FeedSource.Usage)) rows.Add(r);
        return Assert.Single(rows, r => r.FileName == fileName && r.Status != IngestionStatus.Duplicate);
    }

    /// <summary>Segment blobs one attempt wrote, committed or not (only where a test injected a fault).</summary>
    private static async Task<int> SegmentBlobCountAsync(StorageAccount storage, string ingestionId)
    {
        var count = 0;
        await foreach (var blob in storage.Blobs.GetBlobContainerClient(TableNames.RecordsContainer).GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "usage/", default))
            if (blob.Name.Contains("/" + ingestionId + "-", StringComparison.Ordinal)) count++;
        return count;
    }
}
