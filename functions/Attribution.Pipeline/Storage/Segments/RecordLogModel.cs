using System.Text.Json.Serialization;

namespace Attribution.Pipeline.Storage;

/// <summary>The kinds of canonical record; each has its own folder and Parquet schema.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RecordKind>))]
internal enum RecordKind
{
    [JsonStringEnumMemberName("usage")] Usage,
    [JsonStringEnumMemberName("associations")] Associations,
    [JsonStringEnumMemberName("dpor")] Dpor,
    [JsonStringEnumMemberName("partners")] Partners,
    [JsonStringEnumMemberName("certifications")] Certifications,
}

internal static class RecordKinds
{
    public static readonly RecordKind[] All = [RecordKind.Usage, RecordKind.Associations, RecordKind.Dpor, RecordKind.Partners, RecordKind.Certifications];
    public const int Count = 5;

    public static string Folder(this RecordKind kind) => kind switch
    {
        RecordKind.Usage => "usage",
        RecordKind.Associations => "associations",
        RecordKind.Dpor => "dpor",
        RecordKind.Partners => "partners",
        RecordKind.Certifications => "certifications",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Partner-level kinds (the directory, certifications) have no customer tenant: one unbucketed folder each.</summary>
    public static bool IsBucketed(this RecordKind kind) => kind is not (RecordKind.Partners or RecordKind.Certifications);
}

/// <summary>One immutable Parquet segment as a commit names it.</summary>
/// <param name="Path">Blob name in the `records` container.</param>
/// <param name="Bucket">Customer-tenant bucket; -1 for the partner-level kinds (partners, certifications).</param>
/// <param name="UniqueKeys">No natural key occurs twice inside it (the writer de-duplicates each part), so a bucket
/// made of this one segment needs no latest-wins pass.</param>
internal sealed record SegmentInfo(string Path, RecordKind Kind, int Bucket, long Rows, long Bytes, bool UniqueKeys);

/// <summary>Row counts of an ingestion, kept in its commit so a taker-over can finish a crashed attempt's row.</summary>
internal sealed record CommitRows(long Total, long Accepted, long Rejected);

/// <summary>One commit: `records/_log/{version:D20}.json`, created with If-None-Match:* so a version is taken once.</summary>
internal sealed record CommitEntry
{
    public const string Ingest = "ingest";
    public const string Compact = "compact";

    public long Version { get; init; }

    /// <summary>Unique per commit attempt: a committer whose create succeeded but whose response was lost (and whose
    /// retry then met "already exists") recognises its own entry instead of committing twice.</summary>
    public string CommitId { get; init; } = "";

    public string Operation { get; init; } = Ingest;
    public string? IngestionId { get; init; }
    public string? Source { get; init; }
    public DateTimeOffset CommittedAt { get; init; }
    public CommitRows? Rows { get; init; }
    public List<SegmentInfo> Add { get; init; } = [];
    public List<string> Remove { get; init; } = [];
}

/// <summary>A segment a compaction removed: still readable by older versions until the retention has passed.</summary>
internal sealed record RemovedSegment(string Path, long Version, DateTimeOffset RemovedAt);

/// <summary>The full state at a version: `records/_checkpoints/{version:D20}.json`, every N commits.</summary>
internal sealed record Checkpoint
{
    public long Version { get; init; }
    public List<SegmentInfo> Segments { get; init; } = [];

    /// <summary>Every committed ingestion and the version that committed it: the order of latest-wins.</summary>
    public Dictionary<string, long> Ingestions { get; init; } = new(StringComparer.Ordinal);

    public List<RemovedSegment> Removed { get; init; } = [];
}

/// <summary>The store's metadata, `records/_store.json`, written once: the layout every reader and writer must agree on.</summary>
internal sealed record StoreMetadata(int FormatVersion, int BucketCount, string BucketHash, int CheckpointInterval);

/// <summary>The committed state at one version, built from a checkpoint and the log entries after it.</summary>
internal sealed class RecordState
{
    private readonly Dictionary<string, SegmentInfo> _live;
    private readonly Dictionary<string, long> _ingestions;
    private readonly List<RemovedSegment> _removed;

    private RecordState(long version, Dictionary<string, SegmentInfo> live, Dictionary<string, long> ingestions, List<RemovedSegment> removed)
    {
        Version = version;
        _live = live;
        _ingestions = ingestions;
        _removed = removed;
    }

    public static RecordState Empty() => new(0, new(StringComparer.Ordinal), new(StringComparer.Ordinal), []);

    public static RecordState From(Checkpoint c) =>
        new(c.Version, c.Segments.ToDictionary(s => s.Path, StringComparer.Ordinal), new(c.Ingestions, StringComparer.Ordinal), [.. c.Removed]);

    public long Version { get; private set; }
    public IReadOnlyDictionary<string, long> Ingestions => _ingestions;
    public IEnumerable<SegmentInfo> Live => _live.Values;
    public IReadOnlyList<RemovedSegment> Removed => _removed;
    public bool IsLive(string path) => _live.ContainsKey(path);

    public void Apply(CommitEntry entry)
    {
        if (entry.Version != Version + 1)
            throw new InvalidDataException($"Record log entry {entry.Version} follows version {Version}: the log has a gap.");
        foreach (var path in entry.Remove)
            if (_live.Remove(path)) _removed.Add(new RemovedSegment(path, entry.Version, entry.CommittedAt));
        foreach (var s in entry.Add) _live[s.Path] = s;
        if (entry.Operation == CommitEntry.Ingest && entry.IngestionId is { } id) _ingestions.TryAdd(id, entry.Version);
        Version = entry.Version;
    }

    /// <summary>A checkpoint of this state, forgetting removals older than <paramref name="forgetBefore"/> (deleted, or garbage by then).</summary>
    public Checkpoint ToCheckpoint(DateTimeOffset forgetBefore) => new()
    {
        Version = Version,
        Segments = [.. _live.Values.OrderBy(s => s.Path, StringComparer.Ordinal)],
        Ingestions = new(_ingestions, StringComparer.Ordinal),
        Removed = [.. _removed.Where(r => r.RemovedAt >= forgetBefore)],
    };

    public RecordState Clone() => new(Version, new(_live, StringComparer.Ordinal), new(_ingestions, StringComparer.Ordinal), [.. _removed]);
}
