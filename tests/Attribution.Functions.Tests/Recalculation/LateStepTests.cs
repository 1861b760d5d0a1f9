using Attribution.Domain;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>
/// Durable Task delivers activities at least once, and an ended instance's messages may still arrive: every step of
/// an older run, replayed after a newer run of the same month was published, changes neither RecalculationRuns nor a
/// published row, and says why in the log.
/// </summary>
public sealed class LateStepTests(RecordsFixture azurite) : IClassFixture<RecordsFixture>
{
    private static readonly YearMonth AsOf = RecalculationHarness.AsOf;

    private static async Task<Dictionary<string, string>> RunRowsAsync(StorageAccount storage)
    {
        var rows = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var e in storage.Table(TableNames.RecalculationRuns).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {AsOf.ToString()}")))
            rows[e.RowKey] = StorageReads.Canonical(e) + "|" + e.ETag;
        return rows;
    }

    [Fact]
    public async Task Every_step_of_a_superseded_run_replayed_after_a_newer_publish_changes_nothing_and_says_why()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var older = await RecalculationHarness.RecalculateAsync(host, AsOf);
        var olderRun = (await azurite.Storage.Get<RunStore>().GetAsync(AsOf, older.RunId))!;
        await RecalculationHarness.RestateAsync(azurite.Storage);
        var newer = await RecalculationHarness.RecalculateAsync(host, AsOf);
        Assert.True(newer.RowsPublished > 0, "the restatement changed published rows");

        var tablesBefore = await RecalculationHarness.RowsByKeyAsync(azurite.Storage, AsOf);
        var runsBefore = await RunRowsAsync(azurite.Storage);

        var log = new CapturingLoggerProvider();
        var services = new ServiceCollection()
            .AddLogging(b => b.AddProvider(log))
            .AddSingleton(azurite.Storage)
            .AddSingleton<IRecalculationHistory>(host)
            .AddRecalculation()
            .BuildServiceProvider();
        var olderPlan = new PublishPlan(older.RunId, AsOf, olderRun.BaseRunId, olderRun.PublishRanges, olderRun.WindowMonths, olderRun.Partners, olderRun.UsageRows);

        var begin = await services.GetRequiredService<BeginPublish>().RunAsync(new PublishStart(older.RunId, AsOf, older.Partners, older.UsageRows), CancellationToken.None);
        Assert.Contains("superseded", begin.Refused, StringComparison.Ordinal);
        for (var range = 0; range < olderRun.PublishRanges; range++)
        {
            var summary = await services.GetRequiredService<PublishCreditRange>().RunAsync(new PublishRangeWork(olderPlan, range), CancellationToken.None);
            Assert.True(summary.Skipped);
        }
        Assert.False(await services.GetRequiredService<CompletePublish>().RunAsync(new CompletePublishWork(olderPlan, []), CancellationToken.None));
        Assert.False(await services.GetRequiredService<FailRecalculation>().RunAsync(new RunFailure(older.RunId, AsOf, "a late failure report"), CancellationToken.None));
        Assert.False(await services.GetRequiredService<CompleteScenarioRun>().RunAsync(new CompleteScenarioWork(older.RunId, AsOf, 1, 1), CancellationToken.None));
        Assert.Null(await services.GetRequiredService<FindInterruptedPublish>().RunAsync(new InterruptedPublishQuery(AsOf, "another-run"), CancellationToken.None));

        // The newer (published) run's own steps delivered again are no-ops too: a retry, not a second publish.
        var newerRun = (await azurite.Storage.Get<RunStore>().GetAsync(AsOf, newer.RunId))!;
        var again = await services.GetRequiredService<BeginPublish>().RunAsync(new PublishStart(newer.RunId, AsOf, newer.Partners, newer.UsageRows), CancellationToken.None);
        Assert.Null(again.Refused);
        Assert.Equal(newerRun.BaseRunId, again.Plan.BaseRunId);
        Assert.True(await services.GetRequiredService<CompletePublish>().RunAsync(new CompletePublishWork(again.Plan, []), CancellationToken.None));

        Assert.Equal(runsBefore, await RunRowsAsync(azurite.Storage));
        var tablesAfter = await RecalculationHarness.RowsByKeyAsync(azurite.Storage, AsOf);
        Assert.Equal(tablesBefore.Keys.Order(StringComparer.Ordinal), tablesAfter.Keys.Order(StringComparer.Ordinal));
        Assert.All(tablesAfter, kv => Assert.Equal(tablesBefore[kv.Key].ETag, kv.Value.ETag));
        var published = await azurite.Storage.Get<RunStore>().PublishedAsync(AsOf);
        Assert.Equal(newer.RunId, published!.RunId);

        // Each refusal is one warning naming the step, the run and why.
        var refusals = log.Entries.Where(l => l.EventId == 2013).Select(l => l.Message).ToList();
        foreach (var step in new[] { "BeginPublish", "CompletePublish", "FailRecalculation", "CompleteScenarioRun" })
            Assert.Contains(refusals, m => m.StartsWith(step + ": run " + older.RunId, StringComparison.Ordinal));
        Assert.Equal(olderRun.PublishRanges, log.Entries.Count(l => l.EventId == 2007 && l.Message.Contains(older.RunId, StringComparison.Ordinal)));
    }
}

/// <summary>
/// RecalculationRuns moves only forward (Running → Publishing → Succeeded and published → superseded), checked on rows
/// as a crash or a race can leave them: a run never publishes past a newer run of its month.
/// </summary>
public sealed class RunTransitionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static int _month;

    // Each test its own month: the runs of one month are one partition.
    private static YearMonth NextMonth() => new YearMonth(2020, 1).AddMonths(Interlocked.Increment(ref _month));

    private async Task<RunStore> RunsAsync(YearMonth asOf, params (string RunId, RunStatus Status, bool Published, int MinutesAgo)[] rows)
    {
        var table = azurite.Storage.Table(TableNames.RecalculationRuns);
        await table.CreateIfNotExistsAsync();
        var now = DateTimeOffset.UtcNow;
        foreach (var (runId, status, published, minutesAgo) in rows)
            await table.UpsertEntityAsync(new TableEntity(asOf.ToString(), runId)
            {
                ["status"] = status.ToString(), ["published"] = published, ["startedAt"] = now.AddMinutes(-minutesAgo),
                ["publishRanges"] = 4, ["windowMonths"] = 12, ["rulesVersion"] = "r",
            });
        return azurite.Storage.Get<RunStore>();
    }

    private static PublishPlan Plan(YearMonth asOf, string runId) => new(runId, asOf, null, 4, 12, 3, 30);

    [Fact]
    public async Task An_older_run_still_publishing_never_completes_over_a_newer_published_run_and_is_not_rolled_forward()
    {
        var asOf = NextMonth();
        var runs = await RunsAsync(asOf, ("old", RunStatus.Publishing, false, 60), ("new", RunStatus.Succeeded, true, 10));

        var refused = await runs.CompletePublishAsync(Plan(asOf, "old"), []);

        Assert.Contains("superseded by the newer run new", refused, StringComparison.Ordinal);
        Assert.Equal("new", (await runs.PublishedAsync(asOf))!.RunId);
        Assert.Equal(RunStatus.Publishing, (await runs.GetAsync(asOf, "old"))!.Status);
        Assert.Null(await runs.InterruptedPublishAsync(asOf, "next"));
    }

    [Fact]
    public async Task A_running_run_does_not_begin_publishing_while_a_newer_run_publishes_or_after_it_published()
    {
        var asOf = NextMonth();
        var runs = await RunsAsync(asOf, ("old", RunStatus.Running, false, 60), ("new", RunStatus.Publishing, false, 10));

        var whilePublishing = await runs.BeginPublishAsync(asOf, "old", 3, 30);
        Assert.Contains("superseded by the newer run new (publishing)", whilePublishing.Refused, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Running, (await runs.GetAsync(asOf, "old"))!.Status);

        Assert.Null(await runs.CompletePublishAsync(Plan(asOf, "new"), []));
        var afterPublished = await runs.BeginPublishAsync(asOf, "old", 3, 30);
        Assert.Contains("superseded by the newer run new (published)", afterPublished.Refused, StringComparison.Ordinal);

        // The run then fails with that reason: RecalculationRuns never keeps a dead run Running.
        Assert.Null(await runs.FailAsync(new RunFailure("old", asOf, afterPublished.Refused!)));
        var old = (await runs.GetAsync(asOf, "old"))!;
        Assert.Equal((RunStatus.Failed, false), (old.Status, old.Published));
        Assert.Equal("new", (await runs.PublishedAsync(asOf))!.RunId);
    }

    [Fact]
    public async Task A_publish_moves_forward_once_and_a_late_failure_report_keeps_its_state()
    {
        var asOf = NextMonth();
        var runs = await RunsAsync(asOf, ("first", RunStatus.Succeeded, true, 60), ("second", RunStatus.Running, false, 10));

        var begun = await runs.BeginPublishAsync(asOf, "second", 3, 30);
        Assert.Null(begun.Refused);
        Assert.Equal("first", begun.Plan.BaseRunId);
        // A retry of Begin gets the recorded plan, even after another run was published meanwhile.
        Assert.Equal(begun.Plan, (await runs.BeginPublishAsync(asOf, "second", 3, 30)).Plan);

        // A failure while publishing keeps it Publishing (for the roll-forward) and records why.
        Assert.NotNull(await runs.FailAsync(new RunFailure("second", asOf, "storage went away")));
        Assert.Equal((RunStatus.Publishing, "storage went away"), ((await runs.GetAsync(asOf, "second"))!.Status, (await runs.GetAsync(asOf, "second"))!.Error));

        Assert.Null(await runs.CompletePublishAsync(begun.Plan, [new TablePublishCount(TableNames.PartnerCredit, 5, 1)]));
        Assert.Null(await runs.CompletePublishAsync(begun.Plan, [new TablePublishCount(TableNames.PartnerCredit, 99, 99)]));
        var second = (await runs.GetAsync(asOf, "second"))!;
        Assert.Equal((RunStatus.Succeeded, true, 5L), (second.Status, second.Published, second.RowsWritten));
        Assert.False((await runs.GetAsync(asOf, "first"))!.Published);

        Assert.NotNull(await runs.FailAsync(new RunFailure("second", asOf, "late")));
        Assert.NotNull(await runs.FailAsync(new RunFailure("first", asOf, "late")));
        Assert.Equal((RunStatus.Succeeded, true), ((await runs.GetAsync(asOf, "second"))!.Status, (await runs.GetAsync(asOf, "second"))!.Published));
        Assert.Equal((RunStatus.Succeeded, false), ((await runs.GetAsync(asOf, "first"))!.Status, (await runs.GetAsync(asOf, "first"))!.Published));
        Assert.NotNull(await runs.CompleteUnpublishedAsync(asOf, "first", 1, 1));
    }
}
