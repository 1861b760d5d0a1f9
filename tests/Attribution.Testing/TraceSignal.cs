using System.Diagnostics;
using Attribution.Pipeline;

namespace Attribution.Testing;

/// <summary>
/// An event a test can wait on: completes when a span of the domain's trace source with this name starts (or
/// stops) for one storage account (the <c>attribution.storage</c> tag on the span or an ancestor), so a crash test
/// pulls the plug at a known point of the work instead of polling storage until something shows up. Create it
/// before starting the work.
/// </summary>
public sealed class TraceSignal : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly TaskCompletionSource _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TraceSignal(string spanName, string storageAuthority, bool whenStopped = false)
    {
        void Check(Activity activity)
        {
            if (activity.OperationName != spanName) return;
            for (var a = activity; a is not null; a = a.Parent)
            {
                if (a.GetTagItem("attribution.storage") is string s)
                {
                    if (s == storageAuthority) _seen.TrySetResult();
                    return;
                }
            }
        }
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == Telemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStarted = whenStopped ? null : Check,
            ActivityStopped = whenStopped ? Check : null,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Completes at the span's event, or when <paramref name="work"/> ends first (then the test sees it ended).</summary>
    public async Task WaitAsync(Task work) => await Task.WhenAny(_seen.Task, work).ConfigureAwait(false);

    public void Dispose() => _listener.Dispose();
}
