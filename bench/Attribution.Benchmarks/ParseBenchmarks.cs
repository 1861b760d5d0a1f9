using Attribution.Core.Feeds;
using BenchmarkDotNet.Attributes;

namespace Attribution.Benchmarks;

/// <summary>
/// BenchmarkDotNet view of the CPU side of ingestion on one generated usage CSV (`bdn --filter *Parse*`):
/// the bare Sep floor, our reader alone (rows and column lookups, no value rules), our parse+normalize, and the
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

    [Benchmark]
    public long ParseNormalize() => IngestBench.ParseNormalize(_path, hash: false);

    [Benchmark]
    public long ValidationPass() => IngestBench.ParseNormalize(_path, hash: true);
}
