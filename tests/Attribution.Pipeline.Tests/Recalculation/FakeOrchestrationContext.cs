using Attribution.Testing;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Tests.Recalculation;

/// <summary>
/// An orchestration context without the Durable Task Framework, for an orchestrator's control flow in milliseconds.
/// Like DTFx it runs the orchestrator on one thread and answers activities only once the orchestrator waits: the calls
/// scheduled in between form one <see cref="Batches">batch</see>, so a fan-out shows as one batch and a sequence as
/// several. The clock moves on by <see cref="Step"/> with every batch answered, as DTFx's does with each episode.
/// An answer stands for the activity's final result, after its retries: it returns the output, or throws to fail the
/// step (a <see cref="TaskFailedException"/> as it is; anything else wrapped in one, as DTFx does).
/// Replays are not simulated (<see cref="IsReplaying"/> is false): only the real framework shows those.
/// </summary>
public sealed class FakeOrchestrationContext(Func<string, object?, object?> answer) : TaskOrchestrationContext
{
    private readonly List<Pending> _pending = [];
    private readonly List<ActivityCall> _calls = [];
    private readonly List<IReadOnlyList<ActivityCall>> _batches = [];
    private object? _input;
    private int _taskId;

    public sealed record ActivityCall(string Name, object? Input, TaskOptions? Options, DateTime ScheduledAt);

    private sealed record Pending(ActivityCall Call, int TaskId, Action<object?> Complete, Action<Exception> Fail);

    /// <summary>Every activity call, in the order the orchestrator made them.</summary>
    public IReadOnlyList<ActivityCall> Calls => _calls;

    /// <summary>The calls grouped by the wait they were scheduled before: the orchestrator's steps as DTFx sees them.</summary>
    public IReadOnlyList<IReadOnlyList<ActivityCall>> Batches => _batches;

    /// <summary>What the orchestrator logged (through its replay-safe logger).</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    public DateTime Start { get; init; } = new(2026, 11, 2, 3, 0, 0, DateTimeKind.Utc);

    public TimeSpan Step { get; init; } = TimeSpan.FromSeconds(1);

    public override DateTime CurrentUtcDateTime => Start + _batches.Count * Step;

    public override TaskName Name => "RecalculateCredit";

    public override string InstanceId => "fake-instance";

    public override ParentOrchestrationInstance? Parent => null;

    public override bool IsReplaying => false;

    protected override ILoggerFactory LoggerFactory => new CapturingFactory(Logs);

    /// <summary>
    /// Runs <paramref name="orchestrator"/> to its end: answers each batch of calls in order, until the orchestrator
    /// returns (its output) or throws (rethrown here).
    /// </summary>
    public TOutput Run<TInput, TOutput>(TaskOrchestrator<TInput, TOutput> orchestrator, TInput input)
    {
        ArgumentNullException.ThrowIfNull(orchestrator);
        if (_calls.Count > 0) throw new InvalidOperationException("One run per context: its calls and batches are that run's.");
        _input = input;
        var previous = SynchronizationContext.Current;
        var pump = new Pump();
        SynchronizationContext.SetSynchronizationContext(pump);
        try
        {
            var run = orchestrator.RunAsync(this, input);
            pump.Drain();
            while (!run.IsCompleted)
            {
                if (_pending.Count == 0)
                    throw new InvalidOperationException("The orchestrator waits on something this fake does not provide (a timer, an event, a sub-orchestration).");
                var batch = _pending.ToList();
                _pending.Clear();
                _batches.Add([.. batch.Select(p => p.Call)]);
                foreach (var p in batch) Answer(p);
                pump.Drain();
            }
            return run.GetAwaiter().GetResult();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    /// <summary>A step's failure as the orchestrator sees it once the step's retries are spent.</summary>
    public static TaskFailedException Failure(string step, string message) =>
        new(step, 0, new TaskFailureDetails("System.InvalidOperationException", message, null, null, null));

    private void Answer(Pending p)
    {
        object? output;
        try
        {
            output = answer(p.Call.Name, p.Call.Input);
        }
        catch (TaskFailedException e)
        {
            p.Fail(e);
            return;
        }
#pragma warning disable CA1031 // Any exception of an activity reaches the orchestrator as a TaskFailedException.
        catch (Exception e)
#pragma warning restore CA1031
        {
            p.Fail(new TaskFailedException(p.Call.Name, p.TaskId, TaskFailureDetails.FromException(e)));
            return;
        }
        p.Complete(output);
    }

    public override Task<T> CallActivityAsync<T>(TaskName name, object? input = null, TaskOptions? options = null)
    {
        var call = new ActivityCall(name.Name, input, options, CurrentUtcDateTime);
        var result = new TaskCompletionSource<T>();
        _calls.Add(call);
        _pending.Add(new Pending(call, _taskId++, output => result.SetResult((T)output!), result.SetException));
        return result.Task;
    }

    public override T? GetInput<T>() where T : default => (T?)_input;

    public override Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken) => throw new NotSupportedException();

    public override Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public override void SendEvent(string instanceId, string eventName, object payload) => throw new NotSupportedException();

    public override void SetCustomStatus(object? customStatus) => throw new NotSupportedException();

    public override Task<TResult> CallSubOrchestratorAsync<TResult>(TaskName orchestratorName, object? input = null, TaskOptions? options = null) =>
        throw new NotSupportedException();

    public override void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true) => throw new NotSupportedException();

    public override Guid NewGuid() => throw new NotSupportedException();

    /// <summary>Loggers that write to <see cref="Logs"/>; owns nothing, so nothing to dispose.</summary>
    private sealed class CapturingFactory(CapturingLoggerProvider logs) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => logs.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

        public void Dispose() { }
    }

    /// <summary>The orchestrator's one thread: continuations queue here and run when the driver drains them.</summary>
    private sealed class Pump : SynchronizationContext
    {
        private readonly Queue<(SendOrPostCallback Callback, object? State)> _work = new();

        public override void Post(SendOrPostCallback d, object? state) => _work.Enqueue((d, state));

        public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException();

        public void Drain()
        {
            while (_work.TryDequeue(out var w)) w.Callback(w.State);
        }
    }
}
