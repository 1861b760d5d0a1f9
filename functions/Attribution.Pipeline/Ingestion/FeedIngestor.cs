using System.IO.Compression;
using Attribution.Domain.Feeds;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attribution.Pipeline.Ingestion;

/// <summary>Opens a feed's content; called once per pass, so the content must be readable again (a file, a blob).</summary>
public delegate Task<Stream> FeedContentOpener(CancellationToken cancellationToken);

/// <summary>
/// Ingests one feed file: every row is stored as a canonical record or recorded as rejected.
/// <list type="number">
/// <item>Validation pass: parses the whole stream, hashing it, without writing. A file that fails as a whole
/// (missing or duplicate columns; gzip that is not gzip, truncated, or fails its CRC-32 or length check) fails here, so
/// nothing from it is stored. The gzip checks happen as the stream is read, so this pass must read to the end.</item>
/// <item>Claim on the content (source + SHA-256): an attempt that finds it committed is a Duplicate of the original;
/// one that finds another live attempt waits for it; one that finds an abandoned attempt takes over (docs/storage.md).</item>
/// <item>Write pass: records into Parquet segments, rejected rows by (ingestion, line); then one commit makes every
/// record visible at once. A crash before the commit leaves nothing visible, so a re-run ends identical to a clean run.</item>
/// </list>
/// Used by the blob-triggered function and the CLI alike. Both passes read the content only with ReadAsync
/// (<see cref="FeedRowReader.OpenAsync"/>, <c>await foreach</c>), so reading a blob never blocks a thread on the network.
/// </summary>
public sealed class FeedIngestor(StorageAccount storage, CreditRules rules, IngestionStore store, TimeProvider timeProvider, ILogger<FeedIngestor> logger)
{
    private readonly TimeProvider _time = timeProvider;
    private readonly ILogger _log = logger;
    private readonly IngestionStore _store = store;

    /// <summary>Parallel batch submissions of rejected rows.</summary>
    public int MaxInFlightBatches { get; set; } = 8;

    /// <summary>Segment layout and claim settings (tests shorten the claim lease).</summary>
    public RecordStoreOptions RecordOptions { get; set; } = RecordStoreOptions.Default;

    /// <summary>Called when the attempt starts waiting on another attempt's claim on the same content (also logged, event
    /// 1005): the CLI says so on stderr, so a wait of up to a lease period (or ClaimWait) is never silent.</summary>
    public Action<IngestionWait>? Waiting { get; set; }

    /// <summary>Test hook: runs at each write phase (may throw, or cancel, to simulate a crash there).</summary>
    internal Func<WritePhase, CancellationToken, Task>? AfterPhase { get; set; }

    public Task<FeedIngestionResult> IngestFileAsync(string path, FeedSource source, IProgress<IngestionProgress>? progress = null, CancellationToken cancellationToken = default) =>
        IngestAsync(source, Path.GetFileName(path), _ => Task.FromResult<Stream>(File.OpenRead(path)), new FileInfo(path).Length, progress, cancellationToken);

    public async Task<FeedIngestionResult> IngestAsync(
        FeedSource source,
        string fileName,
        FeedContentOpener open,
        long? totalBytes = null,
        IProgress<IngestionProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        await storage.EnsureCreatedAsync().ConfigureAwait(false);
        var startedAt = _time.GetUtcNow();
        var id = IngestionStore.NewIngestionId(startedAt);
        var result = new FeedIngestionResult(id, source, fileName, null, IngestionStatus.Running, 0, 0, 0, startedAt, null)
        {
            HeartbeatAt = startedAt,
            HeartbeatTimeout = RecordOptions.ClaimLease,
        };
        _log.IngestionStarted(id, source.Name(), fileName, totalBytes);
        using var span = Telemetry.Source.StartActivity("IngestFeed");
        span?.SetTag("attribution.ingestion_id", id);
        span?.SetTag("attribution.source", source.Name());
        span?.SetTag("attribution.file", fileName);
        span?.SetTag("attribution.storage", storage.Blobs.Uri.Authority);
        // Recorded before any work so an attempt that dies part-way is visible as Running. Its heartbeat, renewed as
        // often as the claim lease, tells readers and the next attempt of the same file when its process is gone, even
        // before it hashed or claimed anything.
        await _store.SaveAsync(result, cancellationToken).ConfigureAwait(false);
        await using var heartbeat = new AttemptHeartbeat(_store, source, id, RecordOptions.ClaimLease / 3, _time, _log);
        var attempt = new Attempt();
        try
        {
            return await IngestAsync(result, attempt, open, totalBytes, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!attempt.Claimed)
        {
            // Cancelled before it held a claim: no later attempt would learn of this row, so it says so itself.
            try
            {
                await FinishAsync(result with { Status = IngestionStatus.Failed, Error = "Cancelled before any record was written; nothing was stored. Ingest the file again." }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception saveFailure) when (saveFailure is Azure.RequestFailedException or IOException or System.Net.Http.HttpRequestException or AggregateException)
            {
                _log.StatusWriteFailed(result.IngestionId, IngestionStatus.Failed.ToString(), saveFailure);
            }
            throw;
        }
    }

    private async Task<FeedIngestionResult> IngestAsync(
        FeedIngestionResult result, Attempt attempt, FeedContentOpener open, long? totalBytes, IProgress<IngestionProgress>? progress, CancellationToken cancellationToken)
    {
        var (id, source, fileName, startedAt) = (result.IngestionId, result.Source, result.FileName, result.StartedAt);
        await Phase(WritePhase.RunningRecorded, cancellationToken).ConfigureAwait(false);

        if (!FeedRowReader.TryDetectFormat(fileName, out var format, out var gzip))
            return await FinishAsync(result with { Status = IngestionStatus.Failed, Error = $"Unsupported file type '{fileName}': expected .csv, .jsonl, .csv.gz or .jsonl.gz." }, cancellationToken).ConfigureAwait(false);

        var normalizer = new FeedRecordNormalizer(source, rules.ProductMap, id, startedAt);

        // Pass 1: validate and hash.
        string sha256;
        string? wholeFileError = null;
        Domain.YearMonth? latestUsage = null;
        // Its own span: the first pass begins once the attempt is recorded as Running.
        using (Telemetry.Source.StartActivity("ValidateFeed"))
        {
            try
            {
                await using (var raw = await open(cancellationToken).ConfigureAwait(false))
                {
                    var observed = new ObservedStream(raw, hash: true);
                    await using (observed.ConfigureAwait(false))
                    {
                        try
                        {
                            using var reader = await FeedRowReader.OpenAsync(observed, source, format, gzip, fileName, cancellationToken).ConfigureAwait(false);
                            var sink = new CountingSink();
                            long rows = 0;
                            await foreach (var row in reader.WithCancellation(cancellationToken).ConfigureAwait(false))
                            {
                                normalizer.Normalize(row, sink);
                                if ((++rows & 0xFFFF) == 0)
                                {
                                    cancellationToken.ThrowIfCancellationRequested();
                                    progress?.Report(new IngestionProgress(IngestionPhase.Validating, observed.BytesRead, totalBytes, rows));
                                }
                            }
                            latestUsage = sink.LatestUsageMonth;
                            _log.Validated(id, rows, (_time.GetUtcNow() - startedAt).TotalMilliseconds);
                        }
                        catch (Exception e) when (e is FeedFormatException or InvalidDataException)
                        {
                            wholeFileError = e is FeedFormatException ? e.Message : $"The file cannot be read: {e.Message}";
                        }
                        sha256 = await observed.FinishHashAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (FeedContentChangedException e)
            {
                // Nothing claimed or written yet; the content that replaced it is ingested on its own.
                return await FinishAsync(result with { Status = IngestionStatus.Failed, Error = e.Message }, cancellationToken).ConfigureAwait(false);
            }
        }
        result = result with { ContentSha256 = sha256, LatestUsageMonth = latestUsage };
        if (wholeFileError is not null)
            return await FinishAsync(result with { Status = IngestionStatus.Failed, Error = wholeFileError }, cancellationToken).ConfigureAwait(false);

        var commits = new RecordCommits(storage, RecordOptions, _time, _log);
        var claim = await commits.Claims.AcquireAsync(ContentClaims.ContentKey(source, sha256), id, breakLiveLease: false, cancellationToken,
            (wait, ct) => AnnounceWaitAsync(result, wait, ct)).ConfigureAwait(false);
        switch (claim.Outcome)
        {
            case ClaimOutcome.Committed:
                await commits.FinishCommittedRowAsync(source, claim.Holder!, cancellationToken).ConfigureAwait(false);
                return await FinishAsync(result with { Status = IngestionStatus.Duplicate, DuplicateOf = claim.Holder, Error = $"Same content as ingestion {claim.Holder}; nothing changed." }, cancellationToken).ConfigureAwait(false);
            case ClaimOutcome.Busy:
                return await FinishAsync(result with
                {
                    Status = IngestionStatus.Failed,
                    Error = $"The same content is being ingested by {claim.Holder}, still at work after {RecordOptions.ClaimWait.TotalMinutes:0.#} min; nothing was stored here. Ingest the file again if that attempt fails.",
                }, cancellationToken).ConfigureAwait(false);
        }

        var lease = claim.Lease!;
        attempt.Claimed = true;
        try
        {
            if (claim.Abandoned is { } abandoned) await commits.MarkAbandonedAsync(source, abandoned, id, cancellationToken).ConfigureAwait(false);
            await Phase(WritePhase.Claimed, cancellationToken).ConfigureAwait(false);
            return await WriteAsync(result, commits, lease, attempt, source, open, format, gzip, normalizer, totalBytes, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped from outside (the host shutting down): like a crash, the lease runs out by itself and the next
            // attempt on this content takes over and marks this row Failed.
            await lease.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        catch (FeedContentChangedException e)
        {
            // Not a fault to retry: this attempt's content is gone. Its claim is released as failed, so the original bytes
            // uploaded again are ingested, not a Duplicate of an attempt that stored nothing; its rejected rows go too.
            await lease.FailAsync(id).ConfigureAwait(false);
            await _store.DeleteRejectedAsync(id, cancellationToken).ConfigureAwait(false);
            return await FinishAsync(result with { Status = IngestionStatus.Failed, Error = e.Message }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (attempt.Committed is not null)
        {
            // Committed: the records are visible and the claim says so; only the status (or the compaction after it)
            // failed. One more try at the status, else the next attempt on this content finishes the row from the log.
            try
            {
                // Briefly: when storage itself is down this cannot succeed, and the caller is waiting to report it.
                using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await FinishAsync(attempt.Committed, brief.Token).ConfigureAwait(false);
            }
            catch (Exception saveFailure) when (saveFailure is Azure.RequestFailedException or IOException or System.Net.Http.HttpRequestException or AggregateException or OperationCanceledException)
            {
                _log.StatusWriteFailed(attempt.Committed.IngestionId, attempt.Committed.Status.ToString(), saveFailure);
            }
            throw;
        }
        catch (Exception e)
        {
            // Nothing uncommitted is visible; the row says the attempt did not finish, and re-ingesting the same
            // content runs it again. Best effort: storage may be what failed.
            await lease.FailAsync(id).ConfigureAwait(false);
            try
            {
                var lost = e is ClaimLostException;
                // Briefly: when storage itself is down this cannot succeed, and the caller is waiting to report it.
                using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await FinishAsync(result with
                {
                    Status = IngestionStatus.Failed,
                    Error = lost
                        ? $"Lost its claim on the content before committing ({e.Message}); nothing of this attempt is visible."
                        : $"Interrupted while writing ({e.GetType().Name}: {e.Message}); nothing of this attempt is visible. Ingest the file again to complete it.",
                }, brief.Token).ConfigureAwait(false);
            }
            catch (Exception saveFailure) when (saveFailure is Azure.RequestFailedException or IOException or System.Net.Http.HttpRequestException or AggregateException or OperationCanceledException)
            {
                // Storage is unreachable; the attempt stays Running until the next attempt on this content takes over.
                _log.StatusWriteFailed(id, IngestionStatus.Failed.ToString(), saveFailure);
            }
            throw;
        }
    }

    private async Task<FeedIngestionResult> WriteAsync(
        FeedIngestionResult result, RecordCommits commits, ClaimLease lease, Attempt attempt, FeedSource source, FeedContentOpener open, FeedFormat format, bool gzip,
        FeedRecordNormalizer normalizer, long? totalBytes, IProgress<IngestionProgress>? progress, CancellationToken cancellationToken)
    {
        var id = result.IngestionId;
        long total = 0, accepted = 0, rejected = 0;
        RecordCommit commit;
        var records = await SegmentWriter.CreateAsync(commits.Log, id, cancellationToken).ConfigureAwait(false);
        await using (records.ConfigureAwait(false))
        {
            var rejects = new TableBatchWriter(storage.Table(TableNames.RejectedRecords), MaxInFlightBatches);
            await using (rejects.ConfigureAwait(false))
            {
                await using var raw = await open(cancellationToken).ConfigureAwait(false);
                // Hashed again: only the bytes the validation pass hashed and claimed may be committed.
                var observed = new ObservedStream(raw, hash: true);
                await using (observed.ConfigureAwait(false))
                {
                    using var reader = await FeedRowReader.OpenAsync(observed, source, format, gzip, result.FileName, cancellationToken).ConfigureAwait(false);
                    await foreach (var row in reader.WithCancellation(cancellationToken).ConfigureAwait(false))
                    {
                        total++;
                        if (normalizer.Normalize(row, records) is { } reason)
                        {
                            rejected++;
                            records.Discard();
                            await rejects.UpsertAsync(IngestionStore.RejectedEntity(source, id, row.Line, reason, row.RawText()), cancellationToken).ConfigureAwait(false);
                        }
                        else
                        {
                            accepted++;
                            await records.AcceptAsync(cancellationToken).ConfigureAwait(false);
                        }
                        if ((total & 0x3FFF) == 0)
                        {
                            cancellationToken.ThrowIfCancellationRequested();
                            progress?.Report(new IngestionProgress(IngestionPhase.Writing, observed.BytesRead, totalBytes, total));
                        }
                    }
                    progress?.Report(new IngestionProgress(IngestionPhase.Writing, observed.BytesRead, totalBytes, total));
                    if (await observed.FinishHashAsync(cancellationToken).ConfigureAwait(false) != result.ContentSha256)
                        throw new FeedContentChangedException(
                            $"The file {result.FileName} changed while it was being ingested: the write pass read other bytes than the validation pass hashed " +
                            $"(SHA-256 {result.ContentSha256}); nothing of this attempt was stored. Ingest the file again once it is complete.");
                }
                await Task.WhenAll(records.FlushAsync(cancellationToken), rejects.FlushAsync(cancellationToken)).ConfigureAwait(false);
            }
            await Phase(WritePhase.RecordsWritten, cancellationToken).ConfigureAwait(false);
            commit = await RecordCommits.CommitAsync(lease, records, id, source, new CommitRows(total, accepted, rejected), cancellationToken).ConfigureAwait(false);
        }
        attempt.Committed = result with
        {
            Status = rejected == 0 ? IngestionStatus.Succeeded : IngestionStatus.CompletedWithRejections,
            RowsTotal = total,
            RowsAccepted = accepted,
            RowsRejected = rejected,
        };
        await Phase(WritePhase.Committed, cancellationToken).ConfigureAwait(false);

        var finished = await FinishAsync(attempt.Committed, cancellationToken).ConfigureAwait(false);
        await commits.CompactIfNeededAsync(commit, cancellationToken).ConfigureAwait(false);
        return finished;
    }

    /// <summary>Rows stored (accepted) and rejected, by source: the ingestion's throughput on a dashboard.</summary>
    private static readonly System.Diagnostics.Metrics.Counter<long> IngestedRows = Telemetry.Meter.CreateCounter<long>("attribution.ingestion.rows", "{row}");

    /// <summary>What the write pass got to: once committed, a later failure must not mark the row Failed.</summary>
    private sealed class Attempt
    {
        /// <summary>Holds the claim: from here a crash is recovered by the next attempt's takeover.</summary>
        public bool Claimed { get; set; }

        public FeedIngestionResult? Committed { get; set; }
    }

    /// <summary>
    /// Dead attempts of the same file or content (no heartbeat for a lease period) are finished, naming this one: an
    /// attempt that died before its claim is linked to nothing else. Best effort, after this attempt's own row: its
    /// outcome does not depend on it, and readers show such rows as abandoned anyway.
    /// </summary>
    private async Task FinishAbandonedAsync(FeedIngestionResult self, CancellationToken cancellationToken)
    {
        try
        {
            var finished = await new RecordCommits(storage, RecordOptions, _time, _log)
                .FinishAbandonedAsync(self.Source, self.FileName, self.ContentSha256, self.IngestionId, cancellationToken).ConfigureAwait(false);
            foreach (var dead in finished) _log.AbandonedAttemptFinished(dead, self.Source.Name(), self.FileName, self.IngestionId);
        }
        catch (Exception e) when (e is Azure.RequestFailedException or IOException or System.Net.Http.HttpRequestException or AggregateException)
        {
            _log.AbandonedAttemptsNotChecked(self.IngestionId, self.Source.Name(), self.FileName, e.Message);
        }
    }

    private async Task AnnounceWaitAsync(FeedIngestionResult attempt, ClaimWaitStarted wait, CancellationToken cancellationToken)
    {
        var holder = wait.Holder is null ? null : await _store.GetAsync(attempt.Source, wait.Holder, cancellationToken).ConfigureAwait(false);
        var announced = new IngestionWait(attempt.IngestionId, attempt.Source, attempt.FileName, wait.Holder ?? "(not named on the claim)", holder?.FileName, holder?.StartedAt,
            wait.Since, wait.Until, wait.Lease);
        _log.WaitingForClaim(attempt.IngestionId, attempt.Source.Name(), attempt.FileName, wait.Since, announced.HolderId, holder?.FileName ?? "file unknown", holder?.StartedAt,
            wait.Lease.TotalSeconds, wait.Until);
        Waiting?.Invoke(announced);
    }

    private Task Phase(WritePhase phase, CancellationToken cancellationToken) =>
        AfterPhase is { } hook ? hook(phase, cancellationToken) : Task.CompletedTask;

    private async Task<FeedIngestionResult> FinishAsync(FeedIngestionResult result, CancellationToken cancellationToken)
    {
        result = result with { CompletedAt = _time.GetUtcNow(), HeartbeatAt = null, HeartbeatTimeout = null };
        await _store.SaveAsync(result, cancellationToken).ConfigureAwait(false);
        await FinishAbandonedAsync(result, cancellationToken).ConfigureAwait(false);
        // Logged once the row says so: every way out of an ingestion that records its end comes through here.
        if (result.Status == IngestionStatus.Failed) _log.IngestionFailed(result.IngestionId, result.Source.Name(), result.FileName, result.Error);
        _log.IngestionEnded(result.IngestionId, result.Status.ToString(), result.Source.Name(), result.FileName, result.RowsTotal, result.RowsAccepted, result.RowsRejected,
            (result.CompletedAt.Value - result.StartedAt).TotalMilliseconds);
        IngestedRows.Add(result.RowsAccepted, new KeyValuePair<string, object?>("source", result.Source.Name()), new KeyValuePair<string, object?>("outcome", "accepted"));
        IngestedRows.Add(result.RowsRejected, new KeyValuePair<string, object?>("source", result.Source.Name()), new KeyValuePair<string, object?>("outcome", "rejected"));
        return result;
    }
}
