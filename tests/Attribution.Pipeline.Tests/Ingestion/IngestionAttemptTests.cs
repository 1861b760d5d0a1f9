using System.Text;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Tests.Ingestion;

/// <summary>
/// What one ingestion attempt may store and say when something outside it moves: its content changes between the
/// passes, its process dies, another attempt holds the claim on the same content. Against Azurite.
/// </summary>
public sealed class IngestionAttemptTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly FeedIngestor _ingestor = azurite.Storage.Create<FeedIngestor>(CreditRulesLoader.Default);
    private readonly IngestionStore _ingestions = azurite.Storage.Get<IngestionStore>();

    private const string UsageHeader = "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n";

    /// <summary>Usage for one tenant: accepted rows, and one row rejected for its subscription id.</summary>
    private static string UsageCsv(Guid tenant, int rows) =>
        UsageHeader + string.Concat(Enumerable.Range(1, rows).Select(i => $"{tenant},{Guid.NewGuid()},Azure,2026-{1 + i % 12:D2},{i}.5,\n"))
        + $"{tenant},not-a-subscription,Azure,2026-01,1,\n";

    private async Task<BlobClient> UploadAsync(string name, string content)
    {
        var container = azurite.Storage.Blobs.GetBlobContainerClient(TableNames.FeedsContainer);
        await container.CreateIfNotExistsAsync();
        var blob = container.GetBlobClient(name);
        await blob.UploadAsync(BinaryData.FromString(content), overwrite: true);
        return blob;
    }

    /// <summary>What IngestFeedBlob does with a blob.</summary>
    private async Task<FeedIngestionResult> IngestBlobAsync(BlobClient blob)
    {
        var content = await BlobFeedContent.PinAsync(blob, default);
        return await _ingestor.IngestAsync(FeedSource.Usage, Path.GetFileName(blob.Name), content.OpenAsync, content.Length);
    }

    private async Task<int> VisibleUsageRows(Guid tenant) => (await azurite.Storage.TenantAsync(tenant)).Usage.Count;

    private async Task<List<RejectedRow>> Rejected(string ingestionId)
    {
        var rows = new List<RejectedRow>();
        await foreach (var r in _ingestions.RejectedRowsAsync(ingestionId)) rows.Add(r);
        return rows;
    }

    [Fact]
    public async Task A_blob_overwritten_between_the_passes_fails_that_attempt_stores_nothing_and_its_original_bytes_are_ingested_later()
    {
        var (first, second) = (Guid.NewGuid(), Guid.NewGuid());
        var (original, replacement) = (UsageCsv(first, 5), UsageCsv(second, 7));
        var blob = await UploadAsync($"usage/{Guid.NewGuid():N}.csv", original);
        var pinned = await BlobFeedContent.PinAsync(blob, default);

        // The uploader overwrites the blob after the validation pass, right before the write pass opens it.
        var opens = 0;
        var attempt = await _ingestor.IngestAsync(FeedSource.Usage, "overwritten.csv", async ct =>
        {
            if (++opens == 2) await blob.UploadAsync(BinaryData.FromString(replacement), overwrite: true, ct);
            return await pinned.OpenAsync(ct);
        }, pinned.Length);

        Assert.Equal(2, opens);
        Assert.Equal(IngestionStatus.Failed, attempt.Status);
        Assert.Contains("changed while it was being ingested", attempt.Error);
        Assert.Contains("nothing of this attempt was stored", attempt.Error);
        Assert.Contains($"no longer the version {pinned.ETag}", attempt.Error); // refused by storage (If-Match), not read
        Assert.Equal(IngestionStatus.Failed, (await _ingestions.GetAsync(FeedSource.Usage, attempt.IngestionId, default))!.Status);
        Assert.Equal(0, await VisibleUsageRows(first));
        Assert.Equal(0, await VisibleUsageRows(second));
        Assert.Empty(await Rejected(attempt.IngestionId));

        // The overwrite's own trigger ingests the new version.
        var replaced = await IngestBlobAsync(blob);
        Assert.Equal(IngestionStatus.CompletedWithRejections, replaced.Status);
        Assert.Equal(7, await VisibleUsageRows(second));

        // The original bytes uploaded again are new to the store: ingested, not a Duplicate of the failed attempt.
        await blob.UploadAsync(BinaryData.FromString(original), overwrite: true);
        var again = await IngestBlobAsync(blob);
        Assert.Equal(IngestionStatus.CompletedWithRejections, again.Status);
        Assert.Null(again.DuplicateOf);
        Assert.Equal(attempt.ContentSha256, again.ContentSha256);
        Assert.Equal(5, await VisibleUsageRows(first));
    }

    [Fact]
    public async Task Content_that_reads_differently_in_the_write_pass_is_not_committed_and_its_rejected_rows_are_removed()
    {
        // A local file rewritten in place while `attribution ingest` reads it: no ETag to pin, so the write pass hashes
        // what it reads and compares it with the validation pass before committing.
        var (first, second) = (Guid.NewGuid(), Guid.NewGuid());
        var (original, rewritten) = (Encoding.UTF8.GetBytes(UsageCsv(first, 4)), Encoding.UTF8.GetBytes(UsageCsv(second, 4)));
        var opens = 0;
        var attempt = await _ingestor.IngestAsync(FeedSource.Usage, "rewritten.csv",
            _ => Task.FromResult<Stream>(new MemoryStream(++opens == 1 ? original : rewritten)), original.Length);

        Assert.Equal(IngestionStatus.Failed, attempt.Status);
        Assert.Contains("rewritten.csv changed while it was being ingested", attempt.Error);
        Assert.Equal(0, await VisibleUsageRows(first));
        Assert.Equal(0, await VisibleUsageRows(second));
        Assert.Empty(await Rejected(attempt.IngestionId));

        var again = await _ingestor.IngestAsync(FeedSource.Usage, "rewritten.csv", _ => Task.FromResult<Stream>(new MemoryStream(original)), original.Length);
        Assert.Equal(IngestionStatus.CompletedWithRejections, again.Status);
        Assert.Equal(4, await VisibleUsageRows(first));
        Assert.Equal(0, await VisibleUsageRows(second));
    }

    [Fact]
    public async Task An_attempt_waiting_on_another_attempts_claim_logs_what_it_waits_for_since_when_and_until_when()
    {
        var tenant = Guid.NewGuid();
        var content = Encoding.UTF8.GetBytes(UsageCsv(tenant, 3));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (holder, holderId) = await ClaimHolder.HoldAsync(azurite.Storage, "held-usage.csv", content, release.Task);

        var capture = new CapturingLoggerProvider();
        using var logs = new LoggerFactory([capture]);
        var waits = new List<IngestionWait>();
        var waiter = azurite.Storage.Create<FeedIngestor>(CreditRulesLoader.Default, logs.CreateLogger<FeedIngestor>()).With(i =>
            // The wait is announced while it lasts: the holder is let go only once it is.
            i.Waiting = wait =>
            {
                waits.Add(wait);
                release.SetResult();
            });
        var result = await waiter.IngestAsync(FeedSource.Usage, "same-content.csv", _ => Task.FromResult<Stream>(new MemoryStream(content)), content.Length);
        await holder;

        // The holder failed and freed the claim; the waiter took it and stored the file.
        Assert.Equal(IngestionStatus.CompletedWithRejections, result.Status);
        Assert.Equal(3, await VisibleUsageRows(tenant));
        var wait = Assert.Single(waits);
        Assert.Equal((holderId, "held-usage.csv", result.IngestionId), (wait.HolderId, wait.HolderFileName, wait.IngestionId));
        Assert.True(wait.Until > wait.Since);
        var logged = Assert.Single(capture.Entries, e => e.EventId == 1005);
        Assert.Equal(typeof(FeedIngestor).FullName, logged.Category);
        Assert.Equal(LogLevel.Information, logged.Level);
        foreach (var part in new[] { result.IngestionId, "same-content.csv", holderId, "held-usage.csv", $"since {wait.Since:O}", $"at most until {wait.Until:O}" })
            Assert.Contains(part, logged.Message, StringComparison.Ordinal);
    }

    /// <summary>A Running row as a process that died at <paramref name="lastBeat"/> leaves it (no hash yet: it died validating).</summary>
    private async Task<FeedIngestionResult> RunningRowAsync(string fileName, DateTimeOffset lastBeat, string? sha256 = null)
    {
        var startedAt = lastBeat - TimeSpan.FromSeconds(1);
        var row = new FeedIngestionResult(IngestionStore.NewIngestionId(startedAt), FeedSource.Usage, fileName, sha256, IngestionStatus.Running, 0, 0, 0, startedAt, null)
        {
            HeartbeatAt = lastBeat,
            HeartbeatTimeout = RecordStoreOptions.Default.ClaimLease,
        };
        await _ingestions.SaveAsync(row, default);
        return row;
    }

    private async Task<List<FeedIngestionResult>> PageOf(string fileName) =>
        (await _ingestions.PageAsync(FeedSource.Usage, fileName, null, 100)).Rows;

    [Fact]
    public async Task A_running_row_whose_process_is_gone_reads_as_abandoned_and_the_next_attempt_of_the_file_finishes_it_naming_itself()
    {
        var fileName = $"usage-{Guid.NewGuid():N}.csv";
        var now = DateTimeOffset.UtcNow;
        // Storage went away 0.3 s into the validation pass: the attempt's last beat is long past its lease period.
        var dead = await RunningRowAsync(fileName, now - TimeSpan.FromMinutes(5));
        // Another attempt of the same file that beat just now is alive, and stays Running everywhere.
        var alive = await RunningRowAsync(fileName, now);

        // Every reader (GET /api/ingestions pages, the CLI's lists and lookups) shows the dead attempt as Failed.
        var expectedError = $"Abandoned: no heartbeat since {dead.HeartbeatAt!.Value.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z";
        var shown = (await PageOf(fileName)).ToDictionary(r => r.IngestionId);
        Assert.Equal(IngestionStatus.Failed, shown[dead.IngestionId].Status);
        Assert.StartsWith(expectedError, shown[dead.IngestionId].Error);
        Assert.Equal(IngestionStatus.Running, shown[alive.IngestionId].Status);
        Assert.Equal(IngestionStatus.Failed, (await _ingestions.FindAsync(dead.IngestionId))!.Status);
        var listed = new List<FeedIngestionResult>();
        await foreach (var r in _ingestions.ListAsync(FeedSource.Usage)) if (r.FileName == fileName) listed.Add(r);
        Assert.Equal(IngestionStatus.Failed, listed.Single(r => r.IngestionId == dead.IngestionId).Status);
        // Reading changes nothing stored.
        Assert.Equal(IngestionStatus.Running, (await _ingestions.GetAsync(FeedSource.Usage, dead.IngestionId, default))!.Status);

        // The re-run of the same file succeeds and finishes the dead row for good, naming itself.
        var tenant = Guid.NewGuid();
        var content = Encoding.UTF8.GetBytes(UsageCsv(tenant, 2));
        var rerun = await _ingestor.IngestAsync(FeedSource.Usage, fileName, _ => Task.FromResult<Stream>(new MemoryStream(content)), content.Length);
        Assert.Equal(IngestionStatus.CompletedWithRejections, rerun.Status);
        var stored = (await _ingestions.GetAsync(FeedSource.Usage, dead.IngestionId, default))!;
        Assert.Equal(IngestionStatus.Failed, stored.Status);
        Assert.StartsWith(expectedError, stored.Error);
        Assert.EndsWith($"Ingestion {rerun.IngestionId} of the same file took over.", stored.Error);
        Assert.Equal(IngestionStatus.Running, (await _ingestions.GetAsync(FeedSource.Usage, alive.IngestionId, default))!.Status);
        Assert.Equal(2, await VisibleUsageRows(tenant));
    }

    [Fact]
    public async Task An_attempt_that_died_after_its_commit_reads_as_what_it_committed()
    {
        var tenant = Guid.NewGuid();
        var content = Encoding.UTF8.GetBytes(UsageCsv(tenant, 3));
        var committed = await _ingestor.IngestAsync(FeedSource.Usage, "died-after-commit.csv", _ => Task.FromResult<Stream>(new MemoryStream(content)), content.Length);
        // Its process died between the commit and the status: the row still says Running, and no longer beats.
        await _ingestions.SaveAsync(committed with
        {
            Status = IngestionStatus.Running, RowsTotal = 0, RowsAccepted = 0, RowsRejected = 0, CompletedAt = null,
            HeartbeatAt = committed.StartedAt - TimeSpan.FromMinutes(2), HeartbeatTimeout = RecordStoreOptions.Default.ClaimLease,
        }, default);

        var shown = (await _ingestions.FindAsync(committed.IngestionId))!;
        Assert.Equal((IngestionStatus.CompletedWithRejections, 4L, 3L, 1L), (shown.Status, shown.RowsTotal, shown.RowsAccepted, shown.RowsRejected));
        Assert.Null(shown.Error);
        Assert.Equal(3, await VisibleUsageRows(tenant));
    }

    [Fact]
    public async Task A_live_attempt_renews_its_heartbeat_and_is_never_shown_abandoned()
    {
        var lease = RecordStoreOptions.Default with { ClaimLease = TimeSpan.FromSeconds(15) };
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var content = Encoding.UTF8.GetBytes(UsageCsv(Guid.NewGuid(), 2));
        var (holder, holderId) = await ClaimHolder.HoldAsync(azurite.Storage, $"live-{Guid.NewGuid():N}.csv", content, release.Task, lease);
        try
        {
            var first = (await _ingestions.GetAsync(FeedSource.Usage, holderId, default))!;
            Assert.Equal(TimeSpan.FromSeconds(15), first.HeartbeatTimeout);
            // Wait for the next beat (every third of the lease): the stored heartbeat moves on while the attempt works.
            FeedIngestionResult now;
            do
            {
                await Task.Delay(200);
                now = (await _ingestions.GetAsync(FeedSource.Usage, holderId, default))!;
            }
            while (now.HeartbeatAt <= first.HeartbeatAt);
            Assert.Equal(IngestionStatus.Running, (await _ingestions.FindAsync(holderId))!.Status);
        }
        finally
        {
            release.SetResult();
            await holder;
        }
        // Its end replaces the heartbeat: a finished row has none.
        var ended = (await _ingestions.GetAsync(FeedSource.Usage, holderId, default))!;
        Assert.Equal((IngestionStatus.Failed, (DateTimeOffset?)null), (ended.Status, ended.HeartbeatAt));
    }
}
