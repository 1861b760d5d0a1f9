using Attribution.Domain;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Data.Tables;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>
/// The real RecalculateCredit orchestrator on the Durable Task Framework's Azure Storage backend over Azurite: what
/// only a real run shows (its published results against the engine, a worker crash and takeover, a scenario's results
/// kept apart, stale rows removed). The orchestrator's control flow is RecalculateCreditTests (Attribution.Pipeline.Tests).
/// </summary>
public sealed class RecalculationOrchestrationTests(RecordsFixture azurite) : IClassFixture<RecordsFixture>
{
    private static readonly YearMonth AsOf = RecalculationHarness.AsOf;

    [Fact]
    public async Task The_orchestration_publishes_exactly_what_the_engine_computes_over_all_records()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var outcome = await RecalculationHarness.RecalculateAsync(host, AsOf);

        Assert.True(outcome.Published);
        Assert.True(outcome.Partners > 9, $"{outcome.Partners} partners");
        var expected = await RecalculationHarness.EngineExpectationAsync(azurite.Storage, AsOf, CreditRulesLoader.Default);
        var published = await RecalculationHarness.PublishedAsync(azurite.Storage, AsOf);
        foreach (var table in CreditEntities.PublishedTables) Assert.NotEmpty(expected[table]);
        RecalculationHarness.AssertSame(expected, published);

        // The run is recorded as the published one; every published row names the run that last changed it (this
        // one for the rows it wrote; an earlier run in this class for rows it left unchanged).
        var runs = await azurite.Storage.Get<RunStore>().ListAsync(AsOf);
        var run = Assert.Single(runs, r => r.RunId == outcome.RunId);
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.True(run.Published);
        Assert.Equal(outcome.Partners, run.Partners);
        Assert.Equal(CreditRulesLoader.Default.RulesVersion, run.RulesVersion);
        var succeeded = (await azurite.Storage.Get<RunStore>().ListAsync()).Where(r => r.Status == RunStatus.Succeeded && r.Scenario is null).Select(r => r.RunId).ToHashSet();
        var rows = published.Values.SelectMany(v => v).ToList();
        Assert.All(rows, e => Assert.Contains(e.GetString("runId") ?? "", succeeded));
        Assert.Equal(outcome.RowsPublished, rows.Count(e => e.GetString("runId") == outcome.RunId));

        // The samples' headline: Fabrikam reaches CloudPlatform Gold on its DPOR revenue.
        var reader = azurite.Storage.Get<CreditReader>();
        var fabrikam = await reader.PartnerAsync(new PartnerId(2345678), run, global: false);
        Assert.Equal("Gold", fabrikam!.Competencies.Single(c => c.Competency == "CloudPlatform").Level.Name);
    }

    [Fact]
    public async Task A_worker_stopped_mid_run_and_restarted_finishes_with_identical_published_results()
    {
        // Worker A completes half the shards, then dies with the other half in flight.
        var held = new TaskCompletionSource();
        var firstHalfDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = 0;
        var host = await RecalculationHarness.HostAsync(azurite.Storage,
            async (name, input) =>
            {
                if (name == nameof(ComputeCreditShard) && input is ShardWork work && work.Shard >= work.ShardCount / 2)
                    await held.Task; // never released: the crash happens first
            },
            (name, input, _) =>
            {
                if (name == nameof(ComputeCreditShard) && input is ShardWork work && work.Shard < work.ShardCount / 2
                    && Interlocked.Increment(ref done) == work.ShardCount / 2) firstHalfDone.TrySetResult();
                return Task.CompletedTask;
            },
            takeover: RecalculationHarness.CrashTakeover);
        var start = await host.Storage.Starter(host).StartAsync(AsOf, CreditRulesLoader.DefaultJson);
        Assert.True(start.Started);
        await firstHalfDone.Task.WaitAsync(TimeSpan.FromMinutes(3)); // the first half has computed and written its results
        await host.CrashAsync();
        // The in-flight activities die with the worker: aborted, as DTFx aborts work on host shutdown, so their
        // messages go back to the queue instead of completing.
        held.SetException(new DurableTask.Core.Exceptions.SessionAbortedException("worker crashed"));
        await using var observer = await Attribution.Local.LocalDurableHost.StartAsync(azurite.Storage, host.TaskHub, startWorker: false);
        Assert.Equal(InstanceState.Running, await observer.GetStateAsync(start.InstanceId, default));
        var run = (await azurite.Storage.Get<RunStore>().ListAsync(AsOf)).Single(r => r.RunId == start.RunId);
        Assert.Equal(RunStatus.Running, run.Status);

        // Worker B (a new process, as far as the task hub can tell) picks the run up and finishes it.
        await using var restarted = await LocalHostOnSameHub(host.TaskHub);
        var outcome = await restarted.WaitAsync(start.InstanceId, TimeSpan.FromMinutes(3));

        Assert.Equal(start.RunId, outcome.RunId);
        var expected = await RecalculationHarness.EngineExpectationAsync(azurite.Storage, AsOf, CreditRulesLoader.Default);
        var published = await RecalculationHarness.PublishedAsync(azurite.Storage, AsOf);
        RecalculationHarness.AssertSame(expected, published);
    }

    private Task<Attribution.Local.LocalDurableHost> LocalHostOnSameHub(string taskHub) =>
        Attribution.Local.LocalDurableHost.StartAsync(azurite.Storage, taskHub,
            loggerFactory: Environment.GetEnvironmentVariable("ATTRIBUTION_TEST_LOG") is { } log
                ? new Microsoft.Extensions.Logging.LoggerFactory([new FileLoggerProvider(log)])
                : null);

    [Fact]
    public async Task A_scenario_run_leaves_published_rows_unchanged_and_keeps_its_results_apart()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var month = new YearMonth(2026, 7);
        var published = await RecalculationHarness.RecalculateAsync(host, month);
        var before = await RecalculationHarness.PublishedAsync(azurite.Storage, month);
        var beforeRunIds = (await azurite.Storage.AllAsync(TableNames.PartnerCredit)).Where(e => e.RowKey.StartsWith(month + "|", StringComparison.Ordinal)).Select(e => e.GetString("runId")).Distinct().ToList();

        // What if only the DPOR were credited?
        var dporOnly = CreditRulesLoader.DefaultJson.Replace("\"creditPolicy\": \"full\"", "\"creditPolicy\": \"dporOnly\"", StringComparison.Ordinal);
        Assert.NotEqual(CreditRulesLoader.DefaultJson, dporOnly);
        var scenario = await RecalculationHarness.RecalculateAsync(host, month, dporOnly, scenario: "dpor-only");

        Assert.False(scenario.Published);
        RecalculationHarness.AssertSame(before, await RecalculationHarness.PublishedAsync(azurite.Storage, month));
        Assert.Equal(beforeRunIds, (await azurite.Storage.AllAsync(TableNames.PartnerCredit)).Where(e => e.RowKey.StartsWith(month + "|", StringComparison.Ordinal)).Select(e => e.GetString("runId")).Distinct().ToList());
        var reader = azurite.Storage.Get<CreditReader>();
        Assert.Equal(published.RunId, (await reader.ResolveRunAsync(month))!.RunId);

        // Its results are kept apart and readable: fewer partners are credited when only DPORs count.
        var scenarioRun = await reader.ResolveRunAsync(month, "dpor-only");
        Assert.Equal(scenario.RunId, scenarioRun!.RunId);
        Assert.False(scenarioRun.Published);
        Assert.True(scenario.Partners < published.Partners, $"{scenario.Partners} vs {published.Partners}");
        var litware = await reader.PartnerAsync(new PartnerId(7890123), (await reader.ResolveRunAsync(month))!, global: false);
        Assert.NotNull(litware); // credited by its EA (sales) in the published run…
        Assert.Null(await reader.PartnerAsync(new PartnerId(7890123), scenarioRun, global: false)); // …but it is no DPOR
    }

    [Fact]
    public async Task Republishing_removes_rows_the_new_run_no_longer_produces()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var month = new YearMonth(2026, 6);
        await RecalculationHarness.RecalculateAsync(host, month);
        var securityRows = (await azurite.Storage.AllAsync(TableNames.PartnerCredit)).Count(e => e.RowKey == $"{month}|Security");
        Assert.True(securityRows > 0);

        // New rules drop the Security competency: its rows of this asOf must go; other months stay.
        var rules = System.Text.Json.Nodes.JsonNode.Parse(CreditRulesLoader.DefaultJson)!.AsObject();
        var competencies = rules["competencies"]!.AsArray();
        competencies.Remove(competencies.Single(c => (string)c!["name"]! == "Security"));
        rules["rulesVersion"] = "test-no-security";
        var outcome = await RecalculationHarness.RecalculateAsync(host, month, rules.ToJsonString());

        Assert.True(outcome.RowsRemoved >= securityRows);
        var credit = await azurite.Storage.AllAsync(TableNames.PartnerCredit);
        Assert.DoesNotContain(credit, e => e.RowKey == $"{month}|Security");
        Assert.All(credit.Where(e => e.RowKey.StartsWith(month + "|", StringComparison.Ordinal)), e =>
        {
            Assert.Equal(outcome.RunId, e.GetString("runId"));
            Assert.Equal("test-no-security", e.GetString("rulesVersion"));
        });
        var runs = await azurite.Storage.Get<RunStore>().ListAsync(month);
        Assert.Single(runs, r => r.Published);
        Assert.Equal(outcome.RunId, runs.Single(r => r.Published).RunId);
    }

    [Fact]
    public async Task A_run_writes_one_snapshot_file_per_publish_range_and_table_however_many_shards()
    {
        // 4 shards, 2 reduce ranges, 4 publish ranges: shards send their tenant-level rows to the reduces, so every
        // table's range holds one file (its reduce's), not one per shard (ChangedFanOutTests: any split gives the same rows).
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var settings = RecalculationSettings.Default with { Shards = 4, ReduceRanges = 2, PublishRanges = 4 };
        var outcome = await RecalculationHarness.RecalculateAsync(host, AsOf, scenario: "file-count", settings: settings);
        Assert.False(outcome.Published);
        var files = new List<string>();
        await foreach (var blob in azurite.Storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer).GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, outcome.RunId + "/snapshot/", CancellationToken.None))
            files.Add(blob.Name);
        var byRange = files.GroupBy(f => string.Join('/', f.Split('/')[2..4])).ToList(); // {table}/r{range}
        Assert.Contains(byRange, g => g.Key.StartsWith("SubscriptionPartners/", StringComparison.Ordinal));
        Assert.Contains(byRange, g => g.Key.StartsWith("IncentiveEligibility/", StringComparison.Ordinal));
        Assert.Contains(byRange, g => g.Key.StartsWith("evidence/", StringComparison.Ordinal)); // the explanation index
        Assert.DoesNotContain(byRange, g => g.Key.StartsWith("PartnerSubscriptions/", StringComparison.Ordinal)); // superseded by it
        Assert.All(byRange, g => Assert.Single(g));
        Assert.All(files, f => Assert.Matches(@"/k\d{3}\.(parquet|bin)$", f));
        Assert.True(files.Count <= 7 * settings.PublishRanges, $"{files.Count} files");
    }
}
