using Attribution.Domain;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Functions.Api;
using Attribution.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Attribution.Functions.Tests.Recalculation;

// Each class has its own storage account: the tests count every row a run wrote.

/// <summary>An unchanged re-run diffs against the published snapshot and writes nothing.</summary>
public sealed class UnchangedRerunTests(RecordsFixture azurite) : IClassFixture<RecordsFixture>
{
    private static readonly YearMonth AsOf = RecalculationHarness.AsOf;

    [Fact]
    public async Task An_unchanged_rerun_writes_no_result_rows_and_every_row_keeps_the_first_runs_id()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var first = await RecalculationHarness.RecalculateAsync(host, AsOf);
        var before = await RecalculationHarness.RowsByKeyAsync(azurite.Storage, AsOf);
        Assert.True(first.RowsPublished == before.Count, $"{first.RowsPublished} rows written, {before.Count} published");
        Assert.All(before.Values, e => Assert.Equal(first.RunId, e.GetString("runId")));

        var second = await RecalculationHarness.RecalculateAsync(host, AsOf);

        Assert.True(second.Published);
        Assert.Equal((0L, 0L), (second.RowsPublished, second.RowsRemoved));
        var after = await RecalculationHarness.RowsByKeyAsync(azurite.Storage, AsOf);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        Assert.All(after, kv =>
        {
            Assert.Equal(first.RunId, kv.Value.GetString("runId"));
            Assert.True(RecalculationHarness.SameValues(before[kv.Key], kv.Value), kv.Key);
            Assert.Equal(before[kv.Key].Timestamp, kv.Value.Timestamp); // not rewritten, not even with the same values
        });

        // The second run is the published one, and says it wrote nothing, per table.
        var runs = await azurite.Storage.Get<RunStore>().ListAsync(AsOf);
        var published = Assert.Single(runs, r => r.Published);
        Assert.Equal(second.RunId, published.RunId);
        Assert.Equal(first.RunId, published.BaseRunId);
        Assert.Equal(CreditEntities.PublishedTables.Order(StringComparer.Ordinal), published.PublishCounts.Select(c => c.Table).Order(StringComparer.Ordinal));
        Assert.All(published.PublishCounts, c => Assert.Equal((0L, 0L), (c.Written, c.Removed)));
        var firstRun = runs.Single(r => r.RunId == first.RunId);
        Assert.False(firstRun.Published);
        Assert.Equal(before.Count, firstRun.RowsWritten);
        foreach (var table in CreditEntities.PublishedTables)
            Assert.Equal(before.Keys.Count(k => k.StartsWith(table + "|", StringComparison.Ordinal)), firstRun.PublishCounts.Single(c => c.Table == table).Written);

        // Readers follow the published run and see the same results.
        await RecalculationHarness.AssertReadersMatchTablesAsync(azurite.Storage, published);
    }
}

/// <summary>
/// The fan-out follows the data, so consecutive runs may split their snapshots differently: the diff still finds every
/// unchanged row, whether the base run's split is finer, coarser or unrelated.
/// </summary>
public sealed class ChangedFanOutTests(RecordsFixture azurite) : IClassFixture<RecordsFixture>
{
    private static readonly YearMonth AsOf = RecalculationHarness.AsOf;

    [Fact]
    public async Task A_rerun_split_finer_coarser_or_otherwise_writes_no_result_rows()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var first = await RecalculationHarness.RecalculateAsync(host, AsOf);
        var before = await RecalculationHarness.RowsByKeyAsync(azurite.Storage, AsOf);
        Assert.NotEmpty(before);

        foreach (var (shards, reduce, publish) in new[] { (4, 4, 64), (2, 2, 4), (3, 3, 9), (16, 8, 16) })
        {
            var again = await RecalculationHarness.RecalculateAsync(host, AsOf,
                settings: new RecalculationSettings(shards, reduce, publish, RecalculationSettings.DefaultHistoryRetention));
            Assert.True(again.Published);
            var now = await RecalculationHarness.RowsByKeyAsync(azurite.Storage, AsOf);
            var diffs = string.Join("\n", now.Where(kv => kv.Value.GetString("runId") != first.RunId).Take(5).Select(kv =>
                kv.Key + ": " + string.Join(", ", kv.Value.Keys.Where(k => k is not ("runId" or "Timestamp" or "odata.etag") && !Equals(kv.Value[k], before[kv.Key].TryGetValue(k, out var o) ? o : null))
                    .Select(k => $"{k} {(before[kv.Key].TryGetValue(k, out var b) ? b : null)} -> {kv.Value[k]}"))));
            Assert.True((again.RowsPublished, again.RowsRemoved) == (0L, 0L),
                $"{shards}/{reduce}/{publish}: wrote {again.RowsPublished}, removed {again.RowsRemoved}\n{diffs}");
        }

        var after = await RecalculationHarness.RowsByKeyAsync(azurite.Storage, AsOf);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        Assert.All(after, kv => Assert.Equal(first.RunId, kv.Value.GetString("runId")));
    }
}

/// <summary>A restatement changes only the rows it affects, and removes the rows the new run no longer produces.</summary>
public sealed class RestatementTests(RecordsFixture azurite) : IClassFixture<RecordsFixture>
{
    private static readonly YearMonth AsOf = RecalculationHarness.AsOf;

    private ReadApi Api => azurite.Storage.Create<ReadApi>();

    private static HttpRequest Get(string query)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = "/x";
        context.Request.QueryString = new QueryString("?" + query);
        return context.Request;
    }

    [Fact]
    public async Task A_restatement_rewrites_only_the_affected_rows_with_the_new_run_and_removes_stale_rows()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var first = await RecalculationHarness.RecalculateAsync(host, AsOf);
        var before = await RecalculationHarness.RowsByKeyAsync(azurite.Storage, AsOf);
        Assert.Contains(before.Keys, k => k.StartsWith($"{TableNames.PartnerCredit}|{RecalculationHarness.Proseware}|", StringComparison.Ordinal));

        // A paged read started on the first run...
        var page1 = Assert.IsType<EvidenceView>(Assert.IsType<OkObjectResult>(await Api.PartnerEvidenceAsync(
            Get("competency=CloudPlatform&pageSize=3"), RecalculationHarness.Fabrikam.ToString(System.Globalization.CultureInfo.InvariantCulture), default)).Value);
        Assert.Equal(first.RunId, page1.RunId);
        Assert.NotNull(page1.ContinuationToken);

        await RecalculationHarness.RestateAsync(azurite.Storage);
        var second = await RecalculationHarness.RecalculateAsync(host, AsOf);

        // Published results are what the engine computes over the restated records...
        RecalculationHarness.AssertSame(
            await RecalculationHarness.EngineExpectationAsync(azurite.Storage, AsOf, CreditRulesLoader.Default),
            await RecalculationHarness.PublishedAsync(azurite.Storage, AsOf));
        // ...and only rows whose values changed carry the new run; the others still name the first run.
        var after = await RecalculationHarness.RowsByKeyAsync(azurite.Storage, AsOf);
        var changed = after.Where(kv => !before.TryGetValue(kv.Key, out var old) || !RecalculationHarness.SameValues(old, kv.Value)).Select(kv => kv.Key).ToHashSet();
        Assert.All(after, kv => Assert.Equal(changed.Contains(kv.Key) ? second.RunId : first.RunId, kv.Value.GetString("runId")));
        Assert.Contains($"{TableNames.PartnerCredit}|{RecalculationHarness.Fabrikam}|{AsOf}|CloudPlatform", changed);
        Assert.Contains(after.Keys, k => k.StartsWith($"{TableNames.IncentiveEligibility}|{RecalculationHarness.Fabrikam}|{AsOf}|{AsOf}|{RecalculationHarness.AlpineProd}", StringComparison.Ordinal) && changed.Contains(k));
        Assert.True(changed.Count < after.Count / 4, $"{changed.Count} of {after.Count} rows changed");

        // Stale rows (Proseware is credited on nothing any more) are removed.
        var removed = before.Keys.Except(after.Keys).ToList();
        Assert.Contains($"{TableNames.PartnerCredit}|{RecalculationHarness.Proseware}|{AsOf}|CloudPlatform", removed);
        Assert.Contains($"{TableNames.SubscriptionPartners}|{RecalculationHarness.TreyResearchSubscription}|{AsOf}|{RecalculationHarness.Proseware}", removed);
        Assert.DoesNotContain(after.Keys, k => k.Contains($"|{RecalculationHarness.Proseware}", StringComparison.Ordinal));

        // RecalculationRuns says what was written and removed, per table.
        Assert.Equal((long)changed.Count, second.RowsPublished);
        Assert.Equal((long)removed.Count, second.RowsRemoved);
        var run = (await azurite.Storage.Get<RunStore>().GetAsync(AsOf, second.RunId))!;
        Assert.True(run.Published);
        foreach (var table in CreditEntities.PublishedTables)
        {
            var counts = run.PublishCounts.Single(c => c.Table == table);
            Assert.Equal(changed.Count(k => k.StartsWith(table + "|", StringComparison.Ordinal)), counts.Written);
            Assert.Equal(removed.Count(k => k.StartsWith(table + "|", StringComparison.Ordinal)), counts.Removed);
        }
        await RecalculationHarness.AssertReadersMatchTablesAsync(azurite.Storage, run);

        // The paged read continues on the run it started on, not the new one.
        var page2 = Assert.IsType<EvidenceView>(Assert.IsType<OkObjectResult>(await Api.PartnerEvidenceAsync(
            Get("competency=CloudPlatform&pageSize=3&continuationToken=" + page1.ContinuationToken), RecalculationHarness.Fabrikam.ToString(System.Globalization.CultureInfo.InvariantCulture), default)).Value);
        Assert.Equal(first.RunId, page2.RunId);
        Assert.Equal(page1.TotalRows, page2.TotalRows);
        var fresh = Assert.IsType<EvidenceView>(Assert.IsType<OkObjectResult>(await Api.PartnerEvidenceAsync(
            Get("competency=CloudPlatform&pageSize=3"), RecalculationHarness.Fabrikam.ToString(System.Globalization.CultureInfo.InvariantCulture), default)).Value);
        Assert.Equal(second.RunId, fresh.RunId);

        // Two publishes later the first run's snapshot is cleaned up: its token fails clearly (410), never mixes runs.
        await RecalculationHarness.RecalculateAsync(host, AsOf);
        var gone = Assert.IsType<ObjectResult>(await Api.PartnerEvidenceAsync(
            Get("competency=CloudPlatform&pageSize=3&continuationToken=" + page1.ContinuationToken), RecalculationHarness.Fabrikam.ToString(System.Globalization.CultureInfo.InvariantCulture), default));
        Assert.Equal(410, gone.StatusCode);
        Assert.Contains("application/problem+json", gone.ContentTypes);
        var otherMonth = Assert.IsType<ObjectResult>(await Api.PartnerEvidenceAsync(
            Get("competency=CloudPlatform&asOf=2026-09&continuationToken=" + fresh.ContinuationToken), RecalculationHarness.Fabrikam.ToString(System.Globalization.CultureInfo.InvariantCulture), default));
        Assert.Equal(400, otherMonth.StatusCode);
    }
}

/// <summary>A publish that dies half-way is rolled forward by the next start for its asOf, before anything else.</summary>
public sealed class InterruptedPublishTests(RecordsFixture azurite) : IClassFixture<RecordsFixture>
{
    private static readonly YearMonth AsOf = RecalculationHarness.AsOf;
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_crash_mid_publish_is_rolled_forward_by_the_next_start_and_readers_never_see_a_mix()
    {
        // The base: a clean, published run; then a restatement for the next run to publish.
        RecalculationOutcome baseline;
        await using (var clean = await RecalculationHarness.HostAsync(azurite.Storage)) baseline = await RecalculationHarness.RecalculateAsync(clean, AsOf);
        var reader = azurite.Storage.Get<CreditReader>();
        var baseRun = (await reader.ResolveRunAsync(AsOf))!;
        var baseFabrikam = await reader.PartnerAsync(new PartnerId(RecalculationHarness.Fabrikam), baseRun, global: false);
        await RecalculationHarness.RestateAsync(azurite.Storage);

        // Worker A publishes the first half of the ranges, then dies with the other half in flight.
        var held = new TaskCompletionSource();
        var halfWritten = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var written = 0;
        var host = await RecalculationHarness.HostAsync(azurite.Storage,
            async (name, input) =>
            {
                if (name == nameof(PublishCreditRange) && input is PublishRangeWork w && w.Range >= w.Plan.PublishRanges / 2) await held.Task;
            },
            (name, input, _) =>
            {
                if (name == nameof(PublishCreditRange) && input is PublishRangeWork w && w.Range < w.Plan.PublishRanges / 2
                    && Interlocked.Increment(ref written) == w.Plan.PublishRanges / 2) halfWritten.TrySetResult();
                return Task.CompletedTask;
            },
            takeover: RecalculationHarness.CrashTakeover);
        var start = await host.Storage.Starter(host).StartAsync(AsOf, CreditRulesLoader.DefaultJson);
        Assert.True(start.Started);
        await halfWritten.Task.WaitAsync(Guard);
        await host.CrashAsync();
        held.SetException(new DurableTask.Core.Exceptions.SessionAbortedException("worker crashed"));

        // Half-way: the tables mix both runs, RecalculationRuns names the run as Publishing over the base, and
        // readers still read the base run's complete snapshot.
        var interrupted = (await azurite.Storage.Get<RunStore>().GetAsync(AsOf, start.RunId!))!;
        Assert.Equal(RunStatus.Publishing, interrupted.Status);
        Assert.Equal(baseline.RunId, interrupted.BaseRunId);
        var mixed = (await RecalculationHarness.RowsByKeyAsync(azurite.Storage, AsOf)).Values.Select(e => e.GetString("runId") ?? "").ToHashSet();
        Assert.True(mixed.Contains(start.RunId!) && mixed.Contains(baseline.RunId), "the tables hold rows of both runs");
        Assert.Equal(baseRun.RunId, (await reader.ResolveRunAsync(AsOf))!.RunId);
        Assert.Equal(baseFabrikam!.Competencies, (await reader.PartnerAsync(new PartnerId(RecalculationHarness.Fabrikam), baseRun, global: false))!.Competencies);

        // The instance is gone for good (an operator terminated it, say); the next start rolls the publish forward first.
        await using var next = await RecalculationHarness.HostAsync(azurite.Storage, taskHub: host.TaskHub, startWorker: false);
        await next.TerminateAsync(start.InstanceId, "abandoned in a test");
        await next.StartWorkerAsync(azurite.Storage);
        Assert.Equal(InstanceState.Terminated, await next.WaitForEndAsync(start.InstanceId, Guard));
        var outcome = await RecalculationHarness.RecalculateAsync(next, AsOf);

        Assert.Equal(start.RunId, outcome.RolledForward);
        var runs = await azurite.Storage.Get<RunStore>().ListAsync(AsOf);
        var rolled = runs.Single(r => r.RunId == start.RunId);
        Assert.Equal(RunStatus.Succeeded, rolled.Status);
        Assert.True(rolled.RowsWritten > 0);
        var published = Assert.Single(runs, r => r.Published);
        Assert.Equal(outcome.RunId, published.RunId);
        Assert.Equal(start.RunId, published.BaseRunId);
        // The new run read the same records as the rolled-forward one: nothing left to change.
        Assert.Equal((0L, 0L), (outcome.RowsPublished, outcome.RowsRemoved));

        // Tables == a clean run's results == what readers see.
        RecalculationHarness.AssertSame(
            await RecalculationHarness.EngineExpectationAsync(azurite.Storage, AsOf, CreditRulesLoader.Default),
            await RecalculationHarness.PublishedAsync(azurite.Storage, AsOf));
        await RecalculationHarness.AssertReadersMatchTablesAsync(azurite.Storage, published);
        Assert.All((await RecalculationHarness.RowsByKeyAsync(azurite.Storage, AsOf)).Values,
            e => Assert.Contains(e.GetString("runId"), new[] { baseline.RunId, start.RunId }));
    }
}
