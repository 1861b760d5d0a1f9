using Attribution.Testing;
using System.Diagnostics;
using System.Globalization;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Local;
using Attribution.Local.Synthetic;

namespace Attribution.Benchmarks;

/// <summary>
/// Peak memory of our ingestion (this .NET process; Azurite is a separate node process, reported apart) on usage
/// files of at least 1 GiB uncompressed, through the real <see cref="FeedIngestor"/> into an in-memory Azurite:
/// <list type="number">
/// <item>Narrow rows (~10 M rows per GiB): the whole validation pass (parse + normalize + SHA-256 of the full
/// file), then the write pass for <c>--write-seconds</c> (default 30) before it is cancelled — writing ~10 M
/// entities into Azurite would take hours, and the writer's memory is bounded by partitions × batch size, not rows.</item>
/// <item>Wide rows (<c>--extra-bytes</c>, default 4,000, in an ignored column: ~250 k rows per GiB): the complete
/// ingestion, both passes and every entity written, so the whole file goes through the writer.</item>
/// </list>
/// </summary>
public static class MemoryBench
{
    private const int Seed = 20262;

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchOptions(args, ["--gb", "--wide-gb", "--write-seconds", "--extra-bytes"]);
        var gib = options.Double("--gb", 1);
        var wideGib = options.Double("--wide-gb", gib);
        var writeSeconds = options.Double("--write-seconds", 30);
        var extraBytes = (int)options.Long("--extra-bytes", 4000);
        var dir = Path.Combine(Path.GetTempPath(), $"attribution-memory-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        Console.WriteLine($"memory bench: {MemoryMonitor.GcMode()}");
        try
        {
            await using var azurite = await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true }).ConfigureAwait(false);
            var azuritePid = ProcStatus.FindAzurite(azurite.TablePort);
            Console.WriteLine($"Azurite in memory on 127.0.0.1:{azurite.TablePort} (tables), pid {azuritePid?.ToString(CultureInfo.InvariantCulture) ?? "?"}");

            var narrow = Path.Combine(dir, "usage-narrow.csv");
            var bytes = Generate(narrow, (long)(gib * (1L << 30)), 0);
            await MeasureAsync($"1) narrow rows, {bytes / 1e9:F2} GB: validation pass of the whole file, then {writeSeconds:F0} s of the write pass",
                azurite.ConnectionString, narrow, TimeSpan.FromSeconds(writeSeconds)).ConfigureAwait(false);
            Console.WriteLine("   " + ProcStatus.AzuriteMemory(azuritePid));
            File.Delete(narrow);

            var wide = Path.Combine(dir, "usage-wide.csv");
            bytes = Generate(wide, (long)(wideGib * (1L << 30)), extraBytes);
            await MeasureAsync($"2) wide rows (+{extraBytes:N0} B ignored column), {bytes / 1e9:F2} GB: complete ingestion",
                azurite.ConnectionString, wide, null).ConfigureAwait(false);
            Console.WriteLine("   " + ProcStatus.AzuriteMemory(azuritePid));
            File.Delete(wide);
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static long Generate(string path, long targetBytes, int extraBytes)
    {
        var sw = Stopwatch.StartNew();
        long bytes;
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16))
            bytes = SyntheticFeedGenerator.WriteUsageCsv(file, targetBytes, Seed, extraBytes);
        Console.WriteLine($"generated {path}: {bytes:N0} bytes ({bytes / 1073741824.0:F2} GiB) in {sw.Elapsed.TotalSeconds:F1}s");
        return bytes;
    }

    private static async Task MeasureAsync(string title, string connectionString, string path, TimeSpan? writeFor)
    {
        Console.WriteLine();
        Console.WriteLine(title);
        var storage = StorageAccount.FromConnectionString(connectionString);
        await storage.EnsureCreatedAsync().ConfigureAwait(false);
        var ingestor = storage.Create<FeedIngestor>(CreditRulesLoader.Default);
        using var cts = new CancellationTokenSource();
        using var monitor = MemoryMonitor.Start();
        var watch = new PhaseWatch(monitor, writeFor, cts);
        // IngestAsync with an opener that notes the pass boundary: the same as IngestFileAsync(path, ...).
        var passes = new IngestBench.PassClock(path) { OnWritePassStart = watch.WritePassStarted };
        FeedIngestionResult? result = null;
        try
        {
            result = await ingestor.IngestAsync(FeedSource.Usage, Path.GetFileName(path), passes.OpenAsync, new FileInfo(path).Length, watch, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            // The planned stop of the write pass.
        }
        var total = watch.Elapsed;
        var all = monitor.Peaks();

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   validation pass: {watch.ValidatedRows:N0}+ rows (progress is reported every 65,536) in {watch.ValidationSeconds:F1} s ({watch.ValidatedRows / watch.ValidationSeconds:N0} rows/s, {new FileInfo(path).Length / 1048576.0 / watch.ValidationSeconds:F0} MiB/s)"));
        Console.WriteLine($"   peaks during the validation pass: {watch.ValidationPeaks}");
        if (result is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   complete: {result.Status}, {result.RowsAccepted:N0} rows accepted, {result.RowsRejected:N0} rejected, {total.TotalSeconds:F1} s in all ({result.RowsAccepted / total.TotalSeconds:N0} rows/s); write pass {total.TotalSeconds - watch.ValidationSeconds:F1} s"));
        }
        else
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   write pass stopped as planned after {total.TotalSeconds - watch.ValidationSeconds:F1} s with {watch.WrittenRows:N0} rows handed to the writer ({watch.WrittenRows / (total.TotalSeconds - watch.ValidationSeconds):N0} rows/s)"));
        }
        Console.WriteLine($"   peaks over the whole ingestion:   {all}");
        Console.WriteLine($"   allocated in all: {GC.GetTotalAllocatedBytes() / 1048576.0:N0} MiB since process start; GCs gen0/1/2: {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}");
    }

    /// <summary>Notes the validation pass's end and its peaks; cancels the write pass after <c>writeFor</c>.</summary>
    private sealed class PhaseWatch(MemoryMonitor monitor, TimeSpan? writeFor, CancellationTokenSource cts) : IProgress<IngestionProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan? _writeStart;

        public TimeSpan Elapsed => _clock.Elapsed;
        public double ValidationSeconds => (_writeStart ?? _clock.Elapsed).TotalSeconds;
        public long ValidatedRows { get; private set; }
        public long WrittenRows { get; private set; }
        public MemoryPeaks? ValidationPeaks { get; private set; }

        /// <summary>Called when the ingestion opens the file the second time: validation (and duplicate check) done.</summary>
        public void WritePassStarted()
        {
            _writeStart = _clock.Elapsed;
            ValidationPeaks = monitor.Peaks();
        }

        public void Report(IngestionProgress value)
        {
            if (value.Phase == IngestionPhase.Validating)
            {
                ValidatedRows = value.Rows;
                return;
            }
            WrittenRows = value.Rows;
            if (writeFor is { } limit && _clock.Elapsed - _writeStart > limit) cts.Cancel();
        }
    }
}
