using Attribution.Domain;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;
using Attribution.Testing;
using Azure.Data.Tables;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>Durable hygiene on the real DTFx Azure Storage backend: finished instances older than the retention are purged.</summary>
public sealed class HistoryPurgeTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(3);

    private async Task<int> HistoryRowsAsync(string taskHub, string instanceId)
    {
        var rows = 0;
        await foreach (var _ in azurite.Storage.Table(taskHub + "History").QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {instanceId}"), select: ["PartitionKey"])) rows++;
        return rows;
    }

    private static async Task<StartOutcome> RunAsync(Attribution.Local.LocalDurableHost host, YearMonth asOf, TimeSpan retention)
    {
        var start = await host.Storage.Starter(host, RecalculationHarness.SmallFanOut with { HistoryRetention = retention })
            .StartAsync(asOf, CreditRulesLoader.DefaultJson, allowEmpty: true); // no usage here: the purge is what is tested
        Assert.True(start.Started);
        await host.WaitAsync(start.InstanceId, Guard);
        return start;
    }

    [Fact]
    public async Task Finished_instances_older_than_the_retention_are_purged_and_recent_ones_kept()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var keepAll = TimeSpan.FromDays(7);
        var a = await RunAsync(host, new YearMonth(2026, 1), keepAll);
        var b = await RunAsync(host, new YearMonth(2026, 2), keepAll);
        Assert.True(await HistoryRowsAsync(host.TaskHub, a.InstanceId) > 0);
        Assert.True(await HistoryRowsAsync(host.TaskHub, b.InstanceId) > 0);

        // Retention ends between A's creation and B's: A's instance and history go, B stays.
        var createdA = (await host.CreatedAtAsync(a.InstanceId))!.Value;
        var createdB = (await host.CreatedAtAsync(b.InstanceId))!.Value;
        Assert.True(createdA < createdB);
        Assert.Equal(1, await host.PurgeAsync(createdA + (createdB - createdA) / 2, default));

        Assert.Null(await host.GetStateAsync(a.InstanceId, default));
        Assert.Equal(0, await HistoryRowsAsync(host.TaskHub, a.InstanceId));
        Assert.Equal(InstanceState.Completed, await host.GetStateAsync(b.InstanceId, default));
        Assert.True(await HistoryRowsAsync(host.TaskHub, b.InstanceId) > 0);
        // The run's own records are not the task hub's: RecalculationRuns still has A's run.
        Assert.Contains(await azurite.Storage.Get<RunStore>().ListAsync(YearMonth.Parse("2026-01")), r => r.RunId == a.RunId && r.Status == RunStatus.Succeeded);
    }

    [Fact]
    public async Task A_recalculation_ends_by_purging_finished_instances_past_the_retention_but_never_itself()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var old = await RunAsync(host, new YearMonth(2025, 5), TimeSpan.FromDays(7));
        Assert.Equal(InstanceState.Completed, await host.GetStateAsync(old.InstanceId, default));

        // Retention 0: everything finished before this run's end is past it; the run itself is still running then.
        var start = await host.Storage.Starter(host, RecalculationHarness.SmallFanOut with { HistoryRetention = TimeSpan.Zero })
            .StartAsync(new YearMonth(2025, 6), CreditRulesLoader.DefaultJson, allowEmpty: true);
        var outcome = await host.WaitAsync(start.InstanceId, Guard);

        Assert.True(outcome.InstancesPurged >= 1, $"{outcome.InstancesPurged} purged");
        Assert.Null(await host.GetStateAsync(old.InstanceId, default));
        Assert.Equal(0, await HistoryRowsAsync(host.TaskHub, old.InstanceId));
        Assert.Equal(InstanceState.Completed, await host.GetStateAsync(start.InstanceId, default));
    }
}
