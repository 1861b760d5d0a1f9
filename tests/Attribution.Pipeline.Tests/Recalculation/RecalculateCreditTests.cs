using Attribution.Domain;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Microsoft.DurableTask;

namespace Attribution.Pipeline.Tests.Recalculation;

/// <summary>
/// RecalculateCredit's control flow on a fake orchestration context, in milliseconds: which steps it calls, with what,
/// in which order, and what it does with their answers and failures. What the steps do to storage is tested on Azurite;
/// crash, takeover and replay on the real Durable Task Framework (Attribution.Functions.Tests).
/// </summary>
public sealed class RecalculateCreditTests
{
    private const string RunId = "2026-10-20261102T030000000-abcdef";
    private static readonly YearMonth AsOf = new(2026, 10);

    private static RecalculationRequest Request(string? scenario = null, TimeSpan? retention = null) =>
        new(RunId, AsOf, """{"rulesVersion":"test"}""", scenario, ShardCount: 0, ReduceRanges: 0, PublishRanges: 0,
            HistoryRetention: retention ?? TimeSpan.FromDays(2));

    /// <summary>
    /// The steps' answers: Begin fixes 3 shards, 2 reduce ranges and 4 publish ranges at records version 42. Shard s has
    /// 100·(s+1) usage rows in the window; reduce range r has 5+r partners and 1 global partner; publish range r writes
    /// r+1 PartnerCredit rows and removes 1, and writes 2 SubscriptionPartners rows. Timings: a shard reads 1 ms,
    /// computes 10 and writes 2; a reduce reads 3, computes 20 and writes 4; a publish range takes 8.
    /// </summary>
    private sealed class Steps
    {
        public const string RulesHash = "rules-hash";
        public const string BaseRunId = "2026-10-base";

        public PublishPlan? Interrupted { get; init; }

        public string? Refused { get; init; }

        /// <summary>Steps that fail (after their retries), by name and input.</summary>
        public Func<string, object?, bool> Fails { get; init; } = (_, _) => false;

        public Func<PurgeWork, int> Purge { get; init; } = _ => 3;

        public static BeginResult Begun => new(RunId, RulesHash, RecordsVersion: 42, Shards: 3, ReduceRanges: 2, PublishRanges: 4);

        public static PublishPlan PlanFor(PublishStart s) => new(s.RunId, s.AsOf, BaseRunId, PublishRanges: 4, WindowMonths: 12, s.Partners, s.UsageRows);

        public static string Error(string step) => $"{step}: storage at http://127.0.0.1:10000 unreachable";

        public object? Answer(string name, object? input)
        {
            if (Fails(name, input)) throw FakeOrchestrationContext.Failure(name, Error(name));
            return name switch
            {
                nameof(FindInterruptedPublish) => Interrupted,
                nameof(BeginRecalculation) => Begun,
                nameof(ComputeCreditShard) when input is ShardWork w => new ShardSummary(w.Shard, UsageRows: 1000, Associations: 50, DporEvents: 5,
                    Partners: 7, ReadMs: 1, ComputeMs: 10, WriteMs: 2, UsageRowsInWindow: 100 * (w.Shard + 1), SnapshotRows: 20),
                nameof(ReduceCreditRange) when input is ReduceWork w => new ReduceSummary(w.Range, Partners: 5 + w.Range, GlobalPartners: 1,
                    SnapshotRows: 30, ReadMs: 3, ComputeMs: 20, WriteMs: 4),
                nameof(BeginPublish) when input is PublishStart s => new PublishTransition(PlanFor(s), Refused),
                nameof(PublishCreditRange) when input is PublishRangeWork w => new PublishRangeSummary(w.Range,
                    [new TablePublishCount(TableNames.SubscriptionPartners, 2, 0), new TablePublishCount(TableNames.PartnerCredit, w.Range + 1, 1)], Ms: 8),
                nameof(CompletePublish) or nameof(CompleteScenarioRun) or nameof(FailRecalculation) => true,
                nameof(PurgeRecalculationHistory) when input is PurgeWork p => Purge(p),
                _ => throw new InvalidOperationException($"Unexpected call {name}({input})"),
            };
        }
    }

    private static FakeOrchestrationContext Context(Steps steps) => new(steps.Answer) { Step = TimeSpan.FromMinutes(1) };

    /// <summary>Each wait of the orchestrator: a step's name, with ×n when it fanned out to n calls.</summary>
    private static string[] Flow(FakeOrchestrationContext context) =>
    [
        .. context.Batches.Select(b => b.Select(c => c.Name).Distinct().Single() + (b.Count > 1 ? $"×{b.Count}" : "")),
    ];

    private static T[] Inputs<T>(FakeOrchestrationContext context, string step) =>
        [.. context.Calls.Where(c => c.Name == step).Select(c => Assert.IsType<T>(c.Input))];

    private static readonly string[] PublishedFlow =
    [
        nameof(FindInterruptedPublish), nameof(BeginRecalculation), nameof(ComputeCreditShard) + "×3", nameof(ReduceCreditRange) + "×2",
        nameof(BeginPublish), nameof(PublishCreditRange) + "×4", nameof(CompletePublish), nameof(PurgeRecalculationHistory),
    ];

    [Fact]
    public void A_run_begins_then_fans_out_one_step_per_shard_reduce_range_and_publish_range_with_what_begin_fixed()
    {
        var context = Context(new Steps());
        context.Run(new RecalculateCredit(), Request());

        Assert.Equal(PublishedFlow, Flow(context));
        Assert.Equal(new InterruptedPublishQuery(AsOf, RunId), Inputs<InterruptedPublishQuery>(context, nameof(FindInterruptedPublish)).Single());
        Assert.Equal(Request(), Inputs<RecalculationRequest>(context, nameof(BeginRecalculation)).Single());
        Assert.Equal(
            [new ShardWork(RunId, AsOf, Steps.RulesHash, 0, 3, 42, 2, 4), new ShardWork(RunId, AsOf, Steps.RulesHash, 1, 3, 42, 2, 4), new ShardWork(RunId, AsOf, Steps.RulesHash, 2, 3, 42, 2, 4)],
            Inputs<ShardWork>(context, nameof(ComputeCreditShard)));
        Assert.Equal(
            [new ReduceWork(RunId, AsOf, Steps.RulesHash, 0, 2, 3, 4, 42), new ReduceWork(RunId, AsOf, Steps.RulesHash, 1, 2, 3, 4, 42)],
            Inputs<ReduceWork>(context, nameof(ReduceCreditRange)));

        // Publish: 5 + 6 partners and 100 + 200 + 300 usage rows; every range of the plan BeginPublish returned; then
        // the flip with each table's rows summed over the ranges (PartnerCredit 1+2+3+4 written, 4 removed).
        Assert.Equal(new PublishStart(RunId, AsOf, 11, 600), Inputs<PublishStart>(context, nameof(BeginPublish)).Single());
        var plan = new PublishPlan(RunId, AsOf, Steps.BaseRunId, 4, 12, 11, 600);
        Assert.Equal(Enumerable.Range(0, 4).Select(r => new PublishRangeWork(plan, r)), Inputs<PublishRangeWork>(context, nameof(PublishCreditRange)));
        var complete = Inputs<CompletePublishWork>(context, nameof(CompletePublish)).Single();
        Assert.Equal(plan, complete.Plan);
        Assert.Equal([new TablePublishCount(TableNames.PartnerCredit, 10, 4), new TablePublishCount(TableNames.SubscriptionPartners, 8, 0)], complete.Counts);
    }

    [Fact]
    public void Every_step_of_the_run_is_retried_before_it_counts_as_failed()
    {
        var context = Context(new Steps());
        context.Run(new RecalculateCredit(), Request());

        Assert.All(context.Calls.Where(c => c.Name != nameof(PurgeRecalculationHistory)),
            c => Assert.Equal((c.Name, 4), (c.Name, c.Options?.Retry?.Policy?.MaxNumberOfAttempts)));
    }

    [Fact]
    public void The_outcome_sums_the_steps_and_times_compute_and_publish_on_the_orchestration_clock()
    {
        var context = Context(new Steps());
        var outcome = context.Run(new RecalculateCredit(), Request());

        // Compute 3 × 10 + 2 × 20 ms; storage 3 × (1 + 2) + 2 × (3 + 4) + 4 × 8 ms. Compute is Begin, shards and
        // reduce (3 waits of a minute on the fake's clock); publish is BeginPublish, ranges and the flip (3 more).
        Assert.Equal(new RecalculationOutcome(RunId, AsOf, Scenario: null, Published: true, Partners: 11, GlobalPartners: 2, UsageRows: 600,
            ComputeMs: 70, StorageMs: 55, RowsPublished: 18, RowsRemoved: 4, RecordsVersion: 42, RolledForward: null, InstancesPurged: 3,
            ComputeSeconds: 180, PublishSeconds: 180), outcome);
    }

    [Theory]
    [InlineData(nameof(FindInterruptedPublish))]
    [InlineData(nameof(BeginRecalculation))]
    [InlineData(nameof(ComputeCreditShard))]
    [InlineData(nameof(ReduceCreditRange))]
    [InlineData(nameof(BeginPublish))]
    [InlineData(nameof(PublishCreditRange))]
    [InlineData(nameof(CompletePublish))]
    public void A_failing_step_ends_the_run_failed_with_its_error_and_fails_the_orchestration(string step)
    {
        // Of a fan-out, one call fails; the others succeed.
        var context = Context(new Steps
        {
            Fails = (name, input) => name == step && input switch
            {
                ShardWork w => w.Shard == 1,
                ReduceWork w => w.Range == 1,
                PublishRangeWork w => w.Range == 2,
                _ => true,
            },
        });

        var e = Assert.Throws<TaskFailedException>(() => context.Run(new RecalculateCredit(), Request()));

        Assert.Equal(Steps.Error(step), e.FailureDetails.ErrorMessage);
        var upToFailure = PublishedFlow.TakeWhile(b => !b.StartsWith(step, StringComparison.Ordinal)).Append(PublishedFlow.First(b => b.StartsWith(step, StringComparison.Ordinal)));
        Assert.Equal([.. upToFailure, nameof(FailRecalculation)], Flow(context));
        Assert.Equal(new RunFailure(RunId, AsOf, Steps.Error(step)), Inputs<RunFailure>(context, nameof(FailRecalculation)).Single());
        Assert.Single(context.Logs.Entries, l => l.EventId == 2108 && l.Message.EndsWith(Steps.Error(step), StringComparison.Ordinal));
    }

    [Fact]
    public void A_publish_begin_refuses_ends_the_run_failed_with_the_reason_and_publishes_nothing()
    {
        const string why = "superseded by the newer run 2026-10-newer (published)";
        var context = Context(new Steps { Refused = why });

        var e = Assert.Throws<RunNotPublishedException>(() => context.Run(new RecalculateCredit(), Request()));

        var reason = $"Run {RunId} was not published: {why}.";
        Assert.Equal(reason, e.Message);
        Assert.Equal([.. PublishedFlow.Take(5), nameof(FailRecalculation)], Flow(context));
        Assert.Equal(new RunFailure(RunId, AsOf, reason), Inputs<RunFailure>(context, nameof(FailRecalculation)).Single());
    }

    private static readonly PublishPlan InterruptedPlan = new("2026-10-interrupted", AsOf, Steps.BaseRunId, PublishRanges: 5, WindowMonths: 12, Partners: 9, UsageRows: 500);

    [Fact]
    public void An_interrupted_publish_of_the_month_is_finished_first_then_the_run_computes_and_publishes_over_it()
    {
        var context = Context(new Steps { Interrupted = InterruptedPlan });
        var outcome = context.Run(new RecalculateCredit(), Request());

        // The interrupted run's 5 ranges and its flip, before this run begins.
        Assert.Equal(
        [
            nameof(FindInterruptedPublish), nameof(PublishCreditRange) + "×5", nameof(CompletePublish),
            .. PublishedFlow.Skip(1),
        ], Flow(context));
        Assert.Equal(Enumerable.Range(0, 5).Select(r => new PublishRangeWork(InterruptedPlan, r)), Inputs<PublishRangeWork>(context, nameof(PublishCreditRange)).Take(5));
        var rolled = Inputs<CompletePublishWork>(context, nameof(CompletePublish))[0];
        Assert.Equal(InterruptedPlan, rolled.Plan);
        Assert.Equal([new TablePublishCount(TableNames.PartnerCredit, 15, 5), new TablePublishCount(TableNames.SubscriptionPartners, 10, 0)], rolled.Counts);

        // The outcome names the rolled-forward run; its rows count as this run's own publish only.
        Assert.Equal(InterruptedPlan.RunId, outcome.RolledForward);
        Assert.Equal((true, 18L, 4L), (outcome.Published, outcome.RowsPublished, outcome.RowsRemoved));
        Assert.Single(context.Logs.Entries, l => l.EventId == 2101 && l.Message.Contains(InterruptedPlan.RunId, StringComparison.Ordinal));
    }

    [Fact]
    public void A_roll_forward_that_fails_again_fails_the_run_before_it_begins()
    {
        var context = Context(new Steps
        {
            Interrupted = InterruptedPlan,
            Fails = (_, input) => input is PublishRangeWork { Range: 3 } w && w.Plan == InterruptedPlan,
        });

        Assert.Throws<TaskFailedException>(() => context.Run(new RecalculateCredit(), Request()));

        Assert.Equal([nameof(FindInterruptedPublish), nameof(PublishCreditRange) + "×5", nameof(FailRecalculation)], Flow(context));
        Assert.Equal(new RunFailure(RunId, AsOf, Steps.Error(nameof(PublishCreditRange))), Inputs<RunFailure>(context, nameof(FailRecalculation)).Single());
    }

    [Fact]
    public void A_scenario_run_computes_and_keeps_its_results_without_rolling_forward_or_publishing()
    {
        var context = Context(new Steps { Interrupted = InterruptedPlan }); // there to be ignored
        var outcome = context.Run(new RecalculateCredit(), Request("dpor-only"));

        Assert.Equal(
        [
            nameof(BeginRecalculation), nameof(ComputeCreditShard) + "×3", nameof(ReduceCreditRange) + "×2", nameof(CompleteScenarioRun),
            nameof(PurgeRecalculationHistory),
        ], Flow(context));
        Assert.Equal(new CompleteScenarioWork(RunId, AsOf, 11, 600), Inputs<CompleteScenarioWork>(context, nameof(CompleteScenarioRun)).Single());
        // Storage: 3 × (1 + 2) + 2 × (3 + 4) ms, no publish.
        Assert.Equal(new RecalculationOutcome(RunId, AsOf, Scenario: "dpor-only", Published: false, Partners: 11, GlobalPartners: 2, UsageRows: 600,
            ComputeMs: 70, StorageMs: 23, RowsPublished: 0, RowsRemoved: 0, RecordsVersion: 42, RolledForward: null, InstancesPurged: 3,
            ComputeSeconds: 180, PublishSeconds: 60), outcome);
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(0.0)] // everything finished before the purge
    public void A_run_ends_by_purging_instances_created_before_its_orchestration_time_less_the_retention(double days)
    {
        var context = Context(new Steps());
        var outcome = context.Run(new RecalculateCredit(), Request(retention: TimeSpan.FromDays(days)));

        // The purge is called after 7 waits, so at 7 minutes past the start on the fake's clock.
        var at = new DateTimeOffset(context.Start, TimeSpan.Zero).AddMinutes(7);
        Assert.Equal(new PurgeWork(at - TimeSpan.FromDays(days)), Inputs<PurgeWork>(context, nameof(PurgeRecalculationHistory)).Single());
        Assert.Equal(3, outcome.InstancesPurged);
    }

    [Fact]
    public void Without_a_retention_the_default_week_applies()
    {
        var context = Context(new Steps());
        context.Run(new RecalculateCredit(), Request() with { HistoryRetention = null });

        var at = new DateTimeOffset(context.Start, TimeSpan.Zero).AddMinutes(7);
        Assert.Equal(new PurgeWork(at - TimeSpan.FromDays(7)), Inputs<PurgeWork>(context, nameof(PurgeRecalculationHistory)).Single());
    }

    [Fact]
    public void A_negative_retention_never_purges()
    {
        var context = Context(new Steps());
        var outcome = context.Run(new RecalculateCredit(), Request(retention: TimeSpan.FromDays(-1)));

        Assert.Equal(PublishedFlow.SkipLast(1), Flow(context));
        Assert.Equal(0, outcome.InstancesPurged);
    }

    [Fact]
    public void A_failing_purge_leaves_the_run_published_reports_minus_one_and_is_said_and_counted()
    {
        using var swallowed = new CounterCapture(Telemetry.Name, SwallowedFailures.MetricName);
        var context = Context(new Steps { Fails = (name, _) => name == nameof(PurgeRecalculationHistory) });

        var outcome = context.Run(new RecalculateCredit(), Request());

        Assert.Equal(PublishedFlow, Flow(context));
        Assert.Equal((true, 18L, -1), (outcome.Published, outcome.RowsPublished, outcome.InstancesPurged));
        Assert.Single(context.Logs.Entries, l => l.EventId == 2109 && l.Message.EndsWith(Steps.Error(nameof(PurgeRecalculationHistory)), StringComparison.Ordinal));
        Assert.Equal(1, swallowed.Sum(SwallowedFailures.OperationTag, SwallowedFailures.HistoryPurge));
    }

    [Fact]
    public void A_published_run_a_scenario_and_a_failure_between_them_call_every_registered_step_and_nothing_else()
    {
        var called = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (steps, request) in new[]
        {
            (new Steps { Interrupted = InterruptedPlan }, Request()),
            (new Steps(), Request("what-if")),
            (new Steps { Refused = "superseded" }, Request()),
        })
        {
            var context = Context(steps);
            try
            {
                context.Run(new RecalculateCredit(), request);
            }
            catch (RunNotPublishedException)
            {
                // the third run's end
            }
            called.UnionWith(context.Calls.Select(c => c.Name));
        }

        Assert.Equal(RecalculationSteps.Activities.Select(t => t.Name).Order(StringComparer.Ordinal), called.Order(StringComparer.Ordinal));
    }
}
