using System.Globalization;

namespace Attribution.Pipeline.Storage;

/// <summary>
/// Tuning of the record segments (docs/storage.md). <see cref="BucketCount"/> and <see cref="CheckpointInterval"/> shape
/// the stored layout, so they apply only when a store is first created: its metadata blob fixes them afterwards.
/// </summary>
public sealed record RecordStoreOptions
{
    /// <summary>Buckets at 1 M tenants (≈39 M usage rows): ≈150 k rows, a few MB per bucket.</summary>
    public const int DefaultBucketCount = 256;

    /// <summary>Environment variable that sets <see cref="BucketCount"/> for a new store.</summary>
    public const string BucketCountVariable = "ATTRIBUTION_RECORD_BUCKETS";

    public static RecordStoreOptions Default { get; } = FromEnvironment();

    /// <summary>Customer-tenant buckets of a new store (1–4096).</summary>
    public int BucketCount { get; init; } = DefaultBucketCount;

    /// <summary>Rows per Parquet row group: small enough that reading one tenant skips most of a segment by statistics.</summary>
    public int RowGroupRows { get; init; } = 8192;

    /// <summary>Rows an ingestion buffers across all buckets before it writes the largest buckets out as segment parts.</summary>
    public int MaxBufferedRows { get; init; } = 500_000;

    /// <summary>Segment uploads in flight per ingestion.</summary>
    public int MaxUploadsInFlight { get; init; } = 4;

    /// <summary>A checkpoint (the full list of live segments) is written every this many commits.</summary>
    public int CheckpointInterval { get; init; } = 20;

    /// <summary>A bucket with more live segments of one kind than this is compacted after a commit that added to it.</summary>
    public int CompactionThreshold { get; init; } = 8;

    /// <summary>Compact automatically after an ingestion commits (else only through <see cref="RecordCompactor"/>).</summary>
    public bool AutoCompact { get; init; } = true;

    /// <summary>How long segments removed by a compaction stay readable, so older runs' evidence still reads them.</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Segments no commit names are deleted once older than this (an ingestion still writing is younger).</summary>
    public TimeSpan UncommittedGrace { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Lease on a content claim, renewed while the attempt works (Azure allows 15–60 s).</summary>
    public TimeSpan ClaimLease { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long an attempt waits for another live attempt on the same content before giving up.</summary>
    public TimeSpan ClaimWait { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The defaults, with <see cref="BucketCountVariable"/> applied when set.</summary>
    public static RecordStoreOptions FromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(BucketCountVariable);
        if (string.IsNullOrWhiteSpace(value)) return new RecordStoreOptions();
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count is < 1 or > 4096)
            throw new InvalidOperationException($"{BucketCountVariable} is '{value}': expected a whole number from 1 to 4096.");
        return new RecordStoreOptions { BucketCount = count };
    }
}
