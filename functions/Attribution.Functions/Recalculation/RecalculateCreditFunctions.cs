using Attribution.Pipeline.Recalculation;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Attribution.Functions.Recalculation;

/// <summary>
/// RecalculateCredit and its steps as Durable Functions: one thin trigger per class of
/// <see cref="RecalculationSteps.Activities"/>, named by the class, resolving it from DI — the same classes the local
/// worker registers. (Functions needs one attributed method per function; DurableTask.Generators, which would emit
/// these, is not available here.)
/// </summary>
public sealed class RecalculateCreditFunctions(IServiceProvider services)
{
    [Function(nameof(RecalculateCredit))]
    public Task<RecalculationOutcome> Orchestrate([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.GetInput<RecalculationRequest>() ?? throw new InvalidOperationException("RecalculateCredit needs a RecalculationRequest input.");
        return services.GetRequiredService<RecalculateCredit>().RunAsync(context, input);
    }

    private Task<TOutput> Step<TStep, TInput, TOutput>(TInput input, CancellationToken cancellationToken)
        where TStep : RecalculationStep<TInput, TOutput> =>
        services.GetRequiredService<TStep>().RunAsync(input, cancellationToken);

    [Function(nameof(FindInterruptedPublish))]
    public Task<PublishPlan?> RunFindInterruptedPublish([ActivityTrigger] InterruptedPublishQuery input, CancellationToken cancellationToken) =>
        Step<FindInterruptedPublish, InterruptedPublishQuery, PublishPlan?>(input, cancellationToken);

    [Function(nameof(BeginRecalculation))]
    public Task<BeginResult> RunBeginRecalculation([ActivityTrigger] RecalculationRequest input, CancellationToken cancellationToken) =>
        Step<BeginRecalculation, RecalculationRequest, BeginResult>(input, cancellationToken);

    [Function(nameof(ComputeCreditShard))]
    public Task<ShardSummary> RunComputeCreditShard([ActivityTrigger] ShardWork input, CancellationToken cancellationToken) =>
        Step<ComputeCreditShard, ShardWork, ShardSummary>(input, cancellationToken);

    [Function(nameof(ReduceCreditRange))]
    public Task<ReduceSummary> RunReduceCreditRange([ActivityTrigger] ReduceWork input, CancellationToken cancellationToken) =>
        Step<ReduceCreditRange, ReduceWork, ReduceSummary>(input, cancellationToken);

    [Function(nameof(BeginPublish))]
    public Task<PublishTransition> RunBeginPublish([ActivityTrigger] PublishStart input, CancellationToken cancellationToken) =>
        Step<BeginPublish, PublishStart, PublishTransition>(input, cancellationToken);

    [Function(nameof(PublishCreditRange))]
    public Task<PublishRangeSummary> RunPublishCreditRange([ActivityTrigger] PublishRangeWork input, CancellationToken cancellationToken) =>
        Step<PublishCreditRange, PublishRangeWork, PublishRangeSummary>(input, cancellationToken);

    [Function(nameof(CompletePublish))]
    public Task<bool> RunCompletePublish([ActivityTrigger] CompletePublishWork input, CancellationToken cancellationToken) =>
        Step<CompletePublish, CompletePublishWork, bool>(input, cancellationToken);

    [Function(nameof(CompleteScenarioRun))]
    public Task<bool> RunCompleteScenarioRun([ActivityTrigger] CompleteScenarioWork input, CancellationToken cancellationToken) =>
        Step<CompleteScenarioRun, CompleteScenarioWork, bool>(input, cancellationToken);

    [Function(nameof(FailRecalculation))]
    public Task<bool> RunFailRecalculation([ActivityTrigger] RunFailure input, CancellationToken cancellationToken) =>
        Step<FailRecalculation, RunFailure, bool>(input, cancellationToken);

    /// <summary>The task hub's instances are reached through the Durable client binding, so this step is built here.</summary>
    [Function(nameof(PurgeRecalculationHistory))]
    public Task<int> RunPurgeRecalculationHistory([ActivityTrigger] PurgeWork input, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken) =>
        ActivatorUtilities.CreateInstance<PurgeRecalculationHistory>(services, new DurableFunctionsInstances(client, services.GetRequiredService<InstanceStartGate>()))
            .RunAsync(input, cancellationToken);
}
