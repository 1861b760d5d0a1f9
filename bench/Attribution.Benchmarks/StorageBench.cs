using Attribution.Testing;
using System.Diagnostics;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Local;
using Attribution.Local.Synthetic;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Parquet;
using Parquet.Schema;

namespace Attribution.Benchmarks;

/// <summary>
/// ISSUE 9's side-by-side storage bench, on one generated data set and one in-memory Azurite:
/// (a) bare Parquet.Net write + upload of the usage rows, one segment per tenant bucket;
/// (b) our ingestion of the same rows from the generated CSV (validation, claim, segments, commit);
/// (c) bare download + decode of (a)'s segments; (d) our recalculation's read path (RecordSnapshot.UsageAsync over
/// every bucket, as the shards read it); (e) a bare batched table writer writing N result rows;
/// (f) our first publish of N rows (the publish activities of a real recalculation), then an unchanged re-run.
/// </summary>
public static class StorageBench
{
    private const int InFlight = 8;
    private static readonly YearMonth AsOf = new(2026, 10);

    private static readonly DataField<ReadOnlyMemory<char>> TenantField = new("customerTenantId");
    private static readonly DataField<ReadOnlyMemory<char>> SubscriptionField = new("subscriptionId");
    private static readonly DataField<ReadOnlyMemory<char>> WorkloadField = new("workload");
    private static readonly DataField<ReadOnlyMemory<char>> MonthField = new("month");
    private static readonly DataField<double?> RevenueField = new("consumedRevenueUsd");
    private static readonly DataField<long?> UsersField = new("activeUsers");
    private static readonly ParquetSchema UsageSchema = new(TenantField, SubscriptionField, WorkloadField, MonthField, RevenueField, UsersField);

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchOptions(args, ["--tenants", "--buckets"]);
        var tenants = (int)options.Long("--tenants", 2_000);
        var buckets = (int)options.Long("--buckets", 256);
        var dir = Path.Combine(Path.GetTempPath(), $"attribution-storage-bench-{Environment.ProcessId}");
        using var memory = MemoryMonitor.Start();
        try
        {
            Console.WriteLine($"storage bench: {tenants:N0} generated tenants, {buckets} buckets, {Environment.ProcessorCount} CPU(s); {MemoryMonitor.GcMode()}");
            SyntheticFeedGenerator.Generate(dir, new SyntheticFeedOptions(tenants, 1));
            var usageCsv = Path.Combine(dir, "usage", "usage.csv");
            var usage = ReadUsage(usageCsv);
            Console.WriteLine($"{usage.Count:N0} usage rows ({new FileInfo(usageCsv).Length / 1e6:N1} MB CSV)");

            await using var azurite = await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true });
            var storage = StorageAccount.FromConnectionString(azurite.ConnectionString);
            await storage.EnsureCreatedAsync();

            var a = await BareWriteAsync(storage, usage, buckets);
            var b = await OurIngestionAsync(storage, dir, usageCsv);
            var c = await BareReadAsync(storage);
            var d = await OurReadAsync(storage);
            var (f, rerun) = await OurPublishAsync(storage);
            var e = await BareTableWriteAsync(storage, f.Rows);

            Console.WriteLine();
            Console.WriteLine("| leg | rows | seconds | rows/s |");
            Console.WriteLine("|---|---:|---:|---:|");
            foreach (var (name, m) in new[] { ("(a) bare Parquet write + upload", a), ("(b) our ingestion (usage file)", b), ("(c) bare download + decode", c),
                         ("(d) our read path (all buckets)", d), ("(e) bare batched table writer", e), ("(f) our first publish", f), ("    unchanged re-run (whole recalculation)", rerun) })
                Console.WriteLine($"| {name} | {m.Rows:N0} | {m.Seconds:N2} | {m.RowsPerSecond:N0} |");
            Console.WriteLine();
            Ratio("(b)/(a)", b, a, 0.70, extra: $"; (b) {b.RowsPerSecond:N0} rows/s (target >= 100,000)");
            Ratio("(d)/(c)", d, c, 0.70);
            Ratio("(f)/(e)", f, e, 0.70);
            Console.WriteLine($"unchanged re-run wrote {rerun.Rows:N0} result rows (target 0)");
            Console.WriteLine($"memory: {memory.Peaks()}");
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private readonly record struct Measure(long Rows, double Seconds)
    {
        public double RowsPerSecond => Seconds > 0 ? Rows / Seconds : 0;
    }

    private static void Ratio(string name, Measure ours, Measure bare, double target, string extra = "")
    {
        var ratio = ours.RowsPerSecond / bare.RowsPerSecond;
        Console.WriteLine($"{name} = {ratio:P0} (target >= {target:P0}: {(ratio >= target ? "pass" : "MISSED")}){extra}");
    }

    /// <summary>The usage rows, parsed once outside every timed leg, so each leg moves the same rows.</summary>
    private static List<UsageRecord> ReadUsage(string path)
    {
        var sink = new UsageSink();
        var normalizer = new FeedRecordNormalizer(FeedSource.Usage, CreditRulesLoader.Default.ProductMap, "bench", DateTimeOffset.UtcNow);
        using var reader = FeedRowReader.Open(File.OpenRead(path), FeedSource.Usage, FeedFormat.Csv, gzip: false);
        while (reader.MoveNext()) normalizer.Normalize(reader, sink);
        return sink.Rows;
    }

    private sealed class UsageSink : IFeedRecordSink
    {
        public List<UsageRecord> Rows { get; } = [];
        public void Add(PartnerRecord partner, FeedLineage lineage) { }
        public void Add(DporEvent dporEvent) { }
        public void Add(Association association) { }
        public void Add(CertificationRecord certification) { }
        public void Add(UsageRecord usage) => Rows.Add(usage);
    }

    private static async Task<Measure> BareWriteAsync(StorageAccount storage, List<UsageRecord> usage, int buckets)
    {
        var container = storage.Blobs.GetBlobContainerClient("bare-segments");
        await container.CreateIfNotExistsAsync();
        var clock = Stopwatch.StartNew();
        var groups = usage.GroupBy(u => RecordBuckets.Of(u.CustomerTenantId, buckets)).ToList();
        await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = InFlight }, async (g, ct) =>
        {
            var rows = g.ToList();
            using var buffer = new MemoryStream();
            await using (var writer = await ParquetWriter.CreateAsync(UsageSchema, buffer, cancellationToken: ct))
            {
                using var group = writer.CreateRowGroup();
                await group.WriteAsync(TenantField, Ro(rows.Select(r => r.CustomerTenantId.ToString("D").AsMemory()).ToArray()), cancellationToken: ct);
                await group.WriteAsync(SubscriptionField, Ro(rows.Select(r => r.SubscriptionId.ToString("D").AsMemory()).ToArray()), cancellationToken: ct);
                await group.WriteAsync(WorkloadField, Ro(rows.Select(r => r.Workload.ToString().AsMemory()).ToArray()), cancellationToken: ct);
                await group.WriteAsync(MonthField, Ro(rows.Select(r => r.Month.ToString().AsMemory()).ToArray()), cancellationToken: ct);
                await group.WriteAsync(RevenueField, Ro(rows.Select(r => r.ConsumedRevenueUsd).ToArray()), cancellationToken: ct);
                await group.WriteAsync(UsersField, Ro(rows.Select(r => r.ActiveUsers).ToArray()), cancellationToken: ct);
            }
            buffer.Position = 0;
            await container.GetBlobClient($"b{g.Key:D4}.parquet").UploadAsync(buffer, overwrite: true, ct);
        });
        return new Measure(usage.Count, clock.Elapsed.TotalSeconds);
    }

    private static ReadOnlyMemory<T> Ro<T>(T[] values) => values;

    private static async Task<Measure> BareReadAsync(StorageAccount storage)
    {
        var container = storage.Blobs.GetBlobContainerClient("bare-segments");
        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync()) names.Add(blob.Name);
        long rows = 0;
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = InFlight }, async (name, ct) =>
        {
            var content = await container.GetBlobClient(name).DownloadContentAsync(ct);
            using var stream = content.Value.Content.ToStream();
            await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct);
            for (var i = 0; i < reader.RowGroupCount; i++)
            {
                using var group = reader.OpenRowGroupReader(i);
                var n = (int)group.RowCount;
                foreach (var field in new[] { TenantField, SubscriptionField, WorkloadField, MonthField })
                    await group.ReadAsync(field, new ReadOnlyMemory<char>[n].AsMemory(), cancellationToken: ct);
                await group.ReadAsync(RevenueField, new double?[n].AsMemory(), cancellationToken: ct);
                await group.ReadAsync(UsersField, new long?[n].AsMemory(), cancellationToken: ct);
                Interlocked.Add(ref rows, n);
            }
        });
        return new Measure(rows, clock.Elapsed.TotalSeconds);
    }

    private static async Task<Measure> OurIngestionAsync(StorageAccount storage, string dir, string usageCsv)
    {
        var ingestor = storage.Create<FeedIngestor>(CreditRulesLoader.Default);
        // Everything but usage first (untimed), so (d) and (f) read a real data set.
        foreach (var source in new[] { FeedSource.Partners, FeedSource.Dpor, FeedSource.Sales, FeedSource.Csp, FeedSource.FastTrack, FeedSource.Dap })
            Check(await ingestor.IngestFileAsync(Path.Combine(dir, source.Name(), source.Name() + ".csv"), source));
        var clock = Stopwatch.StartNew();
        var result = Check(await ingestor.IngestFileAsync(usageCsv, FeedSource.Usage));
        return new Measure(result.RowsAccepted, clock.Elapsed.TotalSeconds);
    }

    private static FeedIngestionResult Check(FeedIngestionResult r) =>
        r.FailedAsWhole ? throw new InvalidOperationException($"{r.FileName}: {r.Error}") : r;

    private static async Task<Measure> OurReadAsync(StorageAccount storage)
    {
        var clock = Stopwatch.StartNew();
        var records = await storage.Get<RecordStore>().LatestAsync();
        long rows = 0;
        var from = AsOf.AddMonths(-11);
        await Parallel.ForEachAsync(Enumerable.Range(0, RecalculationSettings.MinShards), new ParallelOptions { MaxDegreeOfParallelism = InFlight }, async (shard, ct) =>
        {
            foreach (var bucket in RecordStore.BucketsOfShard(shard, RecalculationSettings.MinShards, records.BucketCount))
                Interlocked.Add(ref rows, (await records.UsageAsync(bucket, new YearMonth(1900, 1), new YearMonth(9999, 12), ct)).Count);
        });
        _ = from;
        return new Measure(rows, clock.Elapsed.TotalSeconds);
    }

    /// <summary>A real recalculation on the local Durable host; the publish is timed from its first to its last step.</summary>
    private static async Task<(Measure FirstPublish, Measure Rerun)> OurPublishAsync(StorageAccount storage)
    {
        long publishStarted = 0, publishEnded = 0;
        await using var host = await LocalDurableHost.StartAsync(storage, "StorageBench", beforeActivity: (name, _) =>
        {
            var now = Stopwatch.GetTimestamp();
            if (name == nameof(BeginPublish)) Interlocked.CompareExchange(ref publishStarted, now, 0);
            if (name == nameof(CompletePublish)) Interlocked.Exchange(ref publishEnded, now);
            return Task.CompletedTask;
        });
        var first = await RecalculateAsync(host);
        var publishSeconds = Stopwatch.GetElapsedTime(publishStarted, publishEnded).TotalSeconds;
        Console.WriteLine($"first recalculation: {first.Outcome.Partners:N0} partners, {first.Outcome.UsageRows:N0} usage rows, {first.Outcome.RowsPublished:N0} rows published in {publishSeconds:N1} s of {first.Seconds:N1} s");
        var again = await RecalculateAsync(host);
        Console.WriteLine($"unchanged re-run: {again.Outcome.RowsPublished:N0} rows written, {again.Outcome.RowsRemoved:N0} removed, {again.Seconds:N1} s");
        return (new Measure(first.Outcome.RowsPublished, publishSeconds), new Measure(again.Outcome.RowsPublished, again.Seconds));
    }

    private static async Task<(RecalculationOutcome Outcome, double Seconds)> RecalculateAsync(LocalDurableHost host)
    {
        var clock = Stopwatch.StartNew();
        var start = await host.Storage.Starter(host).StartAsync(AsOf, CreditRulesLoader.DefaultJson);
        var outcome = await host.WaitAsync(start.InstanceId, TimeSpan.FromHours(2));
        return (outcome, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The same rows the publish wrote (read back from the four published tables, outside the timing), written into fresh
    /// tables by a bare writer: one transaction per partition chunk of 100, 16 in flight — the same shape of batches
    /// our publish has to send, without diffing, snapshots or orchestration.
    /// </summary>
    private static async Task<Measure> BareTableWriteAsync(StorageAccount storage, long _)
    {
        var batches = new List<(TableClient Table, List<TableTransactionAction> Actions)>();
        long rows = 0;
        foreach (var name in new[] { "PartnerCredit", "GlobalPartnerCredit", "SubscriptionPartners", "IncentiveEligibility" })
        {
            var target = storage.Tables.GetTableClient("Bare" + name);
            await target.CreateIfNotExistsAsync();
            var entities = new List<TableEntity>();
            await foreach (var e in storage.Tables.GetTableClient(name).QueryAsync<TableEntity>(maxPerPage: 1000)) entities.Add(new TableEntity(e));
            rows += entities.Count;
            foreach (var partition in entities.GroupBy(e => e.PartitionKey))
                foreach (var chunk in partition.Chunk(100))
                    batches.Add((target, chunk.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, e)).ToList()));
        }
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (b, ct) => await b.Table.SubmitTransactionAsync(b.Actions, ct));
        return new Measure(rows, clock.Elapsed.TotalSeconds);
    }
}
