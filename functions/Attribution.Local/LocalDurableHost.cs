using Attribution.Pipeline.Hosting;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;
using DurableTask.AzureStorage;
using DurableTask.Core;
using DurableTask.Core.Exceptions;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Converters;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attribution.Local;

/// <summary>
/// Runs RecalculateCredit locally on the Durable Task Framework's Azure Storage backend — the engine and
/// storage layout Durable Functions uses — over any storage account (Azurite locally). The orchestrator and
/// activities are the same classes the function app runs, adapted by DurableTaskShimFactory.
/// </summary>
public sealed class LocalDurableHost : IRecalculationInstances, IRecalculationHistory, IAsyncDisposable
{
    private readonly AzureStorageOrchestrationService _service;
    private readonly TaskHubClient _client;
    private TaskHubWorker? _worker;
    private ServiceProvider? _services;
    private bool _crashed;

    private readonly InstanceStartGate _gate;

    private LocalDurableHost(AzureStorageOrchestrationService service, TaskHubClient client, string taskHub, StorageAccount storage, ILoggerFactory logs)
    {
        _service = service;
        _client = client;
        TaskHub = taskHub;
        Storage = storage;
        _gate = new InstanceStartGate(storage, logs.CreateLogger<InstanceStartGate>());
    }

    public string TaskHub { get; }

    /// <summary>The account the host's task hub and steps use.</summary>
    public StorageAccount Storage { get; }

    /// <summary>
    /// Activities one local worker runs at once: one per core (at least two). Each holds up to a shard's rows, so more
    /// per core raises peak memory without speeding up a run the emulator bounds (docs/benchmarks.md, "Fan-out").
    /// </summary>
    public static int MaxConcurrentActivities { get; } = Math.Max(2, Environment.ProcessorCount);

    /// <summary>How long a worker that died holds its partitions before another worker of the task hub takes them over.</summary>
    public static TimeSpan DefaultTakeover { get; } = TimeSpan.FromSeconds(10);

    /// <summary>Runs before every activity (name, input): an extension point for tracing or for holding work in tests.</summary>
    public delegate Task ActivityInterceptor(string activityName, object? input);

    /// <summary>Runs after an activity returned (name, input, output), before the worker reports its result.</summary>
    public delegate Task ActivityObserver(string activityName, object? input, object? output);

    public static async Task<LocalDurableHost> StartAsync(StorageAccount storage, string taskHub, bool startWorker = true, ILoggerFactory? loggerFactory = null,
        ActivityInterceptor? beforeActivity = null, ActivityObserver? afterActivity = null, int maxConcurrentActivities = 0, TimeSpan? takeover = null)
    {
        var lease = takeover ?? DefaultTakeover;
        var connectionString = storage.ConnectionString
            ?? throw new InvalidOperationException("The local Durable Task worker needs a storage connection string.");
        var settings = new AzureStorageOrchestrationServiceSettings
        {
            StorageAccountClientProvider = new StorageAccountClientProvider(connectionString),
            TaskHubName = taskHub,
            PartitionCount = 2,
            // What one process holds is the activities it runs at once, each about one shard or range: keep that to
            // two per core (DTFx's default is 10) so memory stays flat as the fan-out grows with the data.
            MaxConcurrentTaskActivityWorkItems = maxConcurrentActivities > 0 ? maxConcurrentActivities : MaxConcurrentActivities,
            // Local runs are short: poll briskly (an idle worker makes ~30 queue reads a second, a step waits ~0.1 s
            // instead of ~0.5 s for the next), and let a dead worker's partitions and messages come back soon: its
            // partition leases lapse after `lease`, its in-flight messages reappear after twice that (the worker renews
            // both while it lives, so a long activity is not taken over).
            MaxQueuePollingInterval = TimeSpan.FromMilliseconds(100),
            LeaseInterval = lease,
            LeaseRenewInterval = lease / 3,
            LeaseAcquireInterval = TimeSpan.FromSeconds(Math.Min(2, lease.TotalSeconds / 3)),
            WorkItemQueueVisibilityTimeout = lease * 2,
            ControlQueueVisibilityTimeout = lease * 2,
            LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance,
        };
        var service = new AzureStorageOrchestrationService(settings);
        await service.CreateIfNotExistsAsync();
        var host = new LocalDurableHost(service, new TaskHubClient(service, new SystemTextJsonConverter(), loggerFactory ?? NullLoggerFactory.Instance), taskHub, storage,
            loggerFactory ?? NullLoggerFactory.Instance);
        if (startWorker) await host.StartWorkerAsync(storage, loggerFactory, beforeActivity, afterActivity);
        return host;
    }

    /// <summary>Starts (or, after <see cref="StopWorkerAsync"/>, restarts) the worker that runs orchestrations and activities.</summary>
    public async Task StartWorkerAsync(StorageAccount storage, ILoggerFactory? loggerFactory = null, ActivityInterceptor? beforeActivity = null, ActivityObserver? afterActivity = null)
    {
        // The same registration the function app makes; this host supplies the task hub's history for the purge step,
        // and the loggers the steps (ILogger<T>) and the orchestrator's replay-safe logger write to.
        var logs = loggerFactory ?? NullLoggerFactory.Instance;
        // The composition root the function app uses, over this host's account and task hub history.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [AttributionServices.StorageConnection] = storage.ConnectionString })
            .Build();
        var services = new ServiceCollection()
            .AddSingleton(storage)
            .AddSingleton<IRecalculationHistory>(this)
            .AddSingleton(logs)
            .AddAttribution(configuration)
            .BuildServiceProvider();
        var factory = new DurableTaskShimFactory(null, logs);
        var worker = new TaskHubWorker(_service, logs);
        worker.AddTaskOrchestrations(new Creator<TaskOrchestration>(nameof(RecalculateCredit),
            () => factory.CreateOrchestration(nameof(RecalculateCredit), services.GetRequiredService<RecalculateCredit>())));
        var registered = new List<string>();
        foreach (var type in RecalculationSteps.Activities)
        {
            var name = type.Name;
            ITaskActivity Create() => (ITaskActivity)services.GetRequiredService(type);
            worker.AddTaskActivities(new Creator<DurableTask.Core.TaskActivity>(name, () => factory.CreateActivity(name,
                beforeActivity is null && afterActivity is null ? Create() : new InterceptedActivity(name, Create(), beforeActivity, afterActivity))));
            registered.Add(name);
        }
        RegisteredActivities = registered;
        await worker.StartAsync();
        _worker = worker;
        _services = services;
    }

    /// <summary>The activity names the worker registered (a test checks them against the app's functions and the orchestrator's calls).</summary>
    public IReadOnlyList<string> RegisteredActivities { get; private set; } = [];

    /// <summary>Stops the worker as a crash would (forced: in-flight work is abandoned, not finished).</summary>
    public async Task StopWorkerAsync(bool forced = true)
    {
        var worker = _worker;
        _worker = null;
        if (worker is not null) await worker.StopAsync(forced);
        var services = _services;
        _services = null;
        if (services is not null) await services.DisposeAsync();
    }

    /// <summary>
    /// Stops as a dying process would: the worker stops fetching, in-flight work is not finished or reported,
    /// and the backend stops renewing its leases and message locks, so another worker takes over once they expire.
    /// This host is unusable afterwards.
    /// </summary>
    public async Task CrashAsync()
    {
        await StopWorkerAsync(forced: true);
        _service.Dispose();
        _crashed = true;
    }

    public async Task<InstanceState?> GetStateAsync(string instanceId, CancellationToken cancellationToken)
    {
        var state = await _client.GetOrchestrationStateAsync(instanceId);
        return state is null ? null : Map(state.OrchestrationStatus);
    }

    public async Task<RecalculationStatus?> GetStatusAsync(string instanceId, CancellationToken cancellationToken)
    {
        var state = await _client.GetOrchestrationStateAsync(instanceId);
        if (state is null) return null;
        var status = Map(state.OrchestrationStatus);
        return new RecalculationStatus(
            instanceId,
            status,
            new DateTimeOffset(DateTime.SpecifyKind(state.CreatedTime, DateTimeKind.Utc)),
            new DateTimeOffset(DateTime.SpecifyKind(state.LastUpdatedTime, DateTimeKind.Utc)),
            state.Input is null ? null : JsonDataConverter.Default.Deserialize<RecalculationRequest>(state.Input),
            status == InstanceState.Completed && state.Output is not null ? JsonDataConverter.Default.Deserialize<RecalculationOutcome>(state.Output) : null,
            status == InstanceState.Failed ? state.FailureDetails?.ErrorMessage ?? state.Output : null);
    }

    /// <summary>Starts the instance unless one with its id is pending or running; atomic across processes (<see cref="InstanceStartGate"/>).</summary>
    public Task<bool> StartAsync(string instanceId, RecalculationRequest request, CancellationToken cancellationToken) =>
        _gate.StartOnceAsync(instanceId, ct => GetStateAsync(instanceId, ct), async _ =>
        {
            try
            {
                await _client.CreateOrchestrationInstanceAsync(nameof(RecalculateCredit), "", instanceId, request, null,
                    [OrchestrationStatus.Pending, OrchestrationStatus.Running]);
                return true;
            }
            catch (OrchestrationAlreadyExistsException)
            {
                return false;
            }
        }, cancellationToken);

    /// <summary>
    /// Purges the task hub's instance and history rows of Completed, Failed and Terminated instances created before
    /// <paramref name="createdBefore"/> (running and pending ones are never purged).
    /// </summary>
    public async Task<int> PurgeAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken)
    {
        var result = await _service.PurgeInstanceHistoryAsync(DateTime.MinValue, createdBefore.UtcDateTime,
            [OrchestrationStatus.Completed, OrchestrationStatus.Failed, OrchestrationStatus.Terminated]);
        return result.InstancesDeleted;
    }

    /// <summary>Asks for an instance to be terminated (as an operator would); a worker of the task hub ends it.</summary>
    public Task TerminateAsync(string instanceId, string reason) =>
        _client.TerminateInstanceAsync(new OrchestrationInstance { InstanceId = instanceId }, reason);

    /// <summary>Waits until the instance is no longer pending or running; returns its state then.</summary>
    public async Task<InstanceState> WaitForEndAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var state = await WaitForOrchestrationAsync(instanceId, timeout, cancellationToken);
        var mapped = state is null ? InstanceState.Unknown : Map(state.OrchestrationStatus);
        return mapped is InstanceState.Pending or InstanceState.Running or InstanceState.Unknown
            ? throw new TimeoutException($"Instance {instanceId} did not end within {timeout.TotalSeconds:0}s.")
            : mapped;
    }

    /// <summary>How often a wait reads the instance's state: one point read of the instances table.</summary>
    private static readonly TimeSpan StatePollingInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The instance's state once it ended, or its last state at the timeout. DTFx's own wait polls every 2 s, which
    /// added a second on average to every local command and test that waits for a recalculation of a few seconds.
    /// </summary>
    private async Task<OrchestrationState?> WaitForOrchestrationAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var state = await _client.GetOrchestrationStateAsync(instanceId);
            if (state is not null && Map(state.OrchestrationStatus) is not (InstanceState.Pending or InstanceState.Running)) return state;
            if (clock.Elapsed >= timeout) return state;
            await Task.Delay(StatePollingInterval, cancellationToken);
        }
    }

    /// <summary>When the instance was created (UTC), or null when the task hub has no such instance.</summary>
    public async Task<DateTimeOffset?> CreatedAtAsync(string instanceId)
    {
        var state = await _client.GetOrchestrationStateAsync(instanceId);
        return state is null ? null : new DateTimeOffset(DateTime.SpecifyKind(state.CreatedTime, DateTimeKind.Utc));
    }

    /// <summary>Waits for the instance to finish; returns its outcome or throws with the failure.</summary>
    public async Task<RecalculationOutcome> WaitAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var state = await WaitForOrchestrationAsync(instanceId, timeout, cancellationToken)
            ?? throw new TimeoutException($"Recalculation {instanceId} did not finish within {timeout.TotalSeconds:0}s.");
        return state.OrchestrationStatus switch
        {
            OrchestrationStatus.Completed => JsonDataConverter.Default.Deserialize<RecalculationOutcome>(state.Output)
                ?? throw new InvalidOperationException("The recalculation finished without an outcome."),
            OrchestrationStatus.Failed => throw new InvalidOperationException($"Recalculation {instanceId} failed: {state.FailureDetails?.ErrorMessage ?? state.Output}"),
            var other when Map(other) is InstanceState.Pending or InstanceState.Running => throw new TimeoutException($"Recalculation {instanceId} did not finish within {timeout.TotalSeconds:0}s."),
            var other => throw new InvalidOperationException($"Recalculation {instanceId} ended {other}."),
        };
    }

    private static InstanceState Map(OrchestrationStatus status) => status switch
    {
        OrchestrationStatus.Pending => InstanceState.Pending,
        OrchestrationStatus.Running or OrchestrationStatus.ContinuedAsNew or OrchestrationStatus.Suspended => InstanceState.Running,
        OrchestrationStatus.Completed => InstanceState.Completed,
        OrchestrationStatus.Failed => InstanceState.Failed,
        OrchestrationStatus.Terminated or OrchestrationStatus.Canceled => InstanceState.Terminated,
        _ => InstanceState.Unknown,
    };

    public async ValueTask DisposeAsync()
    {
        if (_crashed) return;
        await StopWorkerAsync(forced: false);
        _service.Dispose();
    }

    /// <summary>
    /// The client serializes orchestration input with the same System.Text.Json converter the shims read it with
    /// (DTFx's default is Newtonsoft, which would disagree on shapes).
    /// </summary>
    private sealed class SystemTextJsonConverter : DurableTask.Core.Serializing.DataConverter
    {
        public override string? Serialize(object? value) => JsonDataConverter.Default.Serialize(value);

        public override string? Serialize(object? value, bool formatted) => JsonDataConverter.Default.Serialize(value);

        public override object? Deserialize(string? data, Type objectType) => JsonDataConverter.Default.Deserialize(data, objectType);
    }

    private sealed class InterceptedActivity(string name, ITaskActivity inner, ActivityInterceptor? before, ActivityObserver? after) : ITaskActivity
    {
        public Type InputType => inner.InputType;
        public Type OutputType => inner.OutputType;

        public async Task<object?> RunAsync(TaskActivityContext context, object? input)
        {
            if (before is not null) await before(name, input);
            var output = await inner.RunAsync(context, input);
            if (after is not null) await after(name, input, output);
            return output;
        }
    }

    /// <summary>Creates a fresh shim per execution: an orchestration shim holds per-execution state.</summary>
    private sealed class Creator<T> : ObjectCreator<T>
    {
        private readonly Func<T> _create;

        public Creator(string name, Func<T> create)
        {
            Name = name;
            Version = "";
            _create = create;
        }

        public override T Create() => _create();
    }
}
