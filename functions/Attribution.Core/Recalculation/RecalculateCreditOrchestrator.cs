using Microsoft.DurableTask;

namespace Attribution.Core.Recalculation;

/// <summary>
/// RecalculateCredit: fan out one activity per shard of the stored records, fan in by merging the shards'
/// partials into a staged snapshot of the run, then publish it (a scenario run stops before publishing).
/// Deterministic: only activity calls and its input; all I/O happens in activities, which are idempotent.
/// The same class runs in Azure Functions ([OrchestrationTrigger]) and on the local Durable Task worker.
/// </summary>
public sealed class RecalculateCreditOrchestrator : TaskOrchestrator<RecalculationRequest, RecalculationOutcome>
{
    private static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 4, firstRetryInterval: TimeSpan.FromSeconds(2), backoffCoefficient: 2));

    public override async Task<RecalculationOutcome> RunAsync(TaskOrchestrationContext context, RecalculationRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var recordsVersion = await context.CallActivityAsync<long>(RecalculationActivityNames.Begin, input, Retry);
        try
        {
            var shardTasks = new List<Task<ShardSummary>>(input.ShardCount);
            for (var shard = 0; shard < input.ShardCount; shard++)
            {
                shardTasks.Add(context.CallActivityAsync<ShardSummary>(
                    RecalculationActivityNames.ComputeShard, new ShardWork(input.RunId, input.AsOf, input.RulesJson, shard, input.ShardCount, recordsVersion), Retry));
            }
            var shards = await Task.WhenAll(shardTasks);

            var staged = await context.CallActivityAsync<StageSummary>(
                RecalculationActivityNames.Stage, new StageWork(input.RunId, input.AsOf, input.RulesJson, input.ShardCount), Retry);

            var publish = input.Scenario is null;
            var published = await context.CallActivityAsync<PublishSummary>(
                RecalculationActivityNames.Complete, new CompleteWork(input.RunId, input.AsOf, publish, staged.WindowMonths, staged.Partners, staged.UsageRowsInWindow), Retry);

            var compute = shards.Sum(s => s.ComputeMs) + staged.ComputeMs;
            var storage = shards.Sum(s => s.ReadMs + s.WriteMs) + staged.ReadMs + staged.WriteMs + published.Ms;
            return new RecalculationOutcome(input.RunId, input.AsOf, input.Scenario, publish, staged.Partners, staged.GlobalPartners,
                staged.UsageRowsInWindow, compute, storage, published.RowsWritten, published.RowsRemoved);
        }
        catch (TaskFailedException e)
        {
            // Record why, so RecalculationRuns never shows a dead run as Running; then fail the orchestration.
            await context.CallActivityAsync(RecalculationActivityNames.Fail, new RunFailure(input.RunId, input.AsOf, e.FailureDetails.ErrorMessage), Retry);
            throw;
        }
    }
}
