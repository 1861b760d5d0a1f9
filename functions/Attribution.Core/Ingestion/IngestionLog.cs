using Microsoft.Extensions.Logging;

namespace Attribution.Core.Ingestion;

/// <summary>The ingestion's log events (source-generated; event ids 1000-1099 are this area's).</summary>
internal static partial class IngestionLog
{
    [LoggerMessage(1001, LogLevel.Information, "Ingestion {IngestionId} started: {Source} file {FileName} ({Bytes} bytes).")]
    public static partial void IngestionStarted(this ILogger logger, string ingestionId, string source, string fileName, long? bytes);

    [LoggerMessage(1002, LogLevel.Debug, "Ingestion {IngestionId}: validation pass read {Rows} rows in {ElapsedMs:0} ms.")]
    public static partial void Validated(this ILogger logger, string ingestionId, long rows, double elapsedMs);

    [LoggerMessage(1003, LogLevel.Information, "Ingestion {IngestionId} ended {Status}: {Source} file {FileName}, {Total} rows, {Accepted} accepted, {Rejected} rejected in {ElapsedMs:0} ms.")]
    public static partial void IngestionEnded(this ILogger logger, string ingestionId, string status, string source, string fileName, long total, long accepted, long rejected, double elapsedMs);

    [LoggerMessage(1005, LogLevel.Information, "Ingestion {IngestionId} ({Source} file {FileName}) is waiting since {Since:O} for ingestion {Holder} ({HolderFile}, started {HolderStartedAt:O}), " +
        "which holds the claim on the same content: until it commits (then this is a Duplicate) or fails, or its claim lease of {LeaseSeconds:0} s runs out if it has stopped; at most until {Until:O}.")]
    public static partial void WaitingForClaim(this ILogger logger, string ingestionId, string source, string fileName, DateTimeOffset since, string holder, string holderFile,
        DateTimeOffset? holderStartedAt, double leaseSeconds, DateTimeOffset until);

    [LoggerMessage(1006, LogLevel.Information, "Ingestion {Abandoned} ({Source} file {FileName}) had no heartbeat for a lease period: its process is gone; finished by ingestion {TakenOverBy}.")]
    public static partial void AbandonedAttemptFinished(this ILogger logger, string abandoned, string source, string fileName, string takenOverBy);

    [LoggerMessage(1007, LogLevel.Warning, "Ingestion {IngestionId} ({Source} file {FileName}) could not look for abandoned attempts of the same file: {Error}")]
    public static partial void AbandonedAttemptsNotChecked(this ILogger logger, string ingestionId, string source, string fileName, string error);

    [LoggerMessage(1004, LogLevel.Warning, "Ingestion {IngestionId} failed: {Source} file {FileName}: {Error}")]
    public static partial void IngestionFailed(this ILogger logger, string ingestionId, string source, string fileName, string? error);
}
