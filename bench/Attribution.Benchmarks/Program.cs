using BenchmarkDotNet.Running;

namespace Attribution.Benchmarks;

/// <summary>
/// `dotnet run -c Release --project bench/Attribution.Benchmarks -- COMMAND [options]`; see docs/benchmarks.md.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: Attribution.Benchmarks COMMAND [options]
          ingest [--rows N] [--file PATH] [--runs N]   (a) bare Sep, (b) parse+normalize, (c) bare table writer, (d) full ingestion, side by side
          memory [--gb N] [--wide-gb N] [--write-seconds N] [--extra-bytes N]
                                                       peak memory of ingestion on >= 1 GB usage files
          engine [rows] [runs] [--shuffle] [--policy full|split|dporOnly]
                                                       single-threaded CreditEngine throughput on in-memory data
          api [--tenants N] [--reads N] [--storage C]  read API latency (in-process handler + Azurite) after a real recalculation,
                                                       or on what is already published in storage C
          storage [--tenants N] [--buckets N]          issue 9: (a) bare Parquet write, (b) our ingestion, (c) bare read, (d) our read path,
                                                       (e) bare table writer, (f) our first publish, then an unchanged re-run
          bdn [BenchmarkDotNet args]                   BenchmarkDotNet microbenchmarks of parse / normalize
        """;

    private static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        var rest = args[1..];
        try
        {
            return args[0] switch
            {
                "ingest" => await IngestBench.RunAsync(rest).ConfigureAwait(false),
                "memory" => await MemoryBench.RunAsync(rest).ConfigureAwait(false),
                "engine" => EngineBench.Run(rest),
                "api" => await ApiLatencyBench.RunAsync(rest).ConfigureAwait(false),
                "storage" => await StorageBench.RunAsync(rest).ConfigureAwait(false),
                "bdn" => RunBenchmarkDotNet(rest),
                _ => BadUsage($"unknown command '{args[0]}'"),
            };
        }
        catch (ArgumentException e)
        {
            return BadUsage(e.Message);
        }
    }

    private static int RunBenchmarkDotNet(string[] args)
    {
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return summaries.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;
    }

    private static int BadUsage(string message)
    {
        Console.Error.WriteLine(message);
        Console.Error.WriteLine(Usage);
        return 2;
    }
}
