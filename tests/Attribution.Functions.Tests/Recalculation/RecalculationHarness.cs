using System.Globalization;
using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Local;
using Attribution.Local.Synthetic;
using Attribution.Testing;
using Azure.Data.Tables;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>Loads data into a real Azurite and reads what a recalculation published.</summary>
public static class RecalculationHarness
{
    public static readonly YearMonth AsOf = new(2026, 10);

    /// <summary>The shipped samples plus synthetic tenants, so every shard has work.</summary>
    public static async Task LoadAsync(StorageAccount storage, int syntheticTenants = 60)
    {
        var ingestor = storage.Create<FeedIngestor>(CreditRulesLoader.Default);
        var dir = TestPaths.NewTempDirectory();
        SyntheticFeedGenerator.Generate(dir, new SyntheticFeedOptions(syntheticTenants, Seed: 42));
        foreach (var root in new[] { TestPaths.Samples, dir })
        {
            foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                if (!FeedRowReader.TryDetectFormat(path, out _, out _) || !FeedSources.TryInferFromPath(path, out var source)) continue;
                var result = await ingestor.IngestFileAsync(path, source);
                Assert.NotEqual(IngestionStatus.Failed, result.Status);
            }
        }
    }

    /// <summary>Alpine Ski House's production subscription (DPOR Fabrikam; EA Contoso US from 2026-07).</summary>
    public const string AlpineTenant = "bbdc79ef-c388-417b-bdef-d3cf4e4665d2";
    public const string AlpineProd = "0a765893-8334-4ba8-92a2-94bc602ab29c";
    public const long Fabrikam = 2345678;
    public const long Proseware = 8901234;
    public const string TreyResearchSubscription = "28c9ad96-6c67-4ad3-8abd-5d711b2641b3";

    /// <summary>
    /// A restatement (§2.4): a corrected usage row for Alpine prod in 2026-10 (same natural key, new revenue), and
    /// Proseware's Open licence re-sent with an end date before the window — so Proseware is credited on nothing.
    /// </summary>
    public static async Task RestateAsync(StorageAccount storage, double alpineOctoberRevenue = 12_345.67)
    {
        var ingestor = storage.Create<FeedIngestor>(CreditRulesLoader.Default);
        var dir = TestPaths.NewTempDirectory();
        var usage = TestPaths.WriteFeed(dir, "usage", "usage-correction.csv",
            "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" +
            string.Create(CultureInfo.InvariantCulture, $"{AlpineTenant},{AlpineProd},Azure,2026-10,{alpineOctoberRevenue},\n"));
        var sales = TestPaths.WriteFeed(dir, "sales", "sales-correction.csv",
            "customerTenantId,partnerId,program,validFrom,validTo,subscriptionId,agreementId\n" +
            $"3d581895-9d1f-4841-8daf-9df15c1216c8,{Proseware},Open,2025-06-01,2025-06-30,{TreyResearchSubscription},V4455667\n");
        foreach (var (path, source) in new[] { (usage, FeedSource.Usage), (sales, FeedSource.Sales) })
        {
            var result = await ingestor.IngestFileAsync(path, source);
            Assert.Equal(IngestionStatus.Succeeded, result.Status);
        }
    }

    /// <summary>Every published row of an asOf keyed "table|PartitionKey|RowKey" (runId included).</summary>
    public static async Task<Dictionary<string, TableEntity>> RowsByKeyAsync(StorageAccount storage, YearMonth asOf) =>
        (await PublishedAsync(storage, asOf)).SelectMany(kv => kv.Value.Select(e => (Key: $"{kv.Key}|{e.PartitionKey}|{e.RowKey}", e)))
            .ToDictionary(x => x.Key, x => x.e, StringComparer.Ordinal);

    /// <summary>Same published values, runId and storage metadata aside.</summary>
    public static bool SameValues(TableEntity a, TableEntity b) =>
        StorageReads.Canonical(a, "runId") == StorageReads.Canonical(b, "runId");

    /// <summary>
    /// What readers (the API and the CLI read through CreditReader) see of a run equals what the tables hold: every
    /// partner's and global partner's credit, every subscription's partners.
    /// </summary>
    public static async Task AssertReadersMatchTablesAsync(StorageAccount storage, RecalculationRun run)
    {
        var reader = storage.Get<Attribution.Pipeline.Reading.CreditReader>();
        var tables = await PublishedAsync(storage, run.AsOf);
        foreach (var (table, global) in new[] { (TableNames.PartnerCredit, false), (TableNames.GlobalPartnerCredit, true) })
        {
            foreach (var partner in tables[table].GroupBy(e => e.PartitionKey))
            {
                var view = await reader.PartnerAsync(new PartnerId(long.Parse(partner.Key, CultureInfo.InvariantCulture)), run, global);
                Assert.NotNull(view);
                var expected = partner.Select(e => $"{e.GetString("competency")}:{e.GetDouble("acrUsdTtm")}:{e.GetDouble("peakMonthlyActiveUsers")}:{e.GetInt32("customers")}:{e.GetString("level")}:{e.GetString("nextLevel")}:{e.GetDouble("progress")}:{e.GetDouble("incentiveEligibleAcrUsdTtm")}:{e.GetString("sources")}").Order(StringComparer.Ordinal);
                var actual = view.Competencies.Select(c => $"{c.Competency}:{c.AcrUsdTtm}:{c.PeakMonthlyActiveUsers}:{c.Customers}:{c.Level}:{c.NextLevel}:{c.Progress}:{c.IncentiveEligibleAcrUsdTtm}:{c.Sources}").Order(StringComparer.Ordinal);
                Assert.Equal(expected, actual);
            }
        }
        foreach (var subscription in tables[TableNames.SubscriptionPartners].GroupBy(e => e.PartitionKey))
        {
            var view = await reader.SubscriptionAsync(Guid.Parse(subscription.Key), run);
            Assert.NotNull(view);
            Assert.Equal(
                subscription.Select(e => $"{e.GetString("partnerId")}:{e.GetString("customerTenantId")}:{e.GetString("sources")}:{e.GetBoolean("isDpor")}:{e.GetString("workloads")}").Order(StringComparer.Ordinal),
                view.Partners.Select(p => $"{p.PartnerId}:{p.CustomerTenantId}:{p.Sources}:{p.IsDpor}:{p.Workloads}").Order(StringComparer.Ordinal));
        }
    }

    public static Task<LocalDurableHost> HostAsync(StorageAccount storage, LocalDurableHost.ActivityInterceptor? before = null,
        LocalDurableHost.ActivityObserver? after = null, string? taskHub = null, bool startWorker = true, TimeSpan? takeover = null) =>
        LocalDurableHost.StartAsync(storage, taskHub ?? "t" + Guid.NewGuid().ToString("N")[..12], startWorker, beforeActivity: before, afterActivity: after,
            // Tests hold some activities on purpose (to crash mid-run): give the rest room to run beside them.
            maxConcurrentActivities: 64, takeover: takeover);

    /// <summary>
    /// For a worker a test crashes: the next worker takes its partitions after 4 s and its in-flight messages after 8 s
    /// (the default 10 s and 20 s only make such a test wait longer; the worker renews both while it lives).
    /// </summary>
    public static readonly TimeSpan CrashTakeover = TimeSpan.FromSeconds(4);

    /// <summary>
    /// What most tests recalculate with: 2 shards, 2 reduce and 4 publish ranges, still across shards and ranges, in 14
    /// steps where the data-sized least fan-out (8/8/16, kept for memory at 10k tenants) takes 38. Results do not depend
    /// on the fan-out (ChangedFanOutTests); tests that start through the app or hold shards use the default.
    /// </summary>
    public static readonly RecalculationSettings SmallFanOut = RecalculationSettings.Default with { Shards = 2, ReduceRanges = 2, PublishRanges = 4 };

    public static async Task<RecalculationOutcome> RecalculateAsync(LocalDurableHost host, YearMonth asOf, string? rulesJson = null, string? scenario = null,
        RecalculationSettings? settings = null)
    {
        var start = await host.Storage.Starter(host, settings ?? SmallFanOut).StartAsync(asOf, rulesJson ?? CreditRulesLoader.DefaultJson, scenario);
        Assert.True(start.Started);
        return await host.WaitAsync(start.InstanceId, TimeSpan.FromMinutes(3));
    }

    /// <summary>The published tables' rows for an asOf, comparable with <see cref="AssertSame"/> (runId left out).</summary>
    public static async Task<Dictionary<string, List<TableEntity>>> PublishedAsync(StorageAccount storage, YearMonth asOf, CreditRules? rules = null)
    {
        var result = new Dictionary<string, List<TableEntity>>();
        foreach (var table in CreditEntities.PublishedTables)
        {
            var rows = new List<TableEntity>();
            // Every table's rows of an asOf are keyed "{asOf}|…" (§4), IncentiveEligibility's included.
            await foreach (var e in storage.Table(table).QueryAsync<TableEntity>())
            {
                if (!e.RowKey.StartsWith(asOf + "|", StringComparison.Ordinal)) continue;
                rows.Add(e);
            }
            result[table] = Sorted(rows);
        }
        return result;
    }

    /// <summary>What the engine computes over every stored record in one pass — no orchestration, no shards.</summary>
    public static async Task<Dictionary<string, List<TableEntity>>> EngineExpectationAsync(StorageAccount storage, YearMonth asOf, CreditRules rules)
    {
        var records = await storage.Get<RecordStore>().LatestAsync();
        var usage = new List<UsageRecord>();
        var associations = new List<Association>();
        var dpor = new List<DporEvent>();
        for (var b = 0; b < records.BucketCount; b++)
        {
            usage.AddRange(await records.UsageAsync(b, rules.WindowStart(asOf), asOf));
            associations.AddRange(await records.AssociationsAsync(b));
            dpor.AddRange(await records.DporEventsAsync(b));
        }
        var shard = CreditEngine.ComputeShard(new CreditInput
        {
            AsOf = asOf, Rules = rules, Usage = usage, Associations = associations, DporEvents = dpor,
            GlobalPartnerOf = await records.GlobalPartnerMapAsync(),
        });
        var results = CreditEngine.Finish([shard], rules, asOf);

        // PartnerCapabilityScore from the independent §7 oracle (its own crediting, DPOR day by day, decimal sums) over
        // the 19 months the designations read; the population's credited global partners are the engine's (tested above).
        var scoreUsage = new List<UsageRecord>();
        for (var b = 0; b < records.BucketCount; b++) scoreUsage.AddRange(await records.UsageAsync(b, RunResults.FirstUsageMonth(rules, asOf), asOf));
        var partners = new List<PartnerRecord>();
        await foreach (var p in records.PartnersAsync()) partners.Add(p);
        var certifications = new List<CertificationRecord>();
        await foreach (var c in records.CertificationsAsync()) certifications.Add(c);
        var scores = ScoreOracle.Expected(rules, asOf, scoreUsage, associations, dpor, partners, certifications,
            results.GlobalPartnerCredit.Select(r => r.GlobalPartnerId.Value).ToHashSet());
        // The rows §4 of the contract describes, keyed and named here from the contract's table rather than by the
        // production mapping (CreditEntities), so a misnamed or mis-keyed published property fails the comparison.
        var month = asOf.ToString();
        string Id(long v) => v.ToString(CultureInfo.InvariantCulture);
        TableEntity Row(string pk, string rk, params (string Name, object? Value)[] properties)
        {
            var e = new TableEntity(pk, rk);
            foreach (var (name, value) in properties) e[name] = value;
            return e;
        }
        (string, object?)[] Credit(CompetencyMetrics c) =>
        [
            ("competency", c.Competency), ("asOf", month), ("acrUsdTtm", c.AcrUsdTtm), ("peakMonthlyActiveUsers", c.PeakMonthlyActiveUsers),
            ("customers", c.Customers), ("level", c.Level), ("nextLevel", c.NextLevel), ("progress", c.Progress),
            ("incentiveEligibleAcrUsdTtm", c.IncentiveEligibleAcrUsdTtm), ("sources", c.Sources), ("rulesVersion", rules.RulesVersion),
        ];
        return new Dictionary<string, List<TableEntity>>
        {
            [TableNames.PartnerCredit] = Sorted(results.PartnerCredit.Select(r => Row(Id(r.PartnerId.Value), $"{month}|{r.Credit.Competency}",
                [("partnerId", Id(r.PartnerId.Value)), ("globalPartnerId", Id(r.GlobalPartnerId.Value)),
                 .. Credit(r.Credit)]))),
            [TableNames.GlobalPartnerCredit] = Sorted(results.GlobalPartnerCredit.Select(r => Row(Id(r.GlobalPartnerId.Value), $"{month}|{r.Credit.Competency}",
                [("partnerId", Id(r.GlobalPartnerId.Value)), ("locations", r.Locations),
                 .. Credit(r.Credit)]))),
            [TableNames.SubscriptionPartners] = Sorted(results.SubscriptionPartners.Select(r => Row(r.SubscriptionId.ToString("D"), $"{month}|{Id(r.PartnerId.Value)}",
                ("customerTenantId", r.CustomerTenantId.ToString("D")), ("partnerId", Id(r.PartnerId.Value)), ("sources", r.Sources), ("isDpor", r.IsDpor),
                ("workloads", string.Join(';', r.Workloads.ToString().Split(';', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)))))),
            [TableNames.IncentiveEligibility] = Sorted(results.IncentiveEligibility.Select(r => Row(Id(r.DporPartnerId.Value), $"{month}|{r.Month}|{r.SubscriptionId:D}",
                ("asOf", month), ("month", r.Month.ToString()), ("subscriptionId", r.SubscriptionId.ToString("D")), ("customerTenantId", r.CustomerTenantId.ToString("D")), ("acrUsd", r.AcrUsd), ("dporDays", r.DporDays), ("daysInMonth", r.DaysInMonth),
                ("incentiveAcrUsd", r.IncentiveAcrUsd)))),
            [TableNames.PartnerCapabilityScore] = Sorted(scores.Select(r => Row(r.PartitionKey, r.RowKey,
                [.. r.ToProperties().Select(kv => (kv.Key, kv.Value))]))),
        };
    }

    private static List<TableEntity> Sorted(IEnumerable<TableEntity> entities) =>
        entities.OrderBy(e => e.PartitionKey, StringComparer.Ordinal).ThenBy(e => e.RowKey, StringComparer.Ordinal).ToList();

    /// <summary>
    /// Same rows, same keys, same values — doubles to a relative 1e-9, since shards sum in another order than one
    /// pass — ignoring runId and storage metadata (Table storage keeps no null properties).
    /// </summary>
    public static void AssertSame(Dictionary<string, List<TableEntity>> expected, Dictionary<string, List<TableEntity>> actual)
    {
        foreach (var table in CreditEntities.PublishedTables)
        {
            var e = expected[table];
            var a = actual[table];
            Assert.True(e.Count == a.Count, $"{table}: {e.Count} rows expected, {a.Count} published");
            for (var i = 0; i < e.Count; i++)
            {
                Assert.Equal($"{table} {e[i].PartitionKey}/{e[i].RowKey}", $"{table} {a[i].PartitionKey}/{a[i].RowKey}");
                var keys = Props(e[i]).Union(Props(a[i])).Order(StringComparer.Ordinal);
                foreach (var k in keys)
                {
                    var x = e[i].TryGetValue(k, out var xv) ? xv : null;
                    var y = a[i].TryGetValue(k, out var yv) ? yv : null;
                    var where = $"{table} {e[i].PartitionKey}/{e[i].RowKey} {k}";
                    if (x is double dx && y is double dy)
                        Assert.True(Math.Abs(dx - dy) <= 1e-9 * Math.Max(1, Math.Abs(dx)), $"{where}: {dx} vs {dy}");
                    else
                        Assert.Equal($"{where}={Convert.ToString(x, CultureInfo.InvariantCulture)}", $"{where}={Convert.ToString(y, CultureInfo.InvariantCulture)}");
                }
            }
        }
    }

    private static IEnumerable<string> Props(TableEntity e) =>
        e.Keys.Where(k => k is not ("odata.etag" or "Timestamp" or "runId" or "PartitionKey" or "RowKey") && e[k] is not null);
}
