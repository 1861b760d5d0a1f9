using Attribution.Core.Recalculation;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

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

    [Function(RecalculationActivityNames.Begin)]
    public Task<long> BeginRecalculation([ActivityTrigger] RecalculationRequest request, CancellationToken cancellationToken) =>
        activities.BeginAsync(request, cancellationToken);

    [Function(RecalculationActivityNames.ComputeShard)]
    public Task<ShardSummary> ComputeCreditShard([ActivityTrigger] ShardWork work, CancellationToken cancellationToken) =>
        activities.ComputeShardAsync(work, cancellationToken);

    [Function(RecalculationActivityNames.Stage)]
    public Task<StageSummary> StageCreditResults([ActivityTrigger] StageWork work, CancellationToken cancellationToken) =>
        activities.StageAsync(work, cancellationToken);

    [Function(RecalculationActivityNames.Complete)]
    public Task<PublishSummary> CompleteRecalculation([ActivityTrigger] CompleteWork work, CancellationToken cancellationToken) =>
        activities.CompleteAsync(work, cancellationToken);

    [Function(RecalculationActivityNames.Fail)]
    public async Task<bool> FailRecalculation([ActivityTrigger] RunFailure failure, CancellationToken cancellationToken)
    {
        await activities.FailAsync(failure, cancellationToken).ConfigureAwait(false);
        return true;
    }
}
