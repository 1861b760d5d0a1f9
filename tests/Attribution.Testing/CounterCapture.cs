using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Attribution.Testing;

/// <summary>
/// Listens to one counter of the domain's meter, keeping only what the creating test's own async flow adds (an
/// AsyncLocal marks it, and flows into the tasks the code under test starts), so test classes running side by side
/// never see each other's measurements.
/// </summary>
public sealed class CounterCapture : IDisposable
{
    private static readonly AsyncLocal<CounterCapture?> Current = new();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(long Value, Dictionary<string, object?> Tags)> _measurements = new();

    public CounterCapture(string meter, string instrument)
    {
        Current.Value = this; // set synchronously: visible to the rest of the test method
        _listener.InstrumentPublished = (i, listener) =>
        {
            if (i.Meter.Name == meter && i.Name == instrument) listener.EnableMeasurementEvents(i, this);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) =>
        {
            if (!ReferenceEquals(Current.Value, state)) return;
            var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var t in tags) copy[t.Key] = t.Value;
            _measurements.Enqueue((value, copy));
        });
        _listener.Start();
    }

    /// <summary>The sum of what was added with tag <paramref name="tag"/> = <paramref name="value"/>.</summary>
    public long Sum(string tag, string value) =>
        _measurements.Where(m => m.Tags.TryGetValue(tag, out var v) && Equals(v, value)).Sum(m => m.Value);

    /// <summary>Every tag value of <paramref name="tag"/> seen.</summary>
    public IReadOnlyList<string?> Values(string tag) => [.. _measurements.Select(m => m.Tags.GetValueOrDefault(tag)?.ToString())];

    public void Dispose()
    {
        _listener.Dispose();
        if (ReferenceEquals(Current.Value, this)) Current.Value = null;
    }
}
