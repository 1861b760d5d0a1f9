using System.Collections.Frozen;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using BenchmarkDotNet.Attributes;

namespace Attribution.Benchmarks;

/// <summary>
/// BenchmarkDotNet view of the CPU side of ingestion on one generated usage CSV (`bdn --filter *Parse*`):
/// the bare Sep floor (and the same with the BCL's double/long parsing, which our value rules use), our reader alone (rows and column lookups, no value rules), our parse+normalize, and the
/// full validation pass (+ SHA-256). The ratio ReaderOnly/BareSep isolates the reader layer; ParseNormalize/ReaderOnly
/// the value rules and records.
/// </summary>
[MemoryDiagnoser]
public class ParseBenchmarks
{
    private string _dir = "";
    private string _path = "";

    [Params(100_000)]
    public int Rows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"attribution-bdn-{Environment.ProcessId}");
        Directory.CreateDirectory(_dir);
        _path = Path.Combine(_dir, "usage.csv");
        IngestBench.GenerateUsage(_path, Rows);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(Baseline = true)]
    public long BareSep() => IngestBench.BareSep(_path);

    [Benchmark]
    public long BareSepBclNumbers() => IngestBench.BareSep(_path, bclNumbers: true);

    [Benchmark]
    public long ReaderOnly()
    {
        using var reader = FeedRowReader.Open(File.OpenRead(_path), FeedSource.Usage, FeedFormat.Csv, gzip: false);
        long length = 0;
        while (reader.MoveNext())
        {
            length += reader[FeedColumn.CustomerTenantId].Length + reader[FeedColumn.SubscriptionId].Length + reader[FeedColumn.Workload].Length
                      + reader[FeedColumn.Month].Length + reader[FeedColumn.ConsumedRevenueUsd].Length + reader[FeedColumn.ActiveUsers].Length;
        }
        return length;
    }

    /// <summary>Our reader with the column lookups parse+normalize makes for a usage row (each value read twice: empty check, then parse).</summary>
    [Benchmark]
    public long ReaderNormalizerLookups()
    {
        using var reader = FeedRowReader.Open(File.OpenRead(_path), FeedSource.Usage, FeedFormat.Csv, gzip: false);
        long length = 0;
        ReadOnlySpan<FeedColumn> columns = [FeedColumn.CustomerTenantId, FeedColumn.SubscriptionId, FeedColumn.Workload, FeedColumn.Month, FeedColumn.ConsumedRevenueUsd, FeedColumn.ActiveUsers];
        while (reader.MoveNext())
        {
            foreach (var c in columns)
                if (!reader[c].Trim().IsEmpty) length += reader[c].Length;
        }
        return length;
    }

    [Benchmark]
    public long ParseNormalize() => IngestBench.ParseNormalize(_path, hash: false);

    /// <summary>
    /// What parse+normalize of a usage row costs with two production changes proposed in docs/benchmarks.md, same
    /// rules and results for valid rows: each column read once (not once for the empty check and again to parse), and
    /// the workload matched by a case-insensitive span lookup instead of building a lower-cased key string per row.
    /// Invalid rows are only counted here (the production code words the reasons).
    /// </summary>
    [Benchmark]
    public long ParseNormalizeProposed()
    {
        using var reader = FeedRowReader.Open(File.OpenRead(_path), FeedSource.Usage, FeedFormat.Csv, gzip: false);
        var sink = new Attribution.Pipeline.Ingestion.CountingSink();
        var lineage = new FeedLineage("bench", 0, IngestedAt);
        long rows = 0, rejected = 0;
        while (reader.MoveNext())
        {
            rows++;
            if (reader.RowProblem is not null || !Usage(reader, lineage, sink)) rejected++;
        }
        if (rejected > 0) throw new InvalidOperationException($"{rejected} rows rejected");
        return rows;
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1859", Justification = "The interface call is what production pays.")]
    private static bool Usage(FeedRowReader row, FeedLineage lineage, IFeedRecordSink sink)
    {
        var tenantText = row[FeedColumn.CustomerTenantId];
        if (tenantText.Trim().IsEmpty || ValueRules.ParseGuid(tenantText, out var tenant) is not null) return false;
        var subscriptionText = row[FeedColumn.SubscriptionId];
        if (subscriptionText.Trim().IsEmpty || ValueRules.ParseGuid(subscriptionText, out var subscription) is not null) return false;
        var workloadText = row[FeedColumn.Workload].Trim();
        if (workloadText.IsEmpty || !(WorkloadByName.TryGetValue(workloadText, out var workload) || WorkloadNames.TryParse(workloadText, out workload))) return false;
        var monthText = row[FeedColumn.Month];
        if (monthText.Trim().IsEmpty || ValueRules.ParseMonth(monthText, out var month) is not null) return false;
        double? revenue = null;
        long? users = null;
        var revenueText = row[FeedColumn.ConsumedRevenueUsd];
        if (!revenueText.Trim().IsEmpty)
        {
            if (ValueRules.ParseAmount(revenueText, out var r) is not null) return false;
            revenue = r;
        }
        var usersText = row[FeedColumn.ActiveUsers];
        if (!usersText.Trim().IsEmpty)
        {
            if (ValueRules.ParseCount(usersText, out var u) is not null) return false;
            users = u;
        }
        if (revenue is null && users is null) return false;
        sink.Add(new UsageRecord(tenant, subscription, workload, month, revenue, users, lineage with { Line = row.Line }));
        return true;
    }

    private static readonly DateTimeOffset IngestedAt = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly FrozenDictionary<string, Workload>.AlternateLookup<ReadOnlySpan<char>> WorkloadByName =
        Enum.GetValues<Workload>().ToFrozenDictionary(w => w.ToString(), StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    [Benchmark]
    public long ValidationPass() => IngestBench.ParseNormalize(_path, hash: true);
}
