using Attribution.Testing;
using System.Diagnostics;
using System.Globalization;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Local;
using Attribution.Local.Synthetic;
using Azure.Data.Tables;
using nietras.SeparatedValues;

namespace Attribution.Benchmarks;

/// <summary>
/// ISSUE 2's side-by-side ingestion benchmark, on one generated usage CSV and one in-memory Azurite:
/// (a) bare Sep read parsing the same fields to their types, (b) our parse+normalize (no storage),
/// (c) a bare writer upserting the same entities in 100-entity batches, 8 in flight, (d) our full ingestion.
/// The validation pass runs twice side by side: over the synchronous reader (what the ingestion ran before issue 19)
/// and over the asynchronous one FeedIngestor runs now (ReadAsync only), on the same file.
/// Every measurement runs <c>--runs</c> times (default 3), interleaved; the table shows best and median.
/// </summary>
public static class IngestBench
{
    private const int Seed = 20261;
    private const int InFlight = 8; // FeedIngestor.MaxInFlightBatches' default
    private static readonly DateTimeOffset IngestedAt = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchOptions(args, ["--rows", "--file", "--runs", "--cpu-reps"], ["--no-storage"]);
        var targetRows = options.Long("--rows", 300_000);
        var runs = (int)options.Long("--runs", 3);
        var cpuReps = (int)options.Long("--cpu-reps", 3);
        var storageToo = !options.Flag("--no-storage");
        var given = options.String("--file");
        var dir = Path.Combine(Path.GetTempPath(), $"attribution-ingest-bench-{Environment.ProcessId}");
        var path = given ?? Path.Combine(dir, "usage.csv");
        Console.WriteLine($"ingest bench: {MemoryMonitor.GcMode()}; {runs} run(s) of each measurement");
        try
        {
            if (given is null)
            {
                Directory.CreateDirectory(dir);
                var sw0 = Stopwatch.StartNew();
                var bytes = GenerateUsage(path, targetRows);
                Console.WriteLine($"generated {path}: {Stats.F(bytes / 1048576.0, "N1")} MiB in {sw0.Elapsed.TotalSeconds:F1}s (seed {Seed})");
            }
            else if (!File.Exists(given))
            {
                throw new ArgumentException($"--file: {given} not found");
            }

            await using var azurite = storageToo ? await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true }).ConfigureAwait(false) : null;
            var azuritePid = azurite is null ? null : ProcStatus.FindAzurite(azurite.TablePort);
            if (azurite is not null)
                Console.WriteLine($"Azurite in memory on 127.0.0.1:{azurite.TablePort} (tables), pid {azuritePid?.ToString(CultureInfo.InvariantCulture) ?? "?"}");

            // The records of the file, once, for the bare writer (parsed outside its timing: (c) is storage only).
            var records = ReadRecords(path);
            Console.WriteLine($"{records.Count:N0} usage rows; {records.Select(r => RecordEntities.BucketOf(r.CustomerTenantId)).Distinct().Count()} partitions");

            var a = new List<double>();
            var b = new List<double>();
            var v = new List<double>();
            var va = new List<double>();
            var c = new List<double>();
            var d = new List<double>();
            var dValidate = new List<double>();
            var dSeconds = new List<double>();
            // Tiered JIT: per-row methods run at tier 0 until call counting (which starts only after 100 ms without new
            // tier-0 methods) and a background tier-1 compile have happened, so a cold pass is several times slower.
            // Warm the CPU-only paths up, visibly, until (b) is stable; a 1 GB file reaches this state in its first second.
            Console.WriteLine("-- warm-up (not counted)");
            double previous = 0;
            for (var round = 1; round <= 10; round++)
            {
                Measure("(a) bare Sep read + typed fields", () => BareSep(path));
                var rate = Measure("(b) parse+normalize", () => ParseNormalize(path, hash: false));
                Measure("(b+) validation pass (b + SHA-256)", () => ParseNormalize(path, hash: true));
                Measure("(b+ async) validation pass, async reader", () => ParseNormalizeAsync(path, hash: true).GetAwaiter().GetResult());
                if (round >= 2 && Math.Abs(rate - previous) <= 0.1 * previous) break;
                previous = rate;
                Thread.Sleep(500); // let the background tier-1 compiles finish
            }
            for (var run = 1; run <= runs; run++)
            {
                Console.WriteLine($"-- run {run}/{runs}");
                // The CPU-only passes take tens of milliseconds: repeat them (interleaved) to see through the noise.
                for (var rep = 0; rep < cpuReps; rep++)
                {
                    a.Add(Measure("(a) bare Sep read + typed fields", () => BareSep(path)));
                    b.Add(Measure("(b) parse+normalize", () => ParseNormalize(path, hash: false)));
                    v.Add(Measure("(b+) validation pass (b + SHA-256)", () => ParseNormalize(path, hash: true)));
                    va.Add(Measure("(b+ async) validation pass, async reader", () => ParseNormalizeAsync(path, hash: true).GetAwaiter().GetResult()));
                }
                if (azurite is null) continue;

                var (dRate, dSecs, validateSecs) = await FullIngestionAsync(azurite.ConnectionString, path, records.Count, azuritePid).ConfigureAwait(false);
                d.Add(dRate);
                dSeconds.Add(dSecs);
                dValidate.Add(validateSecs);
                c.Add(await BareWriterAsync(azurite.ConnectionString, records, run, azuritePid).ConfigureAwait(false));
                Console.WriteLine("   " + ProcStatus.AzuriteMemory(azuritePid));
            }

            PrintTable(records.Count, a, b, v, va, c, d, dValidate, dSeconds, cpuReps);
            return 0;
        }
        finally
        {
            if (given is null && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Writes a deterministic usage CSV of about <paramref name="rows"/> rows; returns its size.</summary>
    internal static long GenerateUsage(string path, long rows)
    {
        // Row width from a 1 MiB sample of the same generator, then one pass to the size that holds that many rows.
        using var sample = new MemoryStream();
        var sampleBytes = SyntheticFeedGenerator.WriteUsageCsv(sample, 1 << 20, Seed);
        var sampleRows = sample.ToArray().Count(x => x == (byte)'\n') - 1;
        var bytesPerRow = (double)sampleBytes / sampleRows;
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        return SyntheticFeedGenerator.WriteUsageCsv(file, (long)(rows * bytesPerRow), Seed);
    }

    private static double Measure(string label, Func<long> work)
    {
        var sw = Stopwatch.StartNew();
        var rows = work();
        sw.Stop();
        var rate = rows / sw.Elapsed.TotalSeconds;
        Console.WriteLine($"   {label,-40} {sw.Elapsed.TotalMilliseconds,8:F0} ms {Stats.F(rate),12} rows/s");
        return rate;
    }

    /// <summary>
    /// (a) The floor of any validating parser: Sep over the file (unescaping quotes, as ours does), each row's
    /// tenant and subscription parsed as GUIDs, the workload as a string, the month parsed to year and month, the
    /// amounts to double and long. No validation beyond what parsing implies, no normalization, no records.
    /// </summary>
    internal static long BareSep(string path) => BareSep(path, bclNumbers: false);

    /// <summary>(a), with <paramref name="bclNumbers"/>: amounts parsed by double/long.Parse (as our value rules do) instead of Sep's csFastFloat.</summary>
    internal static long BareSep(string path, bool bclNumbers)
    {
        using var reader = Sep.Reader(o => o with { Unescape = true }).FromFile(path);
        var header = reader.Header;
        int tenantAt = header.IndexOf("customerTenantId"), subscriptionAt = header.IndexOf("subscriptionId"), workloadAt = header.IndexOf("workload"),
            monthAt = header.IndexOf("month"), revenueAt = header.IndexOf("consumedRevenueUsd"), usersAt = header.IndexOf("activeUsers");
        long rows = 0, check = 0;
        double sum = 0;
        foreach (var row in reader)
        {
            var tenant = Guid.Parse(row[tenantAt].Span);
            var subscription = Guid.Parse(row[subscriptionAt].Span);
            var workload = row[workloadAt].ToString();
            var month = row[monthAt].Span;
            var year = int.Parse(month[..4], NumberStyles.None, CultureInfo.InvariantCulture);
            var monthOfYear = int.Parse(month[5..], NumberStyles.None, CultureInfo.InvariantCulture);
            var revenue = row[revenueAt];
            var users = row[usersAt];
            if (bclNumbers)
            {
                if (revenue.Span.Length > 0) sum += double.Parse(revenue.Span, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                if (users.Span.Length > 0) check += long.Parse(users.Span, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            }
            else
            {
                if (revenue.Span.Length > 0) sum += revenue.Parse<double>();
                if (users.Span.Length > 0) check += users.Parse<long>();
            }
            check += tenant.GetHashCode() ^ subscription.GetHashCode() ^ workload.Length ^ (year * 12 + monthOfYear);
            rows++;
        }
        GC.KeepAlive(check + sum);
        return rows;
    }

    /// <summary>(b) Our parse+normalize: FeedRowReader + FeedRecordNormalizer into a counting sink; with <paramref name="hash"/>, exactly the ingestion's validation pass.</summary>
    internal static long ParseNormalize(string path, bool hash)
    {
        var normalizer = new FeedRecordNormalizer(FeedSource.Usage, CreditRulesLoader.Default.ProductMap, "bench", IngestedAt);
        var sink = new CountingSink();
        long rows = 0, rejected = 0;
        using (var observed = new ObservedStream(File.OpenRead(path), hash))
        {
            using var reader = FeedRowReader.Open(observed, FeedSource.Usage, FeedFormat.Csv, gzip: false);
            while (reader.MoveNext())
            {
                rows++;
                if (normalizer.Normalize(reader, sink) is not null) rejected++;
            }
            if (hash) GC.KeepAlive(observed.FinishHash());
        }
        if (rejected > 0) throw new InvalidOperationException($"{rejected} rows rejected: the generated file should be all valid.");
        return rows;
    }

    /// <summary>(b+ async) The validation pass exactly as FeedIngestor runs it: the asynchronous reader, rows by await foreach, the hash finished with ReadAsync.</summary>
    internal static async Task<long> ParseNormalizeAsync(string path, bool hash)
    {
        var normalizer = new FeedRecordNormalizer(FeedSource.Usage, CreditRulesLoader.Default.ProductMap, "bench", IngestedAt);
        var sink = new CountingSink();
        long rows = 0, rejected = 0;
        var observed = new ObservedStream(File.OpenRead(path), hash);
        await using (observed.ConfigureAwait(false))
        {
            using var reader = await FeedRowReader.OpenAsync(observed, FeedSource.Usage, FeedFormat.Csv, gzip: false).ConfigureAwait(false);
            await foreach (var row in reader.ConfigureAwait(false))
            {
                rows++;
                if (normalizer.Normalize(row, sink) is not null) rejected++;
            }
            if (hash) GC.KeepAlive(await observed.FinishHashAsync(default).ConfigureAwait(false));
        }
        if (rejected > 0) throw new InvalidOperationException($"{rejected} rows rejected: the generated file should be all valid.");
        return rows;
    }

    private static List<UsageRecord> ReadRecords(string path)
    {
        var list = new List<UsageRecord>();
        var sink = new ListSink(list);
        var normalizer = new FeedRecordNormalizer(FeedSource.Usage, CreditRulesLoader.Default.ProductMap, "bench", IngestedAt);
        using var reader = FeedRowReader.Open(File.OpenRead(path), FeedSource.Usage, FeedFormat.Csv, gzip: false);
        while (reader.MoveNext()) normalizer.Normalize(reader, sink);
        return list;
    }

    /// <summary>
    /// (c) The floor of writing: the same entities (<see cref="UsageEntity"/>: the partitions, keys and properties the
    /// record tables had before records moved to Parquet segments),
    /// built per batch as it is sent, 100 per transaction, batches interleaved across partitions and 8 in flight,
    /// into a fresh table of the same Azurite. No parsing, no per-partition ordering, no de-duplication.
    /// </summary>
    private static async Task<double> BareWriterAsync(string connectionString, List<UsageRecord> records, int run, int? azuritePid)
    {
        var storage = StorageAccount.FromConnectionString(connectionString);
        var table = storage.Table($"BareUsage{run}");
        await table.CreateIfNotExistsAsync().ConfigureAwait(false);

        // Batches per partition, in file order within each, then round-robin across partitions.
        var byPartition = records.GroupBy(r => RecordEntities.BucketOf(r.CustomerTenantId)).Select(g => g.Chunk(TableBatchWriter.MaxOperations).ToList()).ToList();
        var batches = new List<UsageRecord[]>();
        for (var i = 0; batches.Count < byPartition.Sum(p => p.Count); i++)
            foreach (var p in byPartition)
                if (i < p.Count) batches.Add(p[i]);

        // When the first and last tenth of the entities were done: Azurite slows down as a table grows.
        long done = 0;
        double firstTenth = 0, ninthTenth = 0;
        var cpu = CpuClock.Start(azuritePid);
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = InFlight }, async (batch, ct) =>
        {
            var actions = new TableTransactionAction[batch.Length];
            for (var i = 0; i < batch.Length; i++) actions[i] = new TableTransactionAction(TableTransactionActionType.UpsertReplace, UsageEntity(batch[i]));
            await table.SubmitTransactionAsync(actions, ct).ConfigureAwait(false);
            var now = Interlocked.Add(ref done, batch.Length);
            var before = now - batch.Length;
            if (before < records.Count / 10 && now >= records.Count / 10) firstTenth = sw.Elapsed.TotalSeconds;
            if (before < records.Count * 9L / 10 && now >= records.Count * 9L / 10) ninthTenth = sw.Elapsed.TotalSeconds;
        }).ConfigureAwait(false);
        sw.Stop();
        var rate = records.Count / sw.Elapsed.TotalSeconds;
        Console.WriteLine($"   {"(c) bare writer (100/batch, 8 in flight)",-40} {sw.Elapsed.TotalMilliseconds,8:F0} ms {Stats.F(rate),12} entities/s ({batches.Count:N0} batches)");
        Console.WriteLine($"       first tenth {Stats.F(records.Count / 10.0 / firstTenth)} entities/s, last tenth {Stats.F(records.Count / 10.0 / (sw.Elapsed.TotalSeconds - ninthTenth))} entities/s; {cpu.Report(sw.Elapsed, records.Count)}");
        await table.DeleteAsync().ConfigureAwait(false); // Azurite keeps tables in memory
        return rate;
    }

    /// <summary>
    /// (d) Our full ingestion (validate+hash pass, duplicate check, write pass) into freshly created tables,
    /// so every run really writes (the same content again would be a Duplicate no-op).
    /// </summary>
    private static async Task<(double Rate, double Seconds, double ValidateSeconds)> FullIngestionAsync(string connectionString, string path, long expectedRows, int? azuritePid)
    {
        var storage = StorageAccount.FromConnectionString(connectionString);
        foreach (var name in new[] { TableNames.FeedIngestions, TableNames.RejectedRecords })
            await storage.Tables.DeleteTableAsync(name).ConfigureAwait(false);
        await storage.Blobs.GetBlobContainerClient(TableNames.RecordsContainer).DeleteIfExistsAsync().ConfigureAwait(false);
        await storage.EnsureCreatedAsync().ConfigureAwait(false); // cached per account: not part of the timing

        // IngestAsync with an opener that notes the pass boundary: the same as IngestFileAsync(path, ...).
        var passes = new PassClock(path);
        var cpu = CpuClock.Start(azuritePid);
        var ingestor = storage.Create<FeedIngestor>(CreditRulesLoader.Default);
        var result = await ingestor.IngestAsync(FeedSource.Usage, Path.GetFileName(path), passes.OpenAsync, new FileInfo(path).Length).ConfigureAwait(false);
        var total = passes.Elapsed;
        if (result.Status != IngestionStatus.Succeeded || result.RowsAccepted != expectedRows)
            throw new InvalidOperationException($"ingestion ended {result.Status} with {result.RowsAccepted:N0}/{expectedRows:N0} rows: {result.Error}");
        var seconds = total.TotalSeconds;
        var validate = (passes.WritePassStart ?? total).TotalSeconds;
        var rate = result.RowsAccepted / seconds;
        Console.WriteLine($"   {"(d) full ingestion",-40} {seconds * 1000,8:F0} ms {Stats.F(rate),12} rows/s (validation pass + duplicate check {validate * 1000:F0} ms)");
        Console.WriteLine($"       {cpu.Report(total, result.RowsAccepted)}");
        return (rate, seconds, validate);
    }

    private static void PrintTable(int rows, List<double> a, List<double> b, List<double> v, List<double> va, List<double> c, List<double> d, List<double> dValidate, List<double> dSeconds, int cpuReps)
    {
        Console.WriteLine();
        Console.WriteLine($"{rows:N0} rows; {a.Count} samples of (a), (b) ({cpuReps} per run), {c.Count} of (c), (d); rows/s (c: entities/s)");
        Console.WriteLine($"{"measurement",-42} {"median",12} {"best",12}");
        void Row(string name, List<double> x) => Console.WriteLine($"{name,-42} {Stats.F(Stats.Median(x)),12} {Stats.F(Stats.Best(x)),12}");
        Row("(a) bare Sep read, typed fields", a);
        Row("(b) our parse+normalize", b);
        Row("    validation pass (b + SHA-256)", v);
        Row("    the same, async reader (FeedIngestor)", va);
        var ba = Stats.Median(b) / Stats.Median(a);
        Console.WriteLine($"validation pass async/sync = {Stats.Median(va) / Stats.Median(v):P0} (median; best/best {Stats.Best(va) / Stats.Best(v):P0})");
        if (c.Count == 0)
        {
            Console.WriteLine($"(b)/(a) = {ba:P0} (median; best/best {Stats.Best(b) / Stats.Best(a):P0}) -- target >= 80%: {(ba >= 0.8 ? "PASS" : $"MISS by {0.8 - ba:P0} points")}");
            return;
        }
        Row("(c) bare writer, 100/batch, 8 in flight", c);
        Row("(d) our full ingestion", d);
        var dc = Stats.Median(d) / Stats.Median(c);
        Console.WriteLine();
        Console.WriteLine($"(b)/(a) = {ba:P0} (median; best/best {Stats.Best(b) / Stats.Best(a):P0}) -- target >= 80%: {(ba >= 0.8 ? "PASS" : $"MISS by {0.8 - ba:P0} points")}");
        Console.WriteLine($"(d)/(c) = {dc:P0} (median; best/best {Stats.Best(d) / Stats.Best(c):P0}) -- target >= 70%: {(dc >= 0.7 ? "PASS" : $"MISS by {0.7 - dc:P0} points")}");
        var share = dValidate.Zip(dSeconds, (x, y) => x / y).ToList();
        Console.WriteLine($"(d)'s validation pass (+ duplicate check): median {Stats.Median(share):P0} of (d)'s wall time " +
                          $"(median {Stats.Median(dValidate) * 1000:F0} ms of {Stats.Median(dSeconds) * 1000:F0} ms)");
        var writeOnly = dSeconds.Zip(dValidate, (t, x) => rows / (t - x)).ToList();
        Console.WriteLine($"(d)'s write pass alone: median {Stats.F(Stats.Median(writeOnly))} rows/s = {Stats.Median(writeOnly) / Stats.Median(c):P0} of (c)");
    }

    /// <summary>A usage record as the former UsageRecords table stored it (bucket partition, natural-key row key).</summary>
    private static TableEntity UsageEntity(UsageRecord u) =>
        new("b" + RecordEntities.BucketOf(u.CustomerTenantId).ToString("D2", CultureInfo.InvariantCulture),
            $"{u.CustomerTenantId:D}|{u.SubscriptionId:D}|{u.Workload}|{u.Month}")
        {
            ["customerTenantId"] = u.CustomerTenantId.ToString("D"),
            ["subscriptionId"] = u.SubscriptionId.ToString("D"),
            ["workload"] = u.Workload.ToString(),
            ["month"] = u.Month.ToString(),
            ["consumedRevenueUsd"] = u.ConsumedRevenueUsd,
            ["activeUsers"] = u.ActiveUsers,
            ["ingestionId"] = u.Lineage.IngestionId,
            ["line"] = u.Lineage.Line,
            ["ingestedAt"] = u.Lineage.IngestedAt,
        };

    private sealed class ListSink(List<UsageRecord> list) : IFeedRecordSink
    {
        public void Add(PartnerRecord partner, FeedLineage lineage) { }
        public void Add(DporEvent dporEvent) { }
        public void Add(Association association) { }
        public void Add(CertificationRecord certification) { }
        public void Add(UsageRecord usage) => list.Add(usage);
    }

    /// <summary>
    /// Opens the file for each pass of the ingestion (what IngestFileAsync does) and notes when the second open
    /// happens: the end of the validation pass and duplicate check, the start of the write pass.
    /// </summary>
    internal sealed class PassClock(string path)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _opens;

        public TimeSpan? WritePassStart { get; private set; }
        public Action? OnWritePassStart { get; init; }

        public Task<Stream> OpenAsync(CancellationToken cancellationToken)
        {
            if (++_opens == 2)
            {
                WritePassStart = _clock.Elapsed;
                OnWritePassStart?.Invoke();
            }
            return Task.FromResult<Stream>(File.OpenRead(path));
        }

        public TimeSpan Elapsed => _clock.Elapsed;
    }

    /// <summary>CPU time of this process and of Azurite (from /proc/PID/stat) over a measurement.</summary>
    private sealed class CpuClock
    {
        private readonly int? _azuritePid;
        private readonly TimeSpan _self;
        private readonly double? _azurite;
        private readonly long _allocated = GC.GetTotalAllocatedBytes(precise: true);

        private CpuClock(int? azuritePid)
        {
            _azuritePid = azuritePid;
            _self = Process.GetCurrentProcess().TotalProcessorTime;
            _azurite = AzuriteSeconds(azuritePid);
        }

        public static CpuClock Start(int? azuritePid) => new(azuritePid);

        public string Report(TimeSpan wall, long rows)
        {
            var self = (Process.GetCurrentProcess().TotalProcessorTime - _self).TotalSeconds;
            var azurite = AzuriteSeconds(_azuritePid) - _azurite;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - _allocated;
            return string.Create(CultureInfo.InvariantCulture,
                $"CPU: Azurite {azurite:F1} s ({azurite / wall.TotalSeconds:P0} of the wall time), this process {self:F1} s ({self / wall.TotalSeconds:P0}, {self * 1e6 / rows:F0} us/row); allocated {allocated / 1048576.0:N0} MiB ({allocated / 1024.0 / rows:N1} KiB/row)");
        }

        /// <summary>utime + stime of a process, in seconds (clock ticks are 100 Hz on Linux).</summary>
        private static double? AzuriteSeconds(int? pid)
        {
            if (pid is null) return null;
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
                return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
            }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }
}
