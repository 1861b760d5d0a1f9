using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Recalculation;

/// <summary>
/// RecalculateCredit, fanned out at every step:
/// <list type="number">
/// <item>roll forward a publish of this asOf that an earlier start left unfinished (its ranges, then its flip) —
/// before anything else, so the tables never stay half-written and this run diffs against a complete base;</item>
/// <item>Begin: fix the records version and the rules (by hash) the run reads;</item>
/// <item>one activity per shard: read its buckets, compute, write its tenant-level snapshot rows and per-partner partials;</item>
/// <item>one activity per reduce range: merge that partner range's partials, write PartnerCredit/GlobalPartnerCredit snapshot rows;</item>
/// <item>publish (not for a scenario): record Publishing over the published run, one activity per publish range
/// writing only what changed, then the flip in one transaction;</item>
/// <item>purge finished orchestration instances older than the retention.</item>
/// </list>
/// Deterministic: only activity calls, their results, its input and the orchestration clock. The same class runs in
/// Azure Functions ([OrchestrationTrigger]) and on the local Durable Task worker.
/// </summary>
public sealed class RecalculateCredit : TaskOrchestrator<RecalculationRequest, RecalculationOutcome>
{
    private static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 4, firstRetryInterval: TimeSpan.FromSeconds(2), backoffCoefficient: 2));

    public override async Task<RecalculationOutcome> RunAsync(TaskOrchestrationContext context, RecalculationRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        // Replay-safe: the orchestrator runs again from the top after every activity; its phase logs must not.
        var log = context.CreateReplaySafeLogger<RecalculateCredit>();
        try
        {
            string? rolledForward = null;
            if (input.Scenario is null)
            {
                var interrupted = await context.CallActivityAsync<PublishPlan?>(
                    nameof(FindInterruptedPublish), new InterruptedPublishQuery(input.AsOf, input.RunId), Retry);
                if (interrupted is not null)
                {
                    log.RollingForward(input.RunId, input.AsOf, interrupted.RunId);
                    await PublishAsync(context, interrupted);
                    rolledForward = interrupted.RunId;
                }
            }

            var begin = context.CurrentUtcDateTime; // the orchestration clock: replay-safe phase timings
            var begun = await context.CallActivityAsync<BeginResult>(nameof(BeginRecalculation), input, Retry);
            log.PhaseBegun(input.RunId, input.AsOf, begun.RecordsVersion, begun.Shards);

            var shardTasks = new List<Task<ShardSummary>>(begun.Shards);
            for (var shard = 0; shard < begun.Shards; shard++)
            {
                shardTasks.Add(context.CallActivityAsync<ShardSummary>(nameof(ComputeCreditShard),
                    new ShardWork(input.RunId, input.AsOf, begun.RulesHash, shard, begun.Shards, begun.RecordsVersion, begun.ReduceRanges, begun.PublishRanges), Retry));
            }
            var shards = await Task.WhenAll(shardTasks);
            log.PhaseComputed(input.RunId, input.AsOf, shards.Length, shards.Sum(s => s.UsageRowsInWindow), begun.ReduceRanges);

            var reduceTasks = new List<Task<ReduceSummary>>(begun.ReduceRanges);
            for (var range = 0; range < begun.ReduceRanges; range++)
            {
                reduceTasks.Add(context.CallActivityAsync<ReduceSummary>(nameof(ReduceCreditRange),
                    new ReduceWork(input.RunId, input.AsOf, begun.RulesHash, range, begun.ReduceRanges, begun.Shards, begun.PublishRanges, begun.RecordsVersion), Retry));
            }
            var reduced = await Task.WhenAll(reduceTasks);
            log.PhaseReduced(input.RunId, input.AsOf, reduced.Length, reduced.Sum(r => r.Partners), reduced.Sum(r => r.GlobalPartners));

            var computed = context.CurrentUtcDateTime;
            var partners = reduced.Sum(r => r.Partners);
            var globals = reduced.Sum(r => r.GlobalPartners);
            var usageRows = shards.Sum(s => s.UsageRowsInWindow);
            var publish = input.Scenario is null;
            IReadOnlyList<TablePublishCount> counts = [];
            var publishMs = 0.0;
            if (publish)
            {
                var transition = await context.CallActivityAsync<PublishTransition>(nameof(BeginPublish),
                    new PublishStart(input.RunId, input.AsOf, partners, usageRows), Retry);
                // A run that may no longer publish (a newer run of its month was published meanwhile) ends Failed, saying why.
                if (transition.Refused is { } why) throw new RunNotPublishedException($"Run {input.RunId} was not published: {why}.");
                (counts, publishMs) = await PublishAsync(context, transition.Plan);
                log.PhasePublished(input.RunId, input.AsOf, counts.Sum(c => c.Written), counts.Sum(c => c.Removed));
            }
            else
            {
                await context.CallActivityAsync(nameof(CompleteScenarioRun),
                    new CompleteScenarioWork(input.RunId, input.AsOf, partners, usageRows), Retry);
                log.PhaseScenarioKept(input.RunId, input.AsOf, input.Scenario!);
            }

            var published = context.CurrentUtcDateTime;
            var purged = await PurgeAsync(context, input);
            var compute = shards.Sum(s => s.ComputeMs) + reduced.Sum(r => r.ComputeMs);
            var storage = shards.Sum(s => s.ReadMs + s.WriteMs) + reduced.Sum(r => r.ReadMs + r.WriteMs) + publishMs;
            log.PhaseFinished(input.RunId, input.AsOf, (computed - begin).TotalSeconds, (published - computed).TotalSeconds);
            return new RecalculationOutcome(input.RunId, input.AsOf, input.Scenario, publish, partners, globals, usageRows, compute, storage,
                counts.Sum(c => c.Written), counts.Sum(c => c.Removed), begun.RecordsVersion, rolledForward, purged,
                (computed - begin).TotalSeconds, (published - computed).TotalSeconds, reduced.Sum(r => r.EvidenceRows), reduced.Sum(r => r.EvidenceBytes));
        }
        catch (Exception e) when (e is TaskFailedException or RunNotPublishedException)
        {
            // Record why, so RecalculationRuns never shows a dead run as Running (a run that began publishing stays
            // Publishing, for the next start to roll forward); then fail the orchestration.
            var error = e is TaskFailedException t ? t.FailureDetails.ErrorMessage : e.Message;
            log.PhaseFailed(input.RunId, input.AsOf, error);
            await context.CallActivityAsync(nameof(FailRecalculation), new RunFailure(input.RunId, input.AsOf, error), Retry);
            throw;
        }
    }

    /// <summary>Every publish range in parallel, then the flip; returns the rows written and removed per table.</summary>
    private static async Task<(IReadOnlyList<TablePublishCount> Counts, double Ms)> PublishAsync(TaskOrchestrationContext context, PublishPlan plan)
    {
        var tasks = new List<Task<PublishRangeSummary>>(plan.PublishRanges);
        for (var range = 0; range < plan.PublishRanges; range++)
            tasks.Add(context.CallActivityAsync<PublishRangeSummary>(nameof(PublishCreditRange), new PublishRangeWork(plan, range), Retry));
        var ranges = await Task.WhenAll(tasks);
        var counts = ranges.SelectMany(r => r.Counts).GroupBy(c => c.Table)
            .Select(g => new TablePublishCount(g.Key, g.Sum(c => c.Written), g.Sum(c => c.Removed)))
            .OrderBy(c => c.Table, StringComparer.Ordinal).ToList();
        await context.CallActivityAsync(nameof(CompletePublish), new CompletePublishWork(plan, counts), Retry);
        return (counts, ranges.Sum(r => r.Ms));
    }

    /// <summary>Durable hygiene: a failed purge does not fail the run it follows (the next run purges again).</summary>
    private static async Task<int> PurgeAsync(TaskOrchestrationContext context, RecalculationRequest input)
    {
        var retention = input.HistoryRetention ?? RecalculationSettings.DefaultHistoryRetention;
        if (retention < TimeSpan.Zero) return 0;
        try
        {
            return await context.CallActivityAsync<int>(nameof(PurgeRecalculationHistory),
                new PurgeWork(new DateTimeOffset(context.CurrentUtcDateTime, TimeSpan.Zero) - retention));
        }
        catch (TaskFailedException e)
        {
            // Said (the replay-safe logger) and counted once, not on every replay: history that keeps failing to
            // purge grows the task hub's tables.
            context.CreateReplaySafeLogger<RecalculateCredit>().HistoryPurgeFailed(input.RunId, input.AsOf, e.FailureDetails.ErrorMessage);
            if (!context.IsReplaying) Storage.SwallowedFailures.Count(Storage.SwallowedFailures.HistoryPurge);
            return -1;
        }
    }
}

/// <summary>The run may not publish (a newer run of its month was published meanwhile): it ends Failed with the reason.</summary>
public sealed class RunNotPublishedException(string message) : Exception(message);
