using System.Collections.Frozen;
using System.Globalization;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using BenchmarkDotNet.Attributes;
using nietras.SeparatedValues;

namespace Attribution.Benchmarks;

/// <summary>
/// Where parse+normalize spends its time beyond the bare Sep floor (`bdn --filter *NormalizeCost*`): each value rule
/// of a usage row against the plain parse the floor does, over the fields of 100,000 generated rows held in memory.
/// Every benchmark handles all rows; divide by 100,000 for the cost per row.
/// </summary>
[MemoryDiagnoser]
public class NormalizeCostBenchmarks
{
    private const int Rows = 100_000;
    private static readonly FeedLineage Lineage = new("bench", 1, new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    private string[] _tenant = [], _subscription = [], _workload = [], _month = [], _revenue = [], _users = [];

    [GlobalSetup]
    public void Setup()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"attribution-bdn-cost-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "usage.csv");
        IngestBench.GenerateUsage(path, Rows + 1000);
        var t = new List<string>(); var s = new List<string>(); var w = new List<string>();
        var m = new List<string>(); var r = new List<string>(); var u = new List<string>();
        using (var reader = Sep.Reader().FromFile(path))
        {
            foreach (var row in reader)
            {
                if (t.Count == Rows) break;
                t.Add(row["customerTenantId"].ToString()); s.Add(row["subscriptionId"].ToString()); w.Add(row["workload"].ToString());
                m.Add(row["month"].ToString()); r.Add(row["consumedRevenueUsd"].ToString()); u.Add(row["activeUsers"].ToString());
            }
        }
        Directory.Delete(dir, recursive: true);
        (_tenant, _subscription, _workload, _month, _revenue, _users) = (t.ToArray(), s.ToArray(), w.ToArray(), m.ToArray(), r.ToArray(), u.ToArray());
    }

    [Benchmark(Baseline = true)]
    public int GuidParse()
    {
        var x = 0;
        for (var i = 0; i < Rows; i++) x ^= Guid.Parse(_tenant[i].AsSpan()).GetHashCode() ^ Guid.Parse(_subscription[i].AsSpan()).GetHashCode();
        return x;
    }

    [Benchmark]
    public int GuidValueRules()
    {
        var x = 0;
        for (var i = 0; i < Rows; i++)
        {
            if (ValueRules.ParseGuid(_tenant[i], out var a) is null && ValueRules.ParseGuid(_subscription[i], out var b) is null)
                x ^= a.GetHashCode() ^ b.GetHashCode();
        }
        return x;
    }

    [Benchmark]
    public int WorkloadToString()
    {
        var x = 0;
        for (var i = 0; i < Rows; i++) x += new string(_workload[i].AsSpan()).Length;
        return x;
    }

    [Benchmark]
    public int WorkloadNamesTryParse()
    {
        var x = 0;
        for (var i = 0; i < Rows; i++)
        {
            if (WorkloadNames.TryParse(_workload[i], out var w)) x += (int)w;
        }
        return x;
    }

    /// <summary>
    /// The proposed fix for WorkloadNames.TryParse: a case-insensitive span lookup of the names as written (no key string
    /// built per row), falling back to today's normalizing lookup only when that misses (inner spaces, odd spacing).
    /// </summary>
    [Benchmark]
    public int WorkloadSpanLookupProposed()
    {
        var x = 0;
        for (var i = 0; i < Rows; i++)
        {
            var span = _workload[i].AsSpan().Trim();
            if (WorkloadByName.TryGetValue(span, out var w) || WorkloadNames.TryParse(span, out w)) x += (int)w;
        }
        return x;
    }

    private static readonly FrozenDictionary<string, Workload>.AlternateLookup<ReadOnlySpan<char>> WorkloadByName =
        Enum.GetValues<Workload>().ToFrozenDictionary(w => w.ToString(), StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    [Benchmark]
    public int MonthIntParse()
    {
        var x = 0;
        for (var i = 0; i < Rows; i++)
        {
            var s = _month[i].AsSpan();
            x += int.Parse(s[..4], NumberStyles.None, CultureInfo.InvariantCulture) * 12 + int.Parse(s[5..], NumberStyles.None, CultureInfo.InvariantCulture);
        }
        return x;
    }

    [Benchmark]
    public int MonthValueRules()
    {
        var x = 0;
        for (var i = 0; i < Rows; i++)
        {
            if (ValueRules.ParseMonth(_month[i], out var m) is null) x += m.Index;
        }
        return x;
    }

    [Benchmark]
    public double AmountsBcl()
    {
        double x = 0;
        for (var i = 0; i < Rows; i++)
        {
            if (_revenue[i].Length > 0) x += double.Parse(_revenue[i], CultureInfo.InvariantCulture);
            if (_users[i].Length > 0) x += long.Parse(_users[i], CultureInfo.InvariantCulture);
        }
        return x;
    }

    [Benchmark]
    public double AmountsValueRules()
    {
        double x = 0;
        for (var i = 0; i < Rows; i++)
        {
            if (_revenue[i].Length > 0 && ValueRules.ParseAmount(_revenue[i], out var r) is null) x += r;
            if (_users[i].Length > 0 && ValueRules.ParseCount(_users[i], out var u) is null) x += u;
        }
        return x;
    }

    /// <summary>The two objects each accepted row allocates (the record and its lineage).</summary>
    [Benchmark]
    public int UsageRecordAndLineage()
    {
        var x = 0;
        for (var i = 0; i < Rows; i++)
        {
            var record = new UsageRecord(default, default, Workload.Azure, new YearMonth(2026, 1), 1.0, 1, Lineage with { Line = i });
            x += record.Lineage.Line > 0 ? 1 : 0;
        }
        return x;
    }
}
