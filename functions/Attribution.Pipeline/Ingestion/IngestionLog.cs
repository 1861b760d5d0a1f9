using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Ingestion;

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
    private static partial void AbandonedAttemptsNotCheckedLog(ILogger logger, string ingestionId, string source, string fileName, string error);

    /// <summary>The look for dead attempts of the same file failed; readers still show them abandoned, and the next attempt looks again.</summary>
    public static void AbandonedAttemptsNotChecked(this ILogger logger, string ingestionId, string source, string fileName, string error)
    {
        AbandonedAttemptsNotCheckedLog(logger, ingestionId, source, fileName, error);
        Storage.SwallowedFailures.Count(Storage.SwallowedFailures.AbandonedCheck);
    }

    [LoggerMessage(1009, LogLevel.Warning, "Ingestion {IngestionId}: renewing its heartbeat failed; it tries again at the next beat (a row without a beat for a lease period reads as abandoned).")]
    private static partial void HeartbeatFailedLog(ILogger logger, string ingestionId, Exception exception);

    public static void HeartbeatFailed(this ILogger logger, string ingestionId, Exception exception)
    {
        HeartbeatFailedLog(logger, ingestionId, exception);
        Storage.SwallowedFailures.Count(Storage.SwallowedFailures.Heartbeat);
    }

    [LoggerMessage(1004, LogLevel.Warning, "Ingestion {IngestionId} failed: {Source} file {FileName}: {Error}")]
    public static partial void IngestionFailed(this ILogger logger, string ingestionId, string source, string fileName, string? error);

    [LoggerMessage(1008, LogLevel.Warning, "Ingestion {IngestionId}: writing its final status {Status} failed; its FeedIngestions row reads as abandoned once its heartbeat runs out, and the next attempt on this content finishes it.")]
    private static partial void StatusWriteFailedLog(ILogger logger, string ingestionId, string status, Exception exception);

    /// <summary>The row's final status could not be written after the attempt ended (the failure that ended it is thrown on).</summary>
    public static void StatusWriteFailed(this ILogger logger, string ingestionId, string status, Exception exception)
    {
        StatusWriteFailedLog(logger, ingestionId, status, exception);
        Storage.SwallowedFailures.Count(Storage.SwallowedFailures.IngestionStatusWrite);
    }
}
