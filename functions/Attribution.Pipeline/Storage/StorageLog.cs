using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Storage;

/// <summary>
/// Failures the pipeline catches and carries on after, because the work they follow already stands (a commit, a
/// published run): maintenance that is retried later. Each is logged as a Warning with its own event id and counted on
/// <see cref="Counter"/>, tagged with the operation, so a failure that repeats for weeks shows on a dashboard.
/// </summary>
internal static class SwallowedFailures
{
    public const string MetricName = "attribution.storage.swallowed_failures";
    public const string OperationTag = "operation";

    public const string Compaction = "compaction";
    public const string TipWrite = "tip_write";
    public const string CheckpointWrite = "checkpoint_write";
    public const string LeaseRenewal = "lease_renewal";
    public const string ClaimComplete = "claim_complete";
    public const string ClaimRelease = "claim_release";
    public const string SegmentCleanup = "segment_cleanup";
    public const string IngestionStatusWrite = "ingestion_status_write";
    public const string HistoryPurge = "history_purge";
    public const string GateRelease = "gate_release";
    public const string Heartbeat = "heartbeat";
    public const string AbandonedCheck = "abandoned_check";

    public static readonly Counter<long> Counter = Telemetry.Meter.CreateCounter<long>(MetricName, "{failure}",
        "Failures caught and continued after (the work they follow stands; the operation is retried later), by operation.");

    public static void Count(string operation) => Counter.Add(1, new KeyValuePair<string, object?>(OperationTag, operation));
}

/// <summary>Storage's log events (source-generated; event ids 3000-3099 are this area's). Logged through the caller's logger.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(3001, LogLevel.Warning, "Compaction of {Buckets} bucket(s) over the threshold of {Threshold} segments failed after records version {Version}; the commit stands, and the next commit to these buckets tries again.")]
    private static partial void CompactionFailedLog(ILogger logger, int buckets, int threshold, long version, Exception exception);

    public static void CompactionFailed(this ILogger logger, int buckets, int threshold, long version, Exception exception)
    {
        CompactionFailedLog(logger, buckets, threshold, version, exception);
        SwallowedFailures.Count(SwallowedFailures.Compaction);
    }

    [LoggerMessage(3002, LogLevel.Warning, "Records version {Version} is committed, but writing the log tip failed; readers list the log instead, and the next commit writes the tip again.")]
    private static partial void TipWriteFailedLog(ILogger logger, long version, Exception exception);

    public static void TipWriteFailed(this ILogger logger, long version, Exception exception)
    {
        TipWriteFailedLog(logger, version, exception);
        SwallowedFailures.Count(SwallowedFailures.TipWrite);
    }

    [LoggerMessage(3003, LogLevel.Warning, "Records version {Version} is committed, but writing its checkpoint failed; readers start from the checkpoint before it (more log entries to read) until the next one.")]
    private static partial void CheckpointWriteFailedLog(ILogger logger, long version, Exception exception);

    public static void CheckpointWriteFailed(this ILogger logger, long version, Exception exception)
    {
        CheckpointWriteFailedLog(logger, version, exception);
        SwallowedFailures.Count(SwallowedFailures.CheckpointWrite);
    }

    [LoggerMessage(3004, LogLevel.Warning, "Renewing the lease on claim {Claim} failed; renewal stops, and the check before the commit finds out whether this attempt still holds the claim.")]
    private static partial void LeaseRenewalFailedLog(ILogger logger, string claim, Exception exception);

    public static void LeaseRenewalFailed(this ILogger logger, string claim, Exception exception)
    {
        LeaseRenewalFailedLog(logger, claim, exception);
        SwallowedFailures.Count(SwallowedFailures.LeaseRenewal);
    }

    [LoggerMessage(3005, LogLevel.Warning, "Ingestion {IngestionId} is committed, but marking claim {Claim} committed failed; the next attempt on this content learns it from the log and repairs the claim.")]
    private static partial void ClaimCompleteFailedLog(ILogger logger, string ingestionId, string claim, Exception exception);

    public static void ClaimCompleteFailed(this ILogger logger, string ingestionId, string claim, Exception exception)
    {
        ClaimCompleteFailedLog(logger, ingestionId, claim, exception);
        SwallowedFailures.Count(SwallowedFailures.ClaimComplete);
    }

    [LoggerMessage(3006, LogLevel.Warning, "Ingestion {IngestionId} did not commit, and releasing claim {Claim} failed too; its lease runs out by itself, then the next attempt takes over.")]
    private static partial void ClaimReleaseFailedLog(ILogger logger, string ingestionId, string claim, Exception exception);

    public static void ClaimReleaseFailed(this ILogger logger, string ingestionId, string claim, Exception exception)
    {
        ClaimReleaseFailedLog(logger, ingestionId, claim, exception);
        SwallowedFailures.Count(SwallowedFailures.ClaimRelease);
    }

    [LoggerMessage(3007, LogLevel.Warning, "Deleting records/{Path} (no longer read) failed; it stays until the next clean-up.")]
    private static partial void SegmentCleanupFailedLog(ILogger logger, string path, Exception exception);

    public static void SegmentCleanupFailed(this ILogger logger, string path, Exception exception)
    {
        SegmentCleanupFailedLog(logger, path, exception);
        SwallowedFailures.Count(SwallowedFailures.SegmentCleanup);
    }

    [LoggerMessage(3008, LogLevel.Warning, "Releasing the lease on {Gate} failed; it lapses by itself within {LeaseSeconds} s, and a start or publish waiting for it goes on then.")]
    private static partial void GateReleaseFailedLog(ILogger logger, string gate, double leaseSeconds, Exception exception);

    public static void GateReleaseFailed(this ILogger logger, string gate, TimeSpan lease, Exception exception)
    {
        GateReleaseFailedLog(logger, gate, lease.TotalSeconds, exception);
        SwallowedFailures.Count(SwallowedFailures.GateRelease);
    }
}
