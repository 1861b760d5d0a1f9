using Attribution.Domain.Feeds;
using Attribution.Pipeline.Storage;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Ingestion;

/// <summary>Points of an ingestion's write path; tests use them to make storage fail (or the process "die") there.</summary>
internal enum WritePhase
{
    /// <summary>The FeedIngestions row says Running; no claim yet.</summary>
    RunningRecorded,

    /// <summary>The claim is held; nothing written.</summary>
    Claimed,

    /// <summary>Every segment and rejected row is written; nothing is committed (visible) yet.</summary>
    RecordsWritten,

    /// <summary>The commit is in the log (records visible); the final status is not written.</summary>
    Committed,
}

/// <summary>
/// The steps file and message ingestion share around a claim (docs/storage.md): finishing the row of an attempt whose
/// commit landed but whose status did not, marking an abandoned attempt's row Failed, committing under the claim, and
/// compacting the buckets a commit made too long.
/// </summary>
/// <param name="logger">The ingestion's logger: the maintenance it carries on after (compaction, tip, checkpoint,
/// claim) says its failures there.</param>
internal sealed class RecordCommits(StorageAccount storage, RecordStoreOptions options, TimeProvider time, ILogger logger)
{
    private readonly IngestionStore _store = new(storage, time);

    public RecordLog Log { get; } = new(storage, options, time, logger);

    public ContentClaims Claims => new(Log, logger);

    /// <summary>The claim says <paramref name="holder"/> committed: if its row still says Running (it died after the
    /// commit), finish it from the counts its commit recorded, so no attempt stays Running.</summary>
    public async Task<FeedIngestionResult?> FinishCommittedRowAsync(FeedSource source, string holder, CancellationToken cancellationToken)
    {
        var row = await _store.GetAsync(source, holder, cancellationToken).ConfigureAwait(false);
        if (row is not { Status: IngestionStatus.Running }) return row;
        if (await CommittedOutcomeAsync(row, cancellationToken).ConfigureAwait(false) is not { } finished) return row;
        await _store.SaveAsync(finished, cancellationToken).ConfigureAwait(false);
        return finished;
    }

    /// <summary>The row as its commit finished it, if the log names its ingestion; else null (nothing of it is visible).</summary>
    public async Task<FeedIngestionResult?> CommittedOutcomeAsync(FeedIngestionResult row, CancellationToken cancellationToken)
    {
        var state = await Log.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        if (!state.Ingestions.TryGetValue(row.IngestionId, out var version)) return null;
        var entry = await Log.ReadEntryAsync(version, cancellationToken).ConfigureAwait(false);
        if (entry?.Rows is not { } rows) return null;
        return row with
        {
            Status = rows.Rejected == 0 ? IngestionStatus.Succeeded : IngestionStatus.CompletedWithRejections,
            RowsTotal = rows.Total,
            RowsAccepted = rows.Accepted,
            RowsRejected = rows.Rejected,
            CompletedAt = entry.CommittedAt,
            Error = null,
            HeartbeatAt = null,
            HeartbeatTimeout = null,
        };
    }

    /// <summary>
    /// Attempts of the same file (name) or content whose heartbeat ran out (their process is gone, possibly before they
    /// hashed or claimed anything, so no claim leads to them) are finished: from their commit if it landed, else Failed
    /// naming <paramref name="takenOverBy"/>. A row that beat in between is alive and left alone. Returns the ids finished.
    /// </summary>
    public async Task<List<string>> FinishAbandonedAsync(FeedSource source, string fileName, string? sha256, string takenOverBy, CancellationToken cancellationToken)
    {
        var finished = new List<string>();
        var now = time.GetUtcNow();
        await foreach (var (row, etag) in _store.RunningAsync(source, fileName, sha256, cancellationToken).ConfigureAwait(false))
        {
            if (row.IngestionId == takenOverBy || !row.IsAbandoned(now)) continue;
            var done = await CommittedOutcomeAsync(row, cancellationToken).ConfigureAwait(false) ?? IngestionStore.Abandoned(row, takenOverBy);
            if (await _store.ReplaceIfUnchangedAsync(done, etag, cancellationToken).ConfigureAwait(false)) finished.Add(row.IngestionId);
        }
        return finished;
    }

    /// <summary>An attempt died holding the claim and <paramref name="takenOverBy"/> took over: its row stops saying Running.</summary>
    public async Task MarkAbandonedAsync(FeedSource source, string abandoned, string takenOverBy, CancellationToken cancellationToken)
    {
        var row = await _store.GetAsync(source, abandoned, cancellationToken).ConfigureAwait(false);
        if (row is not { Status: IngestionStatus.Running }) return;
        await _store.SaveAsync(row with
        {
            Status = IngestionStatus.Failed,
            CompletedAt = time.GetUtcNow(),
            HeartbeatAt = null,
            HeartbeatTimeout = null,
            Error = $"Abandoned: this attempt stopped while it held the claim on its content and its lease ran out; ingestion {takenOverBy} took over. Nothing of this attempt was committed.",
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checks the claim is still held, commits, and marks the claim committed. Returns the commit's state.</summary>
    public static async Task<RecordCommit> CommitAsync(ClaimLease lease, IRecordBatch batch, string ingestionId, FeedSource source, CommitRows rows, CancellationToken cancellationToken)
    {
        await lease.VerifyAsync(cancellationToken).ConfigureAwait(false);
        var commit = await batch.CommitAsync(source, rows, cancellationToken).ConfigureAwait(false);
        try
        {
            await lease.CompleteAsync(ingestionId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Azure.RequestFailedException or AggregateException or HttpRequestException)
        {
            // The commit stands (a transport failure must not report it as failed either); the next attempt on this
            // content learns it from the log and repairs the claim. Said and counted.
            lease.Logger.ClaimCompleteFailed(ingestionId, lease.Key, e);
        }
        return commit;
    }

    /// <summary>Best effort: compaction keeps reads bounded but must never fail an ingestion that committed.</summary>
    public async Task CompactIfNeededAsync(RecordCommit commit, CancellationToken cancellationToken)
    {
        if (!options.AutoCompact) return;
        var touched = commit.Added.Select(s => (s.Kind, s.Bucket)).Distinct().ToList();
        var counts = commit.State.Live.GroupBy(s => (s.Kind, s.Bucket)).ToDictionary(g => g.Key, g => g.Count());
        var over = touched.Where(t => counts.GetValueOrDefault(t) > options.CompactionThreshold).ToList();
        if (over.Count == 0) return;
        try
        {
            await new RecordCompactor(Log).CompactBucketsAsync(over, options.CompactionThreshold, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Deferred maintenance: the ingestion is committed and stays successful. The next commit to these buckets
            // (or a `RecordCompactor.CompactAsync` run) tries again. Said and counted, since reads slow down while it
            // keeps failing; `attribution recalc` also prints the backlog (RecordStore.HealthAsync).
            logger.CompactionFailed(over.Count, options.CompactionThreshold, commit.Version, e);
        }
    }
}
