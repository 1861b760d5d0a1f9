using Attribution.Core.Recalculation;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Attribution.Functions.Recalculation;

/// <summary>RecalculateCredit instances through the Durable Functions client.</summary>
public sealed class DurableFunctionsInstances(DurableTaskClient client) : IRecalculationInstances, IRecalculationHistory
{
    /// <summary>Purges Completed, Failed and Terminated instances created before the time (never running or pending ones).</summary>
    public async Task<int> PurgeAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken)
    {
        var result = await client.PurgeAllInstancesAsync(new PurgeInstancesFilter(null, createdBefore,
            [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated]), cancellationToken);
        return result.PurgedInstanceCount;
    }

    public async Task<InstanceState?> GetStateAsync(string instanceId, CancellationToken cancellationToken)
    {
        var metadata = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken);
        return metadata is null ? null : Map(metadata.RuntimeStatus);
    }

    public async Task<RecalculationStatus?> GetStatusAsync(string instanceId, CancellationToken cancellationToken)
    {
        var m = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken);
        if (m is null) return null;
        var state = Map(m.RuntimeStatus);
        return new RecalculationStatus(
            instanceId, state, m.CreatedAt, m.LastUpdatedAt,
            m.SerializedInput is null ? null : m.ReadInputAs<RecalculationRequest>(),
            state == InstanceState.Completed && m.SerializedOutput is not null ? m.ReadOutputAs<RecalculationOutcome>() : null,
            state == InstanceState.Failed ? m.FailureDetails?.ErrorMessage : null);
    }

    public async Task<bool> StartAsync(string instanceId, RecalculationRequest request, CancellationToken cancellationToken)
    {
        await client.ScheduleNewOrchestrationInstanceAsync(nameof(RecalculateCredit), request,
            new StartOrchestrationOptions(instanceId), cancellationToken);
        return true;
    }

    private static InstanceState Map(OrchestrationRuntimeStatus status) => status switch
    {
        OrchestrationRuntimeStatus.Pending => InstanceState.Pending,
        OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Suspended => InstanceState.Running,
        OrchestrationRuntimeStatus.Completed => InstanceState.Completed,
        OrchestrationRuntimeStatus.Failed => InstanceState.Failed,
        OrchestrationRuntimeStatus.Terminated => InstanceState.Terminated,
        _ => InstanceState.Unknown,
    };
}
