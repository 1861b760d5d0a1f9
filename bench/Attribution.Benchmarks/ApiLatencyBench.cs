using Attribution.Testing;
using System.Diagnostics;
using System.Globalization;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Functions.Api;
using Attribution.Local;
using Attribution.Local.Synthetic;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Attribution.Benchmarks;

/// <summary>
/// `api [--tenants N] [--reads N] [--storage CONN [--scenario NAME]]`: the read API's latency for partner reads, measured in-process against Azurite
/// holding a published recalculation of generated data (handler + storage round trips; no HTTP host here).
/// </summary>
public static class ApiLatencyBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var tenants = Arg(args, "--tenants", 1000);
        var reads = Arg(args, "--reads", 400);
        var existing = Array.IndexOf(args, "--storage") is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        await using var azurite = existing is null ? await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true }) : null;
        var storage = StorageAccount.FromConnectionString(existing ?? azurite!.ConnectionString);
        // With --storage the reads run against what is already published there (bench/recalc.sh's 100k run), so the
        // latency is measured on the same data without a second hour-long first publish into the emulator.
        if (existing is null) await PublishGeneratedAsync(storage, tenants);

        // --scenario NAME reads a scenario run's snapshot (the same files a published run has) through the reader the
        // API handlers call: the 100k read latency without first publishing 2.5 M rows into the emulator's table store.
        var scenario = Array.IndexOf(args, "--scenario") is var s and >= 0 && s + 1 < args.Length ? args[s + 1] : null;
        var reader = storage.Get<CreditReader>();
        var run = await reader.ResolveRunAsync(null, scenario)
            ?? throw new InvalidOperationException(scenario is null ? "nothing published" : $"no run of scenario {scenario}");
        var partners = (await reader.AllPartnersAsync(run)).Select(p => p.PartnerId).ToList();
        var api = storage.Create<ReadApi>();
        var rng = new Random(1);

        async Task<double[]> Measure(Func<string, Task<IActionResult>> call)
        {
            for (var i = 0; i < 20; i++) await call(partners[rng.Next(partners.Count)]); // warm-up
            var times = new double[reads];
            for (var i = 0; i < reads; i++)
            {
                var id = partners[rng.Next(partners.Count)];
                var sw = Stopwatch.StartNew();
                var result = await call(id);
                times[i] = sw.Elapsed.TotalMilliseconds;
                if (result is not OkObjectResult) throw new InvalidOperationException($"partner {id}: {result}");
            }
            Array.Sort(times);
            return times;
        }

        var evidenceService = storage.Get<EvidenceService>();
        static Attribution.Domain.PartnerId Id(string id) => new(long.Parse(id, CultureInfo.InvariantCulture));
        static IActionResult Found(object? view) => view is null ? new NotFoundResult() : new OkObjectResult(view);
        var credit = scenario is null
            ? await Measure(id => api.PartnerCreditAsync(Request(""), id, default))
            : await Measure(async id => Found(await reader.PartnerAsync(Id(id), run, global: false)));
        var global = await Measure(async id =>
        {
            var location = await reader.PartnerAsync(Id(id), run, global: false);
            return scenario is null
                ? await api.PartnerCreditAsync(Request("scope=global"), location!.GlobalPartnerId!, default)
                : Found(await reader.PartnerAsync(Id(location!.GlobalPartnerId!), run, global: true));
        });
        var evidence = scenario is null
            ? await Measure(id => api.PartnerEvidenceAsync(Request("competency=CloudPlatform&pageSize=100"), id, default))
            : await Measure(async id => Found(await evidenceService.ExplainAsync(Id(id), "CloudPlatform", run, 0, 100)));
        // The baseline, in the same run: the same evidence explained as before the explanation index (the run's records
        // of the partner's customers re-read and re-walked), which is how runs without an index are still explained.
        // (Runs now have no partner → tenant table: the partner's customers come from its section of the index instead,
        // one range read like the table's was.)
        var evidenceFromRecords = await Measure(async id =>
        {
            var customers = (await evidenceService.ExplainAsync(Id(id), "CloudPlatform", run))?.Rows.Select(r => Guid.Parse(r.CustomerTenantId)).ToList();
            return customers is null ? new NotFoundResult() : Found(await evidenceService.ExplainFromRecordsAsync(Id(id), "CloudPlatform", run, customers, 0, 100));
        });

        // GET /api/partners/{id}/score with a location ID: the handler reads the global partner's partition, or the
        // directory first when the location is not its own global partner (the slower path, measured as users call it).
        var scores = storage.Get<ScoreReader>();
        var scoreApi = storage.Create<ScoreApi>();
        var score = scenario is null
            ? await Measure(id => scoreApi.PartnerScoreAsync(Request(""), id, default))
            : await Measure(async id => Found(await scores.ScoreAsync(Id(id), run)));
        var customers = scenario is null
            ? await Measure(id => api.PartnerScoreCustomersAsync(Request("designation=Infrastructure&pageSize=100"), id, default))
            : await Measure(async id => Found(await scores.CustomersAsync(Id(id), run, "Infrastructure")));

        Console.WriteLine($"Read API latency, in-process handler + Azurite, {partners.Count} partners{(existing is null ? $" from {tenants} generated tenants" : scenario is null ? " already published" : $" of scenario {scenario}'s snapshot, through CreditReader/EvidenceService (what the handlers call)")}, {reads} reads each:");
        Console.WriteLine("| read | median ms | p95 ms | max ms |");
        Console.WriteLine("|---|---:|---:|---:|");
        void Row(string name, double[] t) =>
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {t[t.Length / 2]:F2} | {t[(int)(t.Length * 0.95)]:F2} | {t[^1]:F2} |"));
        Row("GET /api/partners/{id}/credit", credit);
        Row("GET /api/partners/{id}/credit?scope=global (incl. a lookup of the global id)", global);
        Row("GET /api/partners/{id}/evidence?competency=CloudPlatform (first page of 100, from the explanation index)", evidence);
        Row("  the same, from the records re-walked (before the index; baseline)", evidenceFromRecords);
        Row("GET /api/partners/{id}/score (a location ID: its global partner's designations)", score);
        Row("GET /api/partners/{id}/score/customers?designation=Infrastructure (first page of 100)", customers);
        return 0;
    }

    private static async Task PublishGeneratedAsync(StorageAccount storage, int tenants)
    {
        await storage.EnsureCreatedAsync();
        var dir = Path.Combine(Path.GetTempPath(), "attribution-api-bench-" + tenants.ToString(CultureInfo.InvariantCulture));
        if (!Directory.Exists(dir)) SyntheticFeedGenerator.Generate(dir, new SyntheticFeedOptions(tenants, Seed: 7));
        var ingestor = storage.Create<FeedIngestor>(CreditRulesLoader.Default);
        foreach (var path in Directory.EnumerateFiles(dir, "*.csv", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            if (FeedSources.TryInferFromPath(path, out var source)) await ingestor.IngestFileAsync(path, source);
        await using var host = await LocalDurableHost.StartAsync(storage, "apibench");
        var start = await host.Storage.Starter(host).StartAsync(new Attribution.Domain.YearMonth(2026, 10), CreditRulesLoader.DefaultJson);
        await host.WaitAsync(start.InstanceId, TimeSpan.FromMinutes(30));
    }

    private static HttpRequest Request(string query)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.QueryString = new QueryString(query.Length == 0 ? "" : "?" + query);
        return context.Request;
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
