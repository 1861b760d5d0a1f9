using System.Globalization;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attribution.Pipeline.Storage;

/// <summary>What a compaction run did.</summary>
internal sealed record CompactionSummary(int BucketsCompacted, int SegmentsRemoved, int BlobsDeleted, long Version);

/// <summary>
/// Keeps the read cost of a bucket bounded however many files and messages arrive: merges a bucket's live segments of
/// one kind into one de-duplicated segment (latest wins by natural key), committed as one log entry that removes the
/// inputs and adds the result. Idempotent and crash-safe: the merged segment is invisible until that commit, and a
/// commit whose inputs another compaction already removed is refused (its output is then garbage). Replaced segments
/// stay readable for <see cref="RecordStoreOptions.Retention"/> so older snapshots still read; <see cref="CleanUpAsync"/>
/// deletes them after it, and segments no commit names once older than <see cref="RecordStoreOptions.UncommittedGrace"/>.
/// </summary>
internal sealed class RecordCompactor
{
    private readonly RecordLog _log;

    /// <param name="logger">Where failed deletions of old segments (and tip or checkpoint writes) are said; none if left out.</param>
    public RecordCompactor(StorageAccount storage, RecordStoreOptions options, TimeProvider time, ILogger logger) =>
        _log = new RecordLog(storage, options, time, logger);

    internal RecordCompactor(RecordLog log) => _log = log;

    /// <summary>Test hook: runs after the merged segment is written, before its commit (may throw to simulate a crash).</summary>
    internal Func<string, CancellationToken, Task>? AfterSegmentWritten { get; init; }

    /// <summary>
    /// Compacts every bucket whose live segments of a kind exceed <see cref="RecordStoreOptions.CompactionThreshold"/>
    /// (with <paramref name="all"/>: every bucket of more than one segment), then cleans up what retention allows.
    /// </summary>
    public async Task<CompactionSummary> CompactAsync(bool all = false, CancellationToken cancellationToken = default)
    {
        var state = await _log.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        var candidates = state.Live.GroupBy(s => (s.Kind, s.Bucket)).Select(g => g.Key);
        var summary = await CompactBucketsAsync(candidates, all ? 1 : _log.Options.CompactionThreshold, cancellationToken).ConfigureAwait(false);
        var deleted = await CleanUpAsync(cancellationToken).ConfigureAwait(false);
        return summary with { BlobsDeleted = summary.BlobsDeleted + deleted };
    }

    /// <summary>Compacts those of <paramref name="buckets"/> with more than <paramref name="threshold"/> live segments, and cleans up their folders.</summary>
    internal async Task<CompactionSummary> CompactBucketsAsync(IEnumerable<(RecordKind Kind, int Bucket)> buckets, int threshold, CancellationToken cancellationToken)
    {
        int compacted = 0, removed = 0, deleted = 0;
        long version = 0;
        foreach (var (kind, bucket) in buckets.Distinct().OrderBy(b => b.Kind).ThenBy(b => b.Bucket))
        {
            var (done, inputs, at) = await CompactOneAsync(kind, bucket, threshold, cancellationToken).ConfigureAwait(false);
            if (!done) continue;
            compacted++;
            removed += inputs;
            version = Math.Max(version, at);
            deleted += await CleanUpAsync(SegmentWriter.SegmentPath(kind, bucket, "")[..^".parquet".Length], cancellationToken).ConfigureAwait(false);
        }
        return new CompactionSummary(compacted, removed, deleted, version);
    }

    internal async Task<(bool Done, int Inputs, long Version)> CompactOneAsync(RecordKind kind, int bucket, int threshold, CancellationToken cancellationToken)
    {
        var metadata = await _log.MetadataAsync(cancellationToken).ConfigureAwait(false);
        var state = await _log.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        var snapshot = new RecordSnapshot(_log, state, metadata.BucketCount);
        var inputs = snapshot.Segments(kind, bucket);
        // Every part is de-duplicated when written, so one segment is already compact.
        if (inputs.Count <= Math.Max(1, threshold)) return (false, 0, state.Version);

        var name = string.Create(CultureInfo.InvariantCulture, $"compact-{state.Version:D20}-{Guid.NewGuid().ToString("N")[..8]}");
        var path = SegmentWriter.SegmentPath(kind, bucket, name);
        var b = kind.IsBucketed() ? bucket : -1;
        var segment = kind switch
        {
            RecordKind.Usage => await SegmentFiles.WriteAsync(_log, UsageCodec.Instance,
                await snapshot.ReadAsync(UsageCodec.Instance, UsageCodec.Key, inputs, RowFilter.All, false, cancellationToken).ConfigureAwait(false), path, b, true, cancellationToken).ConfigureAwait(false),
            RecordKind.Associations => await SegmentFiles.WriteAsync(_log, AssociationCodec.Instance,
                await snapshot.ReadAsync(AssociationCodec.Instance, AssociationCodec.Key, inputs, RowFilter.All, false, cancellationToken).ConfigureAwait(false), path, b, true, cancellationToken).ConfigureAwait(false),
            RecordKind.Dpor => await SegmentFiles.WriteAsync(_log, DporCodec.Instance,
                await snapshot.ReadAsync(DporCodec.Instance, DporCodec.Key, inputs, RowFilter.All, false, cancellationToken).ConfigureAwait(false), path, b, true, cancellationToken).ConfigureAwait(false),
            RecordKind.Certifications => await SegmentFiles.WriteAsync(_log, CertificationCodec.Instance,
                await snapshot.ReadAsync(CertificationCodec.Instance, CertificationCodec.Key, inputs, RowFilter.All, false, cancellationToken).ConfigureAwait(false), path, b, true, cancellationToken).ConfigureAwait(false),
            _ => await SegmentFiles.WriteAsync(_log, PartnerCodec.Instance,
                await snapshot.ReadAsync(PartnerCodec.Instance, p => p.Partner.PartnerId, inputs, RowFilter.All, false, cancellationToken).ConfigureAwait(false), path, b, true, cancellationToken).ConfigureAwait(false),
        };
        if (AfterSegmentWritten is { } hook) await hook(path, cancellationToken).ConfigureAwait(false);

        var removed = inputs.Select(s => s.Path).ToList();
        try
        {
            var (version, _) = await _log.CommitAsync(new CommitEntry { Operation = CommitEntry.Compact, Add = [segment], Remove = removed },
                s => removed.All(s.IsLive) ? null : $"Another compaction already replaced segments of {kind.Folder()} bucket {bucket}.",
                cancellationToken).ConfigureAwait(false);
            return (true, removed.Count, version);
        }
        catch (RecordCommitConflictException)
        {
            await DeleteQuietlyAsync(path, cancellationToken).ConfigureAwait(false);
            return (false, 0, state.Version);
        }
    }

    /// <summary>
    /// Deletes segments of compactions older than the retention, and segments no commit names once older than the
    /// grace period (crashed ingestions and compactions). Returns how many blobs it deleted.
    /// </summary>
    public async Task<int> CleanUpAsync(CancellationToken cancellationToken = default)
    {
        var deleted = 0;
        foreach (var kind in RecordKinds.All) deleted += await CleanUpAsync(kind.Folder() + "/", cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    private async Task<int> CleanUpAsync(string prefix, CancellationToken cancellationToken)
    {
        var state = await _log.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        var removed = state.Removed.ToDictionary(r => r.Path, StringComparer.Ordinal);
        var now = _log.Time.GetUtcNow();
        var deleted = 0;
        await foreach (var blob in _log.Container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, cancellationToken).ConfigureAwait(false))
        {
            if (state.IsLive(blob.Name)) continue;
            var expired = removed.TryGetValue(blob.Name, out var r)
                ? now - r.RemovedAt >= _log.Options.Retention
                : blob.Properties.LastModified is { } modified && now - modified >= _log.Options.UncommittedGrace;
            if (expired && await DeleteQuietlyAsync(blob.Name, cancellationToken).ConfigureAwait(false)) deleted++;
        }
        return deleted;
    }

    private async Task<bool> DeleteQuietlyAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return (await _log.Container.GetBlobClient(path).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e)
        {
            // Garbage stays until the next clean-up; said and counted, as deletions that keep failing pile up storage.
            _log.Logger.SegmentCleanupFailed(path, e);
            return false;
        }
    }
}
