using Attribution.Domain.Feeds;

namespace Attribution.Pipeline.Ingestion;

/// <summary>`status` of a FeedIngestions row. Running is the in-flight state; an attempt that crashed stays Running.</summary>
public enum IngestionStatus
{
    Running,
    Succeeded,
    CompletedWithRejections,
    Failed,
    Duplicate,
}

/// <summary>The outcome of one ingestion attempt, as recorded in FeedIngestions.</summary>
public sealed record FeedIngestionResult(
    string IngestionId,
    FeedSource Source,
    string FileName,
    string? ContentSha256,
    IngestionStatus Status,
    long RowsTotal,
    long RowsAccepted,
    long RowsRejected,
    DateTimeOffset StartedAt,
    DateTimeOffset? CompletedAt,
    string? Error = null,
    string? DuplicateOf = null)
{
    /// <summary>The latest month among the file's accepted usage rows (not stored; lets `run` pick a default asOf).</summary>
    public Domain.YearMonth? LatestUsageMonth { get; init; }

    /// <summary>
    /// While Running: when the attempt last said it is alive. It renews this every third of <see cref="HeartbeatTimeout"/>;
    /// a Running row whose heartbeat is older than that belongs to a process that is gone. Null on finished rows and on
    /// rows that keep no heartbeat (messages: their redelivery finishes them).
    /// </summary>
    public DateTimeOffset? HeartbeatAt { get; init; }

    /// <summary>How old <see cref="HeartbeatAt"/> may get before the attempt counts as abandoned (the claim lease).</summary>
    public TimeSpan? HeartbeatTimeout { get; init; }

    /// <summary>Running, with a heartbeat older than its timeout at <paramref name="now"/>: its process stopped.</summary>
    public bool IsAbandoned(DateTimeOffset now) =>
        Status == IngestionStatus.Running && HeartbeatAt is { } at && HeartbeatTimeout is { } timeout && now - at > timeout;

    /// <summary>The whole file or message could not be used (bad header, unreadable, storage failure).</summary>
    public bool FailedAsWhole => Status == IngestionStatus.Failed;
}

/// <summary>A rejected row: its line, why, and the row as it appeared.</summary>
public sealed record RejectedRow(long Line, string Reason, string Raw);

public enum IngestionPhase
{
    Validating,
    Writing,
}

/// <summary>Progress of a file ingestion, for a terminal progress bar.</summary>
public readonly record struct IngestionProgress(IngestionPhase Phase, long BytesRead, long? TotalBytes, long Rows);

/// <summary>
/// An attempt waits on another attempt's claim on the same content (docs/storage.md, Claims): which attempt and file it
/// waits for, since when, and until when at most. It ends sooner when that attempt commits (this one is then a
/// Duplicate) or fails, or when its claim lease runs out because its process stopped.
/// </summary>
public sealed record IngestionWait(
    string IngestionId,
    FeedSource Source,
    string FileName,
    string HolderId,
    string? HolderFileName,
    DateTimeOffset? HolderStartedAt,
    DateTimeOffset Since,
    DateTimeOffset Until,
    TimeSpan Lease)
{
    /// <summary>One line for an operator: "usage.csv: waiting for ingestion X (usage.csv, started …) …".</summary>
    public string Message => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{FileName}: waiting since {Since.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z for ingestion {HolderId} " +
        $"({(HolderFileName is null ? "file unknown" : HolderFileName)}{(HolderStartedAt is { } s ? $", started {s.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z" : "")}), " +
        $"which is ingesting the same content: until it commits (this file is then a Duplicate) or fails, or its claim lease of {Lease.TotalSeconds:0} s " +
        $"runs out if its process stopped; at most until {Until.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z.");
}
