namespace Attribution.Pipeline.Storage;

/// <summary>
/// How far the record store is behind on compaction (docs/storage.md), from the log's state alone (a checkpoint and
/// the entries after it, as every open reads): no segment is read. A bucket whose live segments of one kind exceed
/// <see cref="CompactionThreshold"/> is compacted by the next commit that adds to it; one that stays over means
/// compaction is failing (event 3001) or off, and every read of that bucket reads all of its segments.
/// </summary>
/// <param name="Version">The latest records version.</param>
/// <param name="Buckets">The store's customer-tenant buckets.</param>
/// <param name="CompactionThreshold">The threshold this process compacts at (<see cref="RecordStoreOptions.CompactionThreshold"/>).</param>
/// <param name="BucketsOverThreshold">Buckets with more live segments of some kind than the threshold.</param>
/// <param name="PartnersOverThreshold">Whether an unbucketed partner-level folder (partners, certifications) is over the threshold too.</param>
/// <param name="MaxSegments">The most live segments of one kind in one bucket (or a partner-level folder).</param>
/// <param name="OldestUncompactedVersion">The oldest commit with an ingested segment still live in a folder over the
/// threshold: the backlog has been building since then. Null when nothing is over.</param>
/// <param name="OldestUncompactedAt">When that commit was made.</param>
public sealed record RecordStoreHealth(
    long Version,
    int Buckets,
    int CompactionThreshold,
    int BucketsOverThreshold,
    bool PartnersOverThreshold,
    int MaxSegments,
    long? OldestUncompactedVersion,
    DateTimeOffset? OldestUncompactedAt)
{
    /// <summary>Whether any folder is over the threshold: compaction is behind.</summary>
    public bool Backlog => BucketsOverThreshold > 0 || PartnersOverThreshold;

    internal static async Task<RecordStoreHealth> ReadAsync(RecordLog log, CancellationToken cancellationToken)
    {
        var metadata = await log.MetadataAsync(cancellationToken).ConfigureAwait(false);
        var state = await log.OpenAsync(null, cancellationToken).ConfigureAwait(false);
        var threshold = log.Options.CompactionThreshold;
        var folders = state.Live.GroupBy(s => (s.Kind, s.Bucket)).Select(g => (g.Key.Kind, g.Key.Bucket, Segments: g.ToList())).ToList();
        var over = folders.Where(f => f.Segments.Count > threshold).ToList();

        long? oldest = null;
        foreach (var segment in over.SelectMany(f => f.Segments))
        {
            // Compaction outputs are compacted; an ingested segment names its ingestion, whose commit the state knows.
            if (IngestionOf(segment.Path) is { } id && state.Ingestions.TryGetValue(id, out var v) && (oldest is null || v < oldest)) oldest = v;
        }
        // One more blob for its time: the commit entry itself.
        var at = oldest is { } o ? (await log.ReadEntryAsync(o, cancellationToken).ConfigureAwait(false))?.CommittedAt : null;
        return new RecordStoreHealth(
            state.Version,
            metadata.BucketCount,
            threshold,
            over.Where(f => f.Kind.IsBucketed()).Select(f => f.Bucket).Distinct().Count(),
            over.Any(f => !f.Kind.IsBucketed()),
            folders.Count == 0 ? 0 : folders.Max(f => f.Segments.Count),
            oldest,
            at);
    }

    /// <summary>The ingestion id in an ingested segment's name (`{ingestionId}-{attempt}-{part}.parquet`, see SegmentWriter).</summary>
    internal static string? IngestionOf(string path)
    {
        var name = path[(path.LastIndexOf('/') + 1)..];
        if (!name.EndsWith(".parquet", StringComparison.Ordinal)) return null;
        name = name[..^".parquet".Length];
        var part = name.LastIndexOf('-');
        if (part <= 0) return null;
        var attempt = name.LastIndexOf('-', part - 1);
        return attempt <= 0 ? null : name[..attempt];
    }
}
