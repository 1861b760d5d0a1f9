using Attribution.Domain;
using Microsoft.Extensions.Logging;

namespace Attribution.Functions;

/// <summary>Structured log events of the function app (source-generated, no boxing when disabled).</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Error, "Blob feeds/{Source}/{Name} is not under a known source folder ({Sources}); not ingested.")]
    public static partial void UnknownSourceFolder(this ILogger logger, string source, string name, string sources);

    [LoggerMessage(2, LogLevel.Error, "Feed {Source}/{Name} failed as a whole (ingestion {IngestionId}): {Error}")]
    public static partial void FeedFailed(this ILogger logger, string source, string name, string ingestionId, string? error);

    [LoggerMessage(3, LogLevel.Information, "Feed {Source}/{Name}: {Status}, {Accepted}/{Total} accepted, {Rejected} rejected (ingestion {IngestionId}).")]
    public static partial void FeedIngested(this ILogger logger, string source, string name, string status, long accepted, long total, long rejected, string ingestionId);
}

internal static partial class RecalculationLog
{
    [LoggerMessage(10, LogLevel.Information, "Recalculation for {AsOf} started: instance {InstanceId}, run {RunId}.")]
    public static partial void RecalculationStarted(this ILogger logger, YearMonth asOf, string instanceId, string runId);

    [LoggerMessage(11, LogLevel.Warning, "Recalculation for {AsOf} is already running (instance {InstanceId}); not started again.")]
    public static partial void RecalculationAlreadyRunning(this ILogger logger, YearMonth asOf, string instanceId);

    [LoggerMessage(12, LogLevel.Warning, "Recalculation for {AsOf} skipped: {Reason}")]
    public static partial void RecalculationSkippedEmpty(this ILogger logger, YearMonth asOf, string reason);
}
