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

    [LoggerMessage(1004, LogLevel.Warning, "Ingestion {IngestionId} failed: {Source} file {FileName}: {Error}")]
    public static partial void IngestionFailed(this ILogger logger, string ingestionId, string source, string fileName, string? error);

    [LoggerMessage(1005, LogLevel.Warning, "Ingestion {IngestionId}: writing its final status {Status} failed; its FeedIngestions row says Running until the next attempt on this content finishes it or takes it over.")]
    private static partial void StatusWriteFailedLog(ILogger logger, string ingestionId, string status, Exception exception);

    /// <summary>The row's final status could not be written after the attempt ended (the failure that ended it is thrown on).</summary>
    public static void StatusWriteFailed(this ILogger logger, string ingestionId, string status, Exception exception)
    {
        StatusWriteFailedLog(logger, ingestionId, status, exception);
        Storage.SwallowedFailures.Count(Storage.SwallowedFailures.IngestionStatusWrite);
    }
}
