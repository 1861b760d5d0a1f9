using Attribution.Pipeline.Recalculation;
using Attribution.Local;
using Attribution.Testing;
using Microsoft.Extensions.Logging;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>The orchestrator's phase logs go through its replay-safe logger; each step logs through ILogger&lt;T&gt; from DI.</summary>
public sealed class RecalculationLogTests(SmallRecordsFixture azurite) : IClassFixture<SmallRecordsFixture>
{
    private const string Orchestrator = "Attribution.Pipeline.Recalculation.RecalculateCredit";

    [Fact]
    public async Task Each_phase_is_logged_once_although_the_orchestrator_is_replayed_after_every_step()
    {
        var capture = new CapturingLoggerProvider();
        using var logs = new LoggerFactory([capture]);
        await using var host = await LocalDurableHost.StartAsync(azurite.Storage, "t" + Guid.NewGuid().ToString("N")[..12], loggerFactory: logs);
        var outcome = await RecalculationHarness.RecalculateAsync(host, RecalculationHarness.AsOf);
        var entries = capture.Entries;

        // Eight steps awaited one after another (find, begin, shards, reduce, begin publish, publish ranges, complete,
        // purge), and DTFx runs the orchestrator from the top after each: a plain logger would repeat the early phases.
        var phases = entries.Where(e => e.Category == Orchestrator).ToList();
        Assert.Equal([2102, 2103, 2104, 2105, 2107], phases.Select(e => e.EventId).Order());
        Assert.Contains(phases, e => e.EventId == 2105 && e.Message.EndsWith($"published, {outcome.RowsPublished} rows written, {outcome.RowsRemoved} removed.", StringComparison.Ordinal));

        // The activities log from their own categories: one line per shard and per range, with their timings.
        var begun = Assert.Single(entries, e => e.Category == typeof(BeginRecalculation).FullName && e.EventId == 2002);
        Assert.Contains($"run {outcome.RunId} for {outcome.AsOf}", begun.Message, StringComparison.Ordinal);
        var shards = entries.Count(e => e.Category == typeof(ComputeCreditShard).FullName && e.EventId == 2003);
        Assert.Contains($": {shards} shards,", begun.Message, StringComparison.Ordinal);
        Assert.All(entries.Where(e => e.EventId == 2003), e => Assert.Matches(@"read \d+ ms, compute \d+ ms, write \d+ ms\.$", e.Message));
        // The publish's rows per table add up to what the outcome reports.
        var tables = entries.Where(e => e.Category == typeof(CompletePublish).FullName && e.EventId == 2008).ToList();
        Assert.Equal(5, tables.Count); // the five published tables of §4
        Assert.Equal(outcome.RowsPublished, tables.Sum(e => long.Parse(System.Text.RegularExpressions.Regex.Match(e.Message, @": (\d+) rows written").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)));
    }
}
