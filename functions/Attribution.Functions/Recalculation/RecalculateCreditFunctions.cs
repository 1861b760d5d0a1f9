using Attribution.Core.Recalculation;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Attribution.Functions.Recalculation;

/// <summary>RecalculateCredit and its activities as Durable Functions; each calls the shared Core implementation.</summary>
public sealed class RecalculateCreditFunctions(RecalculationActivities activities)
{
    [Function(RecalculationActivityNames.Orchestration)]
    public static Task<RecalculationOutcome> RecalculateCredit([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.GetInput<RecalculationRequest>() ?? throw new InvalidOperationException("RecalculateCredit needs a RecalculationRequest input.");
        return new RecalculateCreditOrchestrator().RunAsync(context, input);
    }

    [Function(RecalculationActivityNames.FindInterruptedPublish)]
    public Task<PublishPlan?> FindInterruptedPublish([ActivityTrigger] InterruptedPublishQuery query, CancellationToken cancellationToken) =>
        activities.FindInterruptedPublishAsync(query, cancellationToken);

    [Function(RecalculationActivityNames.Begin)]
    public Task<BeginResult> BeginRecalculation([ActivityTrigger] RecalculationRequest request, CancellationToken cancellationToken) =>
        activities.BeginAsync(request, cancellationToken);

    [Function(RecalculationActivityNames.ComputeShard)]
    public Task<ShardSummary> ComputeCreditShard([ActivityTrigger] ShardWork work, CancellationToken cancellationToken) =>
        activities.ComputeShardAsync(work, cancellationToken);

    [Function(RecalculationActivityNames.Reduce)]
    public Task<ReduceSummary> ReduceCreditRange([ActivityTrigger] ReduceWork work, CancellationToken cancellationToken) =>
        activities.ReduceAsync(work, cancellationToken);

    [Function(RecalculationActivityNames.BeginPublish)]
    public Task<PublishPlan> BeginPublish([ActivityTrigger] PublishStart start, CancellationToken cancellationToken) =>
        activities.BeginPublishAsync(start, cancellationToken);

    [Function(RecalculationActivityNames.PublishRange)]
    public Task<PublishRangeSummary> PublishCreditRange([ActivityTrigger] PublishRangeWork work, CancellationToken cancellationToken) =>
        activities.PublishRangeAsync(work, cancellationToken);

    [Function(RecalculationActivityNames.CompletePublish)]
    public async Task<bool> CompletePublish([ActivityTrigger] CompletePublishWork work, CancellationToken cancellationToken)
    {
        await activities.CompletePublishAsync(work, cancellationToken).ConfigureAwait(false);
        return true;
    }

    [Function(RecalculationActivityNames.CompleteScenario)]
    public async Task<bool> CompleteScenarioRun([ActivityTrigger] CompleteScenarioWork work, CancellationToken cancellationToken)
    {
        await activities.CompleteScenarioAsync(work, cancellationToken).ConfigureAwait(false);
        return true;
    }

    [Function(RecalculationActivityNames.Fail)]
    public async Task<bool> FailRecalculation([ActivityTrigger] RunFailure failure, CancellationToken cancellationToken)
    {
        await activities.FailAsync(failure, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Durable hygiene at the end of every recalculation: purges finished instances older than the retention.</summary>
    [Function(RecalculationActivityNames.PurgeHistory)]
    public static Task<int> PurgeRecalculationHistory([ActivityTrigger] PurgeWork work, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        return new DurableFunctionsInstances(client).PurgeAsync(work.CreatedBefore, cancellationToken);
    }
}
