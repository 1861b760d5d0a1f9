using Attribution.Domain;
using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Recalculation;

namespace Attribution.Cli.Tests;

/// <summary>The progress lines an interactive terminal shows (redirected output shows none of them).</summary>
public sealed class ProgressTextTests
{
    [Fact]
    public void A_file_shows_its_pass_rows_rate_and_the_time_left_at_the_pace_so_far()
    {
        // A quarter of the file's work in 20 s leaves 60 s.
        var text = ProgressText.Ingest("usage-2025.csv", IngestionPhase.Writing, 120_000, 40_000, 0.25, TimeSpan.FromSeconds(20));
        Assert.Equal("usage-2025.csv: writing 120,000 rows, 40,000 rows/s, ETA 1m00s", text);
    }

    [Fact]
    public void A_finished_file_shows_its_rows_and_its_pace_over_both_passes()
    {
        // 90,000 rows in 4.5 s: 20,000 rows/s; 4.5 s reads as 5s (rounded up).
        Assert.Equal("usage.csv: 90,000 rows in 5s, 20,000 rows/s", ProgressText.Ingested("usage.csv", 90_000, TimeSpan.FromSeconds(4.5)));
        Assert.Equal("empty.csv: 0 rows in 0s", ProgressText.Ingested("empty.csv", 0, TimeSpan.Zero));
    }

    [Fact]
    public void Before_any_time_or_work_there_is_no_rate_and_no_eta()
    {
        Assert.Equal("a.csv: validating 65,536 rows", ProgressText.Ingest("a.csv", IngestionPhase.Validating, 65_536, null, 0, TimeSpan.Zero));
        Assert.Null(ProgressText.RowsPerSecond(10, TimeSpan.Zero));
        Assert.Null(ProgressText.Eta(0, TimeSpan.FromSeconds(5)));
        Assert.Equal(TimeSpan.Zero, ProgressText.Eta(1, TimeSpan.FromSeconds(5)));
    }

    [Theory]
    [InlineData(0.4, "1s")]    // under a second still to go: rounded up
    [InlineData(45, "45s")]
    [InlineData(65, "1m05s")]
    [InlineData(3599, "59m59s")]
    [InlineData(7380, "2h03m")]
    public void Durations_read_at_a_glance(double seconds, string expected) =>
        Assert.Equal(expected, ProgressText.Duration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public async Task A_recalculation_counts_the_steps_the_worker_finished_against_the_fan_out_begin_fixed()
    {
        var progress = new RecalculationProgress(publishes: true);
        Assert.Equal("Recalculating credit for 2026-10: shards 0/?, reduce 0/?, publish 0/?", ProgressText.Recalculation(new YearMonth(2026, 10), progress.Now));

        // A roll-forward of an earlier run's publish, before Begin, is not this run's progress.
        await progress.ObserveAsync(nameof(PublishCreditRange), null, null);
        await progress.ObserveAsync(nameof(BeginRecalculation), null, new BeginResult("r", "h", 7, Shards: 8, ReduceRanges: 4, PublishRanges: 2));
        for (var i = 0; i < 3; i++) await progress.ObserveAsync(nameof(ComputeCreditShard), null, null);
        Assert.Equal("Recalculating credit for 2026-10: shards 3/8, reduce 0/4, publish 0/2", ProgressText.Recalculation(new YearMonth(2026, 10), progress.Now));

        for (var i = 0; i < 5; i++) await progress.ObserveAsync(nameof(ComputeCreditShard), null, null);
        await progress.ObserveAsync(nameof(ReduceCreditRange), null, null);
        await progress.ObserveAsync(nameof(PublishCreditRange), null, null);
        Assert.Equal("Recalculating credit for 2026-10: shards 8/8, reduce 1/4, publish 1/2", ProgressText.Recalculation(new YearMonth(2026, 10), progress.Now));
    }

    [Fact]
    public async Task A_scenario_shows_no_publish_and_each_finished_step_is_announced()
    {
        var progress = new RecalculationProgress(publishes: false);
        var seen = new List<string>();
        progress.Changed += now => seen.Add(ProgressText.Recalculation(new YearMonth(2026, 10), now));
        await progress.ObserveAsync(nameof(BeginRecalculation), null, new BeginResult("r", "h", 7, 2, 1, 1));
        await progress.ObserveAsync(nameof(ComputeCreditShard), null, null);
        await progress.ObserveAsync(nameof(FindInterruptedPublish), null, null); // not a counted step: no announcement
        Assert.Equal(["Recalculating credit for 2026-10: shards 0/2, reduce 0/1", "Recalculating credit for 2026-10: shards 1/2, reduce 0/1"], seen);
    }
}
