using System.Diagnostics;
using System.Globalization;
using System.Runtime;

namespace Attribution.Benchmarks;

/// <summary>`--name value` options; anything unknown is bad usage.</summary>
internal sealed class BenchOptions
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    /// <summary>Options in <paramref name="known"/> take a value; those in <paramref name="flags"/> do not.</summary>
    public BenchOptions(string[] args, string[] known, string[]? flags = null)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (flags?.Contains(args[i]) == true)
            {
                _flags.Add(args[i]);
                continue;
            }
            if (!known.Contains(args[i])) throw new ArgumentException($"unexpected argument '{args[i]}'");
            if (i + 1 >= args.Length) throw new ArgumentException($"{args[i]} needs a value");
            _values[args[i]] = args[++i];
        }
    }

    public string? String(string name) => _values.GetValueOrDefault(name);

    public bool Flag(string name) => _flags.Contains(name);

    public long Long(string name, long fallback)
    {
        if (!_values.TryGetValue(name, out var text)) return fallback;
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new ArgumentException($"{name}: '{text}' is not a positive whole number");
    }

    public double Double(string name, double fallback)
    {
        if (!_values.TryGetValue(name, out var text)) return fallback;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new ArgumentException($"{name}: '{text}' is not a positive number");
    }
}

/// <summary>
/// Peak memory of this process while a piece of work runs: VmHWM (peak resident set, reset through
/// /proc/self/clear_refs when the kernel allows it) and, sampled every 100 ms, the resident set, the GC heap
/// (<see cref="GCMemoryInfo.HeapSizeBytes"/>, after the last GC) and the live-object estimate <see cref="GC.GetTotalMemory"/>.
/// </summary>
internal sealed class MemoryMonitor : IDisposable
{
    private readonly Timer _timer;
    private readonly Lock _gate = new();
    private long _maxRss, _maxHeap, _maxTotal, _maxCommitted;
    private readonly bool _hwmReset;

    private MemoryMonitor()
    {
        _hwmReset = TryResetPeak();
        Sample();
        _timer = new Timer(_ => Sample(), null, 100, 100);
    }

    public static MemoryMonitor Start()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return new MemoryMonitor();
    }

    public bool PeakWasReset => _hwmReset;

    private void Sample()
    {
        var rss = ProcStatus.Read(Environment.ProcessId, "VmRSS") ?? Environment.WorkingSet;
        var info = GC.GetGCMemoryInfo();
        var total = GC.GetTotalMemory(false);
        lock (_gate)
        {
            _maxRss = Math.Max(_maxRss, rss);
            _maxHeap = Math.Max(_maxHeap, info.HeapSizeBytes);
            _maxCommitted = Math.Max(_maxCommitted, info.TotalCommittedBytes);
            _maxTotal = Math.Max(_maxTotal, total);
        }
    }

    /// <summary>The peaks so far.</summary>
    public MemoryPeaks Peaks()
    {
        Sample();
        using var p = Process.GetCurrentProcess();
        lock (_gate)
        {
            return new MemoryPeaks(
                ProcStatus.Read(Environment.ProcessId, "VmHWM") ?? p.PeakWorkingSet64,
                p.PeakWorkingSet64, _maxRss, _maxHeap, _maxCommitted, _maxTotal, _hwmReset);
        }
    }

    public void Dispose() => _timer.Dispose();

    /// <summary>Writing 5 to /proc/self/clear_refs resets VmHWM (Linux ≥ 4.0), so the peak covers only what follows.</summary>
    private static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public static string GcMode() =>
        $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC, {GCSettings.LatencyMode}, {Environment.ProcessorCount} CPU(s)";
}

internal sealed record MemoryPeaks(long VmHwm, long PeakWorkingSet64, long MaxSampledRss, long MaxGcHeap, long MaxGcCommitted, long MaxGcTotalMemory, bool HwmReset)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"peak RSS (VmHWM{(HwmReset ? ", reset at start" : ", since process start")}) {Mib(VmHwm)} MiB; max sampled RSS {Mib(MaxSampledRss)} MiB; " +
        $"max GC heap {Mib(MaxGcHeap)} MiB (committed {Mib(MaxGcCommitted)} MiB); max GC.GetTotalMemory {Mib(MaxGcTotalMemory)} MiB");

    public static string Mib(long bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);
}

/// <summary>Reads `Name:   123 kB` lines of /proc/PID/status.</summary>
internal static class ProcStatus
{
    public static long? Read(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
                var parts = line[(field.Length + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }
        return null;
    }

    /// <summary>The node process running Azurite with the given table port (AzuriteHost does not expose it).</summary>
    public static int? FindAzurite(int tablePort)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (!args.Any(a => a.Contains("azurite", StringComparison.OrdinalIgnoreCase))) continue;
                var at = Array.IndexOf(args, "--tablePort");
                if (at >= 0 && at + 1 < args.Length && args[at + 1] == tablePort.ToString(CultureInfo.InvariantCulture)) return pid;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return null;
    }

    public static string AzuriteMemory(int? pid) => pid is { } p
        ? string.Create(CultureInfo.InvariantCulture,
            $"Azurite (node, pid {p}): RSS now {MemoryPeaks.Mib(Read(p, "VmRSS") ?? 0)} MiB, peak (VmHWM) {MemoryPeaks.Mib(Read(p, "VmHWM") ?? 0)} MiB")
        : "Azurite process not found";
}

/// <summary>Best and median of repeated measurements (higher is better).</summary>
internal static class Stats
{
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public static double Best(IReadOnlyList<double> values) => values.Max();

    public static string F(double value, string format = "N0") => value.ToString(format, CultureInfo.InvariantCulture);
}
