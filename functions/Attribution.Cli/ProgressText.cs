using System.Globalization;
using Attribution.Domain;
using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Recalculation;
using Attribution.Local;

namespace Attribution.Cli;

/// <summary>The words of the progress displays (interactive terminals only): rows/s and ETA per file, steps done per phase.</summary>
internal static class ProgressText
{
    /// <summary>"usage-2025.csv: writing 120,000 rows, 40,000 rows/s, ETA 1m05s".</summary>
    /// <param name="rows">Rows read in this pass so far (each file is read twice: validating, then writing).</param>
    /// <param name="rowsPerSecond">The pass's current pace; null when not yet known (its first report).</param>
    /// <param name="fraction">How much of the whole file's work is done (both passes), 0 to 1.</param>
    /// <param name="elapsed">Time spent on the file so far (the ETA extrapolates it).</param>
    public static string Ingest(string file, IngestionPhase phase, long rows, double? rowsPerSecond, double fraction, TimeSpan elapsed)
    {
        var pass = phase == IngestionPhase.Validating ? "validating" : "writing";
        var text = string.Create(CultureInfo.InvariantCulture, $"{file}: {pass} {rows:N0} rows");
        if (rowsPerSecond is { } rate) text += string.Create(CultureInfo.InvariantCulture, $", {rate:N0} rows/s");
        if (Eta(fraction, elapsed) is { } eta) text += $", ETA {Duration(eta)}";
        return text;
    }

    /// <summary>"usage-2025.csv: 120,000 rows in 3s, 40,000 rows/s": the file's whole ingestion (both passes).</summary>
    public static string Ingested(string file, long rows, TimeSpan elapsed)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{file}: {rows:N0} rows in {Duration(elapsed)}");
        return RowsPerSecond(rows, elapsed) is { } rate ? text + string.Create(CultureInfo.InvariantCulture, $", {rate:N0} rows/s") : text;
    }

    /// <summary>Rows per second, or null before any time has passed.</summary>
    public static double? RowsPerSecond(long rows, TimeSpan elapsed) => elapsed > TimeSpan.Zero ? rows / elapsed.TotalSeconds : null;

    /// <summary>What is left at the pace so far: elapsed × (1 − f) / f; null before anything is done.</summary>
    public static TimeSpan? Eta(double fraction, TimeSpan elapsed) => fraction switch
    {
        <= 0 or double.NaN => null,
        >= 1 => TimeSpan.Zero,
        _ => TimeSpan.FromSeconds(elapsed.TotalSeconds * (1 - fraction) / fraction),
    };

    /// <summary>"45s", "1m05s", "2h03m" (rounded up to the second: an ETA of 0s is for a finished file).</summary>
    public static string Duration(TimeSpan t)
    {
        var seconds = (long)Math.Ceiling(Math.Max(0, t.TotalSeconds));
        return seconds switch
        {
            < 60 => string.Create(CultureInfo.InvariantCulture, $"{seconds}s"),
            < 3600 => string.Create(CultureInfo.InvariantCulture, $"{seconds / 60}m{seconds % 60:00}s"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600}h{seconds / 60 % 60:00}m"),
        };
    }

    /// <summary>"Recalculating credit for 2026-10: shards 3/8, reduce 0/4, publish 0/4"; a total not yet known shows as "?".</summary>
    public static string Recalculation(YearMonth asOf, RecalculationProgress.Snapshot p)
    {
        static string Part(string what, int done, int? total) =>
            string.Create(CultureInfo.InvariantCulture, $"{what} {done}/{(total is { } t ? t.ToString(CultureInfo.InvariantCulture) : "?")}");
        var text = $"Recalculating credit for {asOf}: {Part("shards", p.Shards, p.ShardsTotal)}, {Part("reduce", p.Reduced, p.ReduceTotal)}";
        return p.Publishes ? $"{text}, {Part("publish", p.Published, p.PublishTotal)}" : text;
    }
}

/// <summary>
/// What the local worker has finished of a recalculation, counted from its activities' results as they return
/// (<see cref="LocalDurableHost.ActivityObserver"/>): the totals come from Begin, the counts from each step.
/// </summary>
internal sealed class RecalculationProgress(bool publishes)
{
    private readonly Lock _gate = new();
    private Snapshot _now = new(0, null, 0, null, 0, null, publishes);

    public readonly record struct Snapshot(int Shards, int? ShardsTotal, int Reduced, int? ReduceTotal, int Published, int? PublishTotal, bool Publishes);

    /// <summary>Raised after every counted step (from the worker's threads).</summary>
    public event Action<Snapshot>? Changed;

    public Snapshot Now
    {
        get
        {
            lock (_gate) return _now;
        }
    }

    /// <summary>The observer to hand to the worker.</summary>
    public Task ObserveAsync(string activity, object? input, object? output)
    {
        Snapshot now;
        lock (_gate)
        {
            var before = _now;
            _now = (activity, output) switch
            {
                (nameof(BeginRecalculation), BeginResult b) => _now with { ShardsTotal = b.Shards, ReduceTotal = b.ReduceRanges, PublishTotal = b.PublishRanges },
                (nameof(ComputeCreditShard), _) => _now with { Shards = _now.Shards + 1 },
                (nameof(ReduceCreditRange), _) => _now with { Reduced = _now.Reduced + 1 },
                // A roll-forward of an interrupted publish runs before Begin: only this run's ranges are counted.
                (nameof(PublishCreditRange), _) when _now.ShardsTotal is not null => _now with { Published = _now.Published + 1 },
                _ => _now,
            };
            if (_now == before) return Task.CompletedTask;
            now = _now;
        }
        Changed?.Invoke(now);
        return Task.CompletedTask;
    }
}
