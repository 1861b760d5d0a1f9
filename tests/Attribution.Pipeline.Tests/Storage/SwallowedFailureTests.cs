using Microsoft.Extensions.Logging.Abstractions;
using System.Text.Json;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Tests.Storage;

/// <summary>
/// Failures the pipeline catches and carries on after (docs/logging.md, events 3001-3007) are provoked for real on
/// Azurite (a damaged segment, a leased blob, a broken lease): the work they follow stands, and each is logged as a
/// Warning with its event id and counted on attribution.storage.swallowed_failures with its operation.
/// </summary>
internal static class Swallowed
{
    public const string UsageHeader = "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n";

    public static CounterCapture Counter() => new(Telemetry.Name, SwallowedFailures.MetricName);

    public static long Count(this CounterCapture capture, string operation) => capture.Sum(SwallowedFailures.OperationTag, operation);

    /// <summary>One usage row for the tenant: every file is other content (not a Duplicate), all in the tenant's bucket.</summary>
    public static string UsageFile(string dir, Guid tenant) =>
        TestPaths.WriteFeed(dir, "usage", $"usage-{Guid.NewGuid():N}.csv", UsageHeader + $"{tenant},{Guid.NewGuid()},Azure,2026-03,10,\n");

    public static FeedIngestor Ingestor(StorageAccount storage, RecordStoreOptions options, ILoggerFactory? logs = null, TimeProvider? time = null) =>
        new(storage, CreditRulesLoader.Default, new IngestionStore(storage, time ?? TimeProvider.System), time ?? TimeProvider.System,
            logs?.CreateLogger<FeedIngestor>() ?? NullLogger<FeedIngestor>.Instance) { RecordOptions = options };

    public static BlobContainerClient Records(StorageAccount storage) => storage.Blobs.GetBlobContainerClient(TableNames.RecordsContainer);

    public static async Task<List<string>> BlobsAsync(StorageAccount storage, string prefix)
    {
        var names = new List<string>();
        await foreach (var b in Records(storage).GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, default)) names.Add(b.Name);
        return names;
    }

    public static async Task<T> Within<T>(this Task<T> task, string what)
    {
        // A hang guard, not a timing assertion: the awaited event is due within a lease renewal period.
        var done = await Task.WhenAny(task, Task.Delay(TimeSpan.FromMinutes(2)));
        Assert.True(done == task, $"{what} did not happen");
        return await task;
    }
}


public sealed class CompactionFailureTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    [Fact]
    public async Task A_compaction_that_fails_keeps_the_ingestion_successful_is_logged_and_counted_and_leaves_a_backlog_the_health_shows()
    {
        var tenant = Guid.NewGuid();
        var threshold = 3;
        var manual = RecordStoreOptions.Default with { AutoCompact = false, CompactionThreshold = threshold };
        var first = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
        // Four commits without compaction: the tenant's bucket holds four usage segments, one over the threshold.
        for (var i = 0; i < 4; i++)
        {
            var r = await Swallowed.Ingestor(azurite.Storage, manual, time: new FixedTime(first.AddHours(i))).IngestFileAsync(Swallowed.UsageFile(_dir, tenant), FeedSource.Usage);
            Assert.Equal(IngestionStatus.Succeeded, r.Status);
        }
        // A real fault for the compaction to meet: one of the segments it must merge is damaged (not Parquet).
        var segments = await Swallowed.BlobsAsync(azurite.Storage, "usage/");
        Assert.Equal(4, segments.Count);
        await Swallowed.Records(azurite.Storage).GetBlobClient(segments[0]).UploadAsync(BinaryData.FromString("not parquet"), overwrite: true);

        var capture = new CapturingLoggerProvider();
        using var logs = new LoggerFactory([capture]);
        using var counter = Swallowed.Counter();
        var fifth = await Swallowed.Ingestor(azurite.Storage, manual with { AutoCompact = true }, logs, new FixedTime(first.AddDays(6)))
            .IngestFileAsync(Swallowed.UsageFile(_dir, tenant), FeedSource.Usage);

        // The ingestion committed and stays successful; its row says so.
        Assert.Equal(IngestionStatus.Succeeded, fifth.Status);
        Assert.Equal(IngestionStatus.Succeeded, (await azurite.Storage.Get<IngestionStore>().GetAsync(FeedSource.Usage, fifth.IngestionId, default))!.Status);
        // ...and the failure is said, with its event id, and counted once.
        var warning = Assert.Single(capture.Entries, e => e.EventId == 3001);
        Assert.Equal((LogLevel.Warning, "Attribution.Pipeline.Ingestion.FeedIngestor"), (warning.Level, warning.Category));
        Assert.Equal($"Compaction of 1 bucket(s) over the threshold of {threshold} segments failed after records version 5; the commit stands, and the next commit to these buckets tries again.", warning.Message);
        Assert.NotNull(warning.Exception);
        Assert.Equal(1, counter.Count(SwallowedFailures.Compaction));
        Assert.Equal([SwallowedFailures.Compaction], counter.Values(SwallowedFailures.OperationTag));

        // The backlog, from the log alone: the bucket's five segments, building up since the first commit.
        var health = await new RecordStore(azurite.Storage, manual, TimeProvider.System).HealthAsync();
        var firstCommit = await CommitAsync(1);
        Assert.Equal(first, firstCommit.GetProperty("committedAt").GetDateTimeOffset());
        Assert.Equal(new RecordStoreHealth(5, RecordStoreOptions.Default.BucketCount, threshold, 1, false, 5, 1, first), health);
        Assert.True(health.Backlog);
        // At the default threshold (8) the same store is not behind.
        var relaxed = await azurite.Storage.Get<RecordStore>().HealthAsync();
        Assert.Equal((false, 5, (long?)null), (relaxed.Backlog, relaxed.MaxSegments, relaxed.OldestUncompactedVersion));
    }

    /// <summary>A commit entry as stored (read here as JSON, not through the code under test).</summary>
    private async Task<JsonElement> CommitAsync(long version)
    {
        var content = await Swallowed.Records(azurite.Storage).GetBlobClient($"_log/{version:D20}.json").DownloadContentAsync();
        return JsonDocument.Parse(content.Value.Content.ToString()).RootElement.Clone();
    }
}

public sealed class TipWriteFailureTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    [Fact]
    public async Task A_tip_write_that_fails_leaves_the_commit_standing_and_visible_and_is_logged_and_counted()
    {
        var options = RecordStoreOptions.Default;
        var tenant = Guid.NewGuid();
        Assert.Equal(IngestionStatus.Succeeded, (await Swallowed.Ingestor(azurite.Storage, options).IngestFileAsync(Swallowed.UsageFile(_dir, tenant), FeedSource.Usage)).Status);
        // Another holder leases the tip: overwriting it without that lease fails (412), as any storage fault would.
        var tip = Swallowed.Records(azurite.Storage).GetBlobClient("_log/_tip.json");
        var lease = tip.GetBlobLeaseClient();
        await lease.AcquireAsync(TimeSpan.FromSeconds(-1));
        try
        {
            var capture = new CapturingLoggerProvider();
            using var logs = new LoggerFactory([capture]);
            using var counter = Swallowed.Counter();
            var second = await Swallowed.Ingestor(azurite.Storage, options, logs).IngestFileAsync(Swallowed.UsageFile(_dir, tenant), FeedSource.Usage);

            Assert.Equal(IngestionStatus.Succeeded, second.Status);
            var warning = Assert.Single(capture.Entries, e => e.EventId == 3002);
            Assert.Equal(LogLevel.Warning, warning.Level);
            Assert.StartsWith("Records version 2 is committed, but writing the log tip failed;", warning.Message, StringComparison.Ordinal);
            Assert.Equal(412, Assert.IsType<Azure.RequestFailedException>(warning.Exception).Status);
            Assert.Equal(1, counter.Count(SwallowedFailures.TipWrite));
            // The commit stands: readers find version 2 (listing the log past the stale tip) with both rows.
            Assert.Equal("1", (await tip.DownloadContentAsync()).Value.Content.ToString());
            var latest = await azurite.Storage.LatestRecordsAsync();
            Assert.Equal(2, latest.Version);
            Assert.Equal(2, (await azurite.Storage.TenantAsync(tenant)).Usage.Count);
        }
        finally
        {
            await lease.ReleaseAsync();
        }
    }
}

public sealed class ClaimLeaseFailureTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task A_broken_claim_lease_is_logged_and_counted_when_its_renewal_fails_and_again_when_its_release_fails()
    {
        var capture = new CapturingLoggerProvider();
        using var logs = new LoggerFactory([capture]);
        var logger = logs.CreateLogger<FeedIngestor>();
        using var counter = Swallowed.Counter();
        // The shortest lease Azure allows, so the first renewal is due after 5 s.
        var options = RecordStoreOptions.Default with { ClaimLease = TimeSpan.FromSeconds(15) };
        var commits = new RecordCommits(azurite.Storage, options, TimeProvider.System, logger);
        var key = ContentClaims.ContentKey(FeedSource.Usage, Guid.NewGuid().ToString("N"));
        var claim = await commits.Claims.AcquireAsync(key, "attempt-1", breakLiveLease: false, default);
        Assert.Equal(ClaimOutcome.Acquired, claim.Outcome);

        // Someone breaks the lease (as a redelivered message's attempt does): the next renewal fails.
        await Swallowed.Records(azurite.Storage).GetBlobClient(key).GetBlobLeaseClient().BreakAsync(TimeSpan.Zero);
        var renewal = await capture.FirstAsync(e => e.EventId == 3004).Within("the failed renewal");
        Assert.Equal((LogLevel.Warning, $"Renewing the lease on claim {key} failed; renewal stops, and the check before the commit finds out whether this attempt still holds the claim."),
            (renewal.Level, renewal.Message));
        Assert.IsType<Azure.RequestFailedException>(renewal.Exception);
        await Assert.ThrowsAsync<ClaimLostException>(() => claim.Lease!.VerifyAsync(default));

        // The attempt gives up: marking the claim failed needs the lease it no longer holds.
        await claim.Lease!.FailAsync("attempt-1");
        var release = Assert.Single(capture.Entries, e => e.EventId == 3006);
        Assert.Equal($"Ingestion attempt-1 did not commit, and releasing claim {key} failed too; its lease runs out by itself, then the next attempt takes over.", release.Message);
        Assert.Equal((1, 1), (counter.Count(SwallowedFailures.LeaseRenewal), counter.Count(SwallowedFailures.ClaimRelease)));
    }
}

public sealed class SegmentCleanupFailureTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    [Fact]
    public async Task A_replaced_segment_that_cannot_be_deleted_stays_and_each_failed_deletion_is_logged_and_counted()
    {
        var tenant = Guid.NewGuid();
        var manual = RecordStoreOptions.Default with { AutoCompact = false };
        for (var i = 0; i < 2; i++)
            await Swallowed.Ingestor(azurite.Storage, manual).IngestFileAsync(Swallowed.UsageFile(_dir, tenant), FeedSource.Usage);
        var segments = await Swallowed.BlobsAsync(azurite.Storage, "usage/");
        Assert.Equal(2, segments.Count);
        // One of the segments the compaction replaces is leased by someone else: deleting it fails (412).
        var lease = Swallowed.Records(azurite.Storage).GetBlobClient(segments[0]).GetBlobLeaseClient();
        await lease.AcquireAsync(TimeSpan.FromSeconds(-1));
        try
        {
            var capture = new CapturingLoggerProvider();
            using var logs = new LoggerFactory([capture]);
            using var counter = Swallowed.Counter();
            // No retention: replaced segments are deleted at once.
            var summary = await new RecordCompactor(azurite.Storage, manual with { Retention = TimeSpan.Zero }, TimeProvider.System, logs.CreateLogger("Attribution.Pipeline.Storage.RecordCompactor"))
                .CompactAsync(all: true);

            Assert.Equal((1, 2), (summary.BucketsCompacted, summary.SegmentsRemoved));
            var remaining = await Swallowed.BlobsAsync(azurite.Storage, "usage/");
            Assert.Contains(segments[0], remaining);
            Assert.DoesNotContain(segments[1], remaining);
            var warnings = capture.Entries.Where(e => e.EventId == 3007).ToList();
            Assert.NotEmpty(warnings);
            Assert.All(warnings, w => Assert.Equal((LogLevel.Warning, $"Deleting records/{segments[0]} (no longer read) failed; it stays until the next clean-up."), (w.Level, w.Message)));
            Assert.Equal(warnings.Count, counter.Count(SwallowedFailures.SegmentCleanup));
        }
        finally
        {
            await lease.ReleaseAsync();
        }
    }
}
