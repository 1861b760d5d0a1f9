using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Converters;
using Microsoft.Extensions.Logging.Abstractions;
using CoreStatus = DurableTask.Core.OrchestrationStatus;
using PurgeResult = Microsoft.DurableTask.Client.PurgeResult;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>
/// The Durable Functions client (<see cref="DurableTaskClient"/>) over the Durable Task Framework's own Azure Storage
/// backend, the engine Durable Functions runs on: what <c>DurableFunctionsInstances</c> calls (schedule with dedupe
/// statuses, read an instance, purge) goes to the real task hub, so the app's adapter is tested against the real
/// deduplication. (No Functions host here; the package that ships such a shim is not served.) Operations the adapter
/// does not use are not offered.
/// </summary>
public sealed class TaskHubDurableTaskClient : DurableTaskClient
{
    private readonly AzureStorageOrchestrationService _service;
    private readonly TaskHubClient _client;

    public TaskHubDurableTaskClient(string connectionString, string taskHub) : base("taskhub")
    {
        _service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            StorageAccountClientProvider = new StorageAccountClientProvider(connectionString),
            TaskHubName = taskHub,
            PartitionCount = 2,
        });
        _client = new TaskHubClient(_service, new Converter(), NullLoggerFactory.Instance);
    }

    private sealed class Converter : DurableTask.Core.Serializing.DataConverter
    {
        public override string? Serialize(object? value) => JsonDataConverter.Default.Serialize(value);

        public override string? Serialize(object? value, bool formatted) => JsonDataConverter.Default.Serialize(value);

        public override object? Deserialize(string? data, Type objectType) => JsonDataConverter.Default.Deserialize(data, objectType);
    }

    public override async Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
    {
        var instanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N");
        var dedupe = options?.DedupeStatuses?.Select(s => Enum.Parse<CoreStatus>(s)).ToArray();
        await _client.CreateOrchestrationInstanceAsync(orchestratorName.Name, "", instanceId, input, null, dedupe);
        return instanceId;
    }

    public override async Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        var state = await _client.GetOrchestrationStateAsync(instanceId);
        return state is null ? null : new OrchestrationMetadata(state.Name, instanceId)
        {
            RuntimeStatus = (OrchestrationRuntimeStatus)(int)state.OrchestrationStatus,
            CreatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.CreatedTime, DateTimeKind.Utc)),
            LastUpdatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.LastUpdatedTime, DateTimeKind.Utc)),
            SerializedInput = getInputsAndOutputs ? state.Input : null,
            SerializedOutput = getInputsAndOutputs ? state.Output : null,
            DataConverter = JsonDataConverter.Default,
        };
    }

    public override async Task<PurgeResult> PurgeAllInstancesAsync(PurgeInstancesFilter filter, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var result = await _service.PurgeInstanceHistoryAsync(filter.CreatedFrom?.UtcDateTime ?? DateTime.MinValue, filter.CreatedTo?.UtcDateTime,
            filter.Statuses?.Select(s => (CoreStatus)(int)s));
        return new PurgeResult(result.InstancesDeleted);
    }

    public override ValueTask DisposeAsync()
    {
        _service.Dispose();
        return ValueTask.CompletedTask;
    }

    private static NotSupportedException NotOffered() => new("The task hub client offers what DurableFunctionsInstances uses.");

    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null) => throw NotOffered();
    public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default) => throw NotOffered();
    public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) => throw NotOffered();
    public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) => throw NotOffered();
    public override Task<PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default) => throw NotOffered();
    public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) => throw NotOffered();
    public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) => throw NotOffered();
}
