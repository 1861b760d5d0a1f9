using Attribution.Core.Feeds;

namespace Attribution.Core.Ingestion;

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
