using System.Text;
using Attribution.Core.Feeds;
using Attribution.Core.Ingestion;
using Attribution.Core.Rules;
using Attribution.Core.Storage;
using Attribution.Testing;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;

namespace Attribution.Core.Tests.Ingestion;

/// <summary>
/// What one ingestion attempt may store and say when something outside it moves: its content changes between the
/// passes, its process dies, another attempt holds the claim on the same content. Against Azurite.
/// </summary>
public sealed class IngestionAttemptTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly FeedIngestor _ingestor = new(azurite.Storage, CreditRulesLoader.Default);
    private readonly IngestionStore _ingestions = new(azurite.Storage);

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
        var waiter = new FeedIngestor(azurite.Storage, CreditRulesLoader.Default, logger: logs.CreateLogger<FeedIngestor>())
        {
            // The wait is announced while it lasts: the holder is let go only once it is.
            Waiting = wait =>
            {
                waits.Add(wait);
                release.SetResult();
            },
        };
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
}
