using Attribution.Domain;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Recalculation;

/// <summary>
/// The recalculation's log events (source-generated): 2000-2099 the activities, each with its timings; 2100-2199 the
/// orchestrator's phases, written through its replay-safe logger so a replay does not repeat them.
/// </summary>
internal static partial class RecalculationLog
{
    [LoggerMessage(2001, LogLevel.Information, "Run {RunId}: interrupted publish of run {InterruptedRunId} found for {AsOf}.")]
    public static partial void InterruptedPublishFound(this ILogger logger, string runId, YearMonth asOf, string interruptedRunId);

    [LoggerMessage(2002, LogLevel.Information, "BeginRecalculation: run {RunId} for {AsOf} reads records version {RecordsVersion} with rules {RulesVersion}: {Shards} shards, {ReduceRanges} reduce ranges, {PublishRanges} publish ranges ({ElapsedMs:0} ms).")]
    public static partial void Begun(this ILogger logger, string runId, YearMonth asOf, long recordsVersion, string rulesVersion, int shards, int reduceRanges, int publishRanges, double elapsedMs);

    [LoggerMessage(2003, LogLevel.Information, "ComputeCreditShard: run {RunId} shard {Shard} of {Shards}: {UsageRows} usage rows, {Partners} partners; read {ReadMs:0} ms, compute {ComputeMs:0} ms, write {WriteMs:0} ms.")]
    public static partial void ShardComputed(this ILogger logger, string runId, int shard, int shards, long usageRows, int partners, double readMs, double computeMs, double writeMs);

    [LoggerMessage(2004, LogLevel.Information, "ReduceCreditRange: run {RunId} range {Range} of {Ranges}: {Partners} partners, {GlobalPartners} global partners; read {ReadMs:0} ms, compute {ComputeMs:0} ms, write {WriteMs:0} ms.")]
    public static partial void RangeReduced(this ILogger logger, string runId, int range, int ranges, int partners, int globalPartners, double readMs, double computeMs, double writeMs);

    [LoggerMessage(2005, LogLevel.Information, "BeginPublish: run {RunId} for {AsOf} publishing over {BaseRunId} ({ElapsedMs:0} ms).")]
    public static partial void PublishBegun(this ILogger logger, string runId, YearMonth asOf, string baseRunId, double elapsedMs);

    [LoggerMessage(2006, LogLevel.Information, "PublishCreditRange: run {RunId} range {Range} of {Ranges}: {Written} rows written, {Removed} removed ({ElapsedMs:0} ms).")]
    public static partial void RangePublished(this ILogger logger, string runId, int range, int ranges, long written, long removed, double elapsedMs);

    [LoggerMessage(2007, LogLevel.Warning, "PublishCreditRange: run {RunId} range {Range} skipped: the run is no longer publishing.")]
    public static partial void RangePublishSkipped(this ILogger logger, string runId, int range);

    [LoggerMessage(2008, LogLevel.Information, "CompletePublish: run {RunId} for {AsOf}, table {Table}: {Written} rows written, {Removed} removed.")]
    public static partial void TablePublished(this ILogger logger, string runId, YearMonth asOf, string table, long written, long removed);

    [LoggerMessage(2009, LogLevel.Information, "CompletePublish: run {RunId} is now the published run for {AsOf} ({ElapsedMs:0} ms).")]
    public static partial void PublishCompleted(this ILogger logger, string runId, YearMonth asOf, double elapsedMs);

    [LoggerMessage(2010, LogLevel.Information, "CompleteScenarioRun: run {RunId} for {AsOf} kept apart, not published ({ElapsedMs:0} ms).")]
    public static partial void ScenarioCompleted(this ILogger logger, string runId, YearMonth asOf, double elapsedMs);

    [LoggerMessage(2011, LogLevel.Warning, "FailRecalculation: run {RunId} for {AsOf} failed: {Error}")]
    public static partial void RunFailed(this ILogger logger, string runId, YearMonth asOf, string error);

    [LoggerMessage(2012, LogLevel.Information, "PurgeRecalculationHistory: {Count} finished instances created before {CreatedBefore:u} purged ({ElapsedMs:0} ms).")]
    public static partial void HistoryPurged(this ILogger logger, int count, DateTimeOffset createdBefore, double elapsedMs);

    [LoggerMessage(2013, LogLevel.Warning, "{Step}: run {RunId} for {AsOf} left as it is: {Reason}.")]
    public static partial void PublishRefused(this ILogger logger, string step, string runId, YearMonth asOf, string reason);

    [LoggerMessage(2014, LogLevel.Warning, "BeginPublish: IncentiveEligibility moved to asOf keys (once per store): {Removed} rows of the old layout removed, {Rewritten} rows rewritten for the published months [{Months}].")]
    public static partial void IncentiveEligibilityMigrated(this ILogger logger, long removed, long rewritten, string months);

    [LoggerMessage(2101, LogLevel.Information, "Recalculation {RunId} for {AsOf}: rolling forward the interrupted publish of run {InterruptedRunId}.")]
    public static partial void RollingForward(this ILogger logger, string runId, YearMonth asOf, string interruptedRunId);

    [LoggerMessage(2102, LogLevel.Information, "Recalculation {RunId} for {AsOf}: begun at records version {RecordsVersion}; computing {Shards} shards.")]
    public static partial void PhaseBegun(this ILogger logger, string runId, YearMonth asOf, long recordsVersion, int shards);

    [LoggerMessage(2103, LogLevel.Information, "Recalculation {RunId} for {AsOf}: {Shards} shards computed, {UsageRows} usage rows in the window; reducing {Ranges} ranges.")]
    public static partial void PhaseComputed(this ILogger logger, string runId, YearMonth asOf, int shards, long usageRows, int ranges);

    [LoggerMessage(2104, LogLevel.Information, "Recalculation {RunId} for {AsOf}: {Ranges} ranges reduced, {Partners} partners, {GlobalPartners} global partners.")]
    public static partial void PhaseReduced(this ILogger logger, string runId, YearMonth asOf, int ranges, int partners, int globalPartners);

    [LoggerMessage(2105, LogLevel.Information, "Recalculation {RunId} for {AsOf}: published, {Written} rows written, {Removed} removed.")]
    public static partial void PhasePublished(this ILogger logger, string runId, YearMonth asOf, long written, long removed);

    [LoggerMessage(2106, LogLevel.Information, "Recalculation {RunId} for {AsOf}: scenario {Scenario} kept apart, nothing published.")]
    public static partial void PhaseScenarioKept(this ILogger logger, string runId, YearMonth asOf, string scenario);

    [LoggerMessage(2107, LogLevel.Information, "Recalculation {RunId} for {AsOf}: finished; compute {ComputeSeconds:0.0} s, publish {PublishSeconds:0.0} s.")]
    public static partial void PhaseFinished(this ILogger logger, string runId, YearMonth asOf, double computeSeconds, double publishSeconds);

    [LoggerMessage(2108, LogLevel.Warning, "Recalculation {RunId} for {AsOf}: failed: {Error}")]
    public static partial void PhaseFailed(this ILogger logger, string runId, YearMonth asOf, string error);

    [LoggerMessage(2109, LogLevel.Warning, "Recalculation {RunId} for {AsOf}: purging finished orchestration history failed; the run stands, and the next run purges again: {Error}")]
    public static partial void HistoryPurgeFailed(this ILogger logger, string runId, YearMonth asOf, string error);
}
