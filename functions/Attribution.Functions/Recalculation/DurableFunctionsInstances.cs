using Attribution.Pipeline.Recalculation;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Attribution.Functions.Recalculation;

/// <summary>RecalculateCredit instances through the Durable Functions client.</summary>
/// <param name="gate">The start gate of each instance id (in the app's storage).</param>
public sealed class DurableFunctionsInstances(DurableTaskClient client, InstanceStartGate gate) : IRecalculationInstances, IRecalculationHistory
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

    /// <summary>
    /// Starts the instance unless one with its id is pending or running, atomically: the start gate lets one start of
    /// the id check and schedule at a time (the backend's own dedupe checks, then creates, so racing starts can both
    /// pass it), and the schedule also asks the backend to dedupe on those statuses. A backend's refusal surfaces as
    /// <c>OrchestrationAlreadyExistsException</c> or as an RPC error depending on the host, so any failure is mapped by
    /// reading the instance again: if it is active, the answer is "already running", like the local host's.
    /// </summary>
    public Task<bool> StartAsync(string instanceId, RecalculationRequest request, CancellationToken cancellationToken) =>
        gate.StartOnceAsync(instanceId, ct => GetStateAsync(instanceId, ct), async ct =>
        {
            try
            {
                await client.ScheduleNewOrchestrationInstanceAsync(nameof(RecalculateCredit), request,
                    new StartOrchestrationOptions(instanceId).WithDedupeStatuses(ActiveStatuses), ct);
                return true;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (RecalculationStarter.IsActive(await GetStateAsync(instanceId, ct))) return false;
                throw;
            }
        }, cancellationToken);

    private static readonly OrchestrationRuntimeStatus[] ActiveStatuses =
        [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended];

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
