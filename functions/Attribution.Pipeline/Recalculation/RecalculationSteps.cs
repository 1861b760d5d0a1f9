using System.Diagnostics;
using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attribution.Pipeline.Recalculation;

/// <summary>
/// The durable steps of <see cref="RecalculateCredit"/>: one class each, built by DI. Both hosts register this one
/// list (<see cref="AddRecalculation"/>): the local Durable Task worker by type, the function app through one thin
/// trigger per step named with <c>nameof</c> — so the orchestrator's calls, the worker and the app cannot drift apart.
/// </summary>
public static class RecalculationSteps
{
    /// <summary>Every activity the orchestrator calls; an activity's name is its type's name.</summary>
    public static readonly IReadOnlyList<Type> Activities =
    [
        typeof(FindInterruptedPublish), typeof(BeginRecalculation), typeof(ComputeCreditShard), typeof(ReduceCreditRange),
        typeof(BeginPublish), typeof(PublishCreditRange), typeof(CompletePublish), typeof(CompleteScenarioRun),
        typeof(FailRecalculation), typeof(PurgeRecalculationHistory),
    ];

    /// <summary>
    /// The orchestrator, its activities and the stores they stand on. The host registers a <see cref="StorageAccount"/>
    /// and an <see cref="IRecalculationHistory"/> (the task hub's instances, which only the host can reach).
    /// </summary>
    public static IServiceCollection AddRecalculation(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RunStore>();
        services.TryAddSingleton<RunResults>();
        services.TryAddSingleton<RulesStore>();
        services.TryAddSingleton(RecordStoreOptions.Default);
        services.TryAddSingleton<RecordStore>();
        services.TryAddSingleton<SnapshotPublisher>();
        services.TryAddSingleton<IncentiveEligibilityMigration>();
        services.TryAddSingleton<InstanceStartGate>();
        services.TryAddTransient<RecalculateCredit>();
        // The history is the host's (the app's Durable client binding, made per call): resolved only when the step is
        // built, so a container validated at build (the worker in Development) does not ask for it up front.
        services.TryAddTransient(sp => new PurgeRecalculationHistory(sp.GetRequiredService<IRecalculationHistory>(), sp.GetRequiredService<ILogger<PurgeRecalculationHistory>>()));
        foreach (var activity in Activities) services.TryAddTransient(activity);
        return services;
    }
}

/// <summary>
/// A step of the recalculation. Every step is idempotent (deterministic names, overwrite by key, plans recorded
/// once), so the Durable Task Framework may retry or replay it after a crash and the run still ends with the same
/// results. Steps exchange only small summaries; bulk data goes through blobs: none holds more than one shard's
/// records, one reduce range's partials or one publish range of one table.
/// </summary>
public abstract class RecalculationStep<TInput, TOutput> : TaskActivity<TInput, TOutput>
{
    /// <summary>The Durable Task entry point (the local worker gives no cancellation).</summary>
    public sealed override Task<TOutput> RunAsync(TaskActivityContext context, TInput input) => RunAsync(input, CancellationToken.None);

    /// <summary>
    /// The step, in one trace span named after it (the Durable host's own spans say which orchestration called it);
    /// the function app's trigger passes the host's cancellation.
    /// </summary>
    public async Task<TOutput> RunAsync(TInput input, CancellationToken cancellationToken)
    {
        using var span = Telemetry.Source.StartActivity(GetType().Name);
        return await ExecuteAsync(input, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The step itself.</summary>
    protected abstract Task<TOutput> ExecuteAsync(TInput input, CancellationToken cancellationToken);
}

/// <summary>A run of this asOf that began publishing and never finished: the orchestration rolls it forward first.</summary>
public sealed class FindInterruptedPublish(StorageAccount storage, RunStore runs, ILogger<FindInterruptedPublish> logger) : RecalculationStep<InterruptedPublishQuery, PublishPlan?>
{
    private readonly ILogger _log = logger;

    protected override async Task<PublishPlan?> ExecuteAsync(InterruptedPublishQuery input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        await storage.EnsureCreatedAsync().ConfigureAwait(false);
        var interrupted = await runs.InterruptedPublishAsync(input.AsOf, input.RunId, cancellationToken).ConfigureAwait(false);
        if (interrupted is not null) _log.InterruptedPublishFound(input.RunId, input.AsOf, interrupted.RunId);
        return interrupted;
    }
}

/// <summary>
/// Fixes what the run reads: the latest committed records version (and the ingestions in it), the rules by
/// content hash, the fan-out (sized by the records unless set); records them in the run's manifest and its
/// RecalculationRuns row (Running).
/// </summary>
public sealed class BeginRecalculation(StorageAccount storage, RunStore runs, RunResults results, RulesStore rules, RecordStore records, ILogger<BeginRecalculation> logger)
    : RecalculationStep<RecalculationRequest, BeginResult>
{
    private readonly ILogger _log = logger;

    protected override async Task<BeginResult> ExecuteAsync(RecalculationRequest input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        Activity.Current?.SetTag("attribution.run_id", input.RunId);
        Activity.Current?.SetTag("attribution.as_of", input.AsOf);
        Activity.Current?.SetTag("attribution.storage", storage.Blobs.Uri.Authority);
        var clock = Stopwatch.StartNew();
        await storage.EnsureCreatedAsync().ConfigureAwait(false);
        var parsed = CreditRulesLoader.Parse(input.RulesJson);
        var manifest = await results.Snapshots.ReadManifestAsync(input.RunId, cancellationToken).ConfigureAwait(false);
        if (manifest is null)
        {
            var hash = await rules.PutAsync(input.RulesJson, cancellationToken).ConfigureAwait(false);
            var latest = await records.LatestAsync(cancellationToken).ConfigureAwait(false);
            var ingestions = await latest.IngestionIdsAsync(cancellationToken).ConfigureAwait(false);
            var fanOut = RecalculationSettings.FanOutFor(latest.BucketedRows, latest.BucketCount);
            manifest = await results.Snapshots.WriteManifestOnceAsync(new RunManifest(
                input.RunId, input.AsOf, input.Scenario, hash, parsed.RulesVersion, latest.Version, ingestions,
                Positive(input.ShardCount, fanOut.Shards), Positive(input.ReduceRanges, fanOut.ReduceRanges),
                Positive(input.PublishRanges, fanOut.PublishRanges)), cancellationToken).ConfigureAwait(false);
        }
        await results.WriteCertificationsAsync(manifest, parsed, cancellationToken).ConfigureAwait(false);
        await runs.BeginAsync(input, manifest, parsed.WindowMonths, parsed.RulesVersion, cancellationToken).ConfigureAwait(false);
        _log.Begun(input.RunId, input.AsOf, manifest.RecordsVersion, parsed.RulesVersion, manifest.Shards, manifest.ReduceRanges, manifest.PublishRanges, clock.Elapsed.TotalMilliseconds);
        return new BeginResult(input.RunId, manifest.RulesHash, manifest.RecordsVersion, manifest.Shards, manifest.ReduceRanges, manifest.PublishRanges);
    }

    private static int Positive(int value, int fallback) => value > 0 ? Math.Min(value, RecalculationSettings.MaxRanges) : fallback;
}

/// <summary>Reads the shard's buckets at the run's version, computes, writes its snapshot rows and its partials.</summary>
public sealed class ComputeCreditShard(RunResults results, RulesStore rules, ILogger<ComputeCreditShard> logger) : RecalculationStep<ShardWork, ShardSummary>
{
    private readonly ILogger _log = logger;

    protected override async Task<ShardSummary> ExecuteAsync(ShardWork input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var credit = await rules.GetAsync(input.RulesHash, cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        var shardInput = await results.ReadShardInputAsync(input.RecordsVersion, input.Shard, input.ShardCount, credit, input.AsOf, cancellationToken).ConfigureAwait(false);
        var readMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var shard = CreditEngine.ComputeShard(shardInput);
        var computeMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var rows = await results.WriteShardAsync(input, shard, cancellationToken).ConfigureAwait(false);
        var writeMs = clock.Elapsed.TotalMilliseconds;
        _log.ShardComputed(input.RunId, input.Shard, input.ShardCount, shardInput.Usage.Count, shard.Partners.Count, readMs, computeMs, writeMs);
        return new ShardSummary(input.Shard, shardInput.Usage.Count, shardInput.Associations.Count, shardInput.DporEvents.Count, shard.Partners.Count,
            readMs, computeMs, writeMs, shard.UsageRowsInWindow, rows);
    }
}

/// <summary>Merges one partner range's partials from every shard and writes its PartnerCredit, GlobalPartnerCredit and PartnerCapabilityScore rows.</summary>
public sealed class ReduceCreditRange(RunResults results, RulesStore rules, ILogger<ReduceCreditRange> logger) : RecalculationStep<ReduceWork, ReduceSummary>
{
    private readonly ILogger _log = logger;

    protected override async Task<ReduceSummary> ExecuteAsync(ReduceWork input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var credit = await rules.GetAsync(input.RulesHash, cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        var partials = await results.ReadReduceInputAsync(input, cancellationToken).ConfigureAwait(false);
        var readMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var scope = RunResults.ReduceScope(input.Range, input.ReduceRanges);
        // The routed tenant-level rows go straight to the snapshot; the merge needs only the per-partner partials.
        var finished = CreditEngine.Finish(partials.Select(p => p.Credit with { SubscriptionPartners = [], IncentiveEligibility = [] }), credit, input.AsOf, scope);
        var computeMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var scores = await results.ScoreRangeAsync(input, credit, [.. partials.Select(p => p.Credit)], finished, cancellationToken).ConfigureAwait(false);
        computeMs += clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var (rows, evidence) = await results.WriteReduceAsync(input, finished, scores, partials, cancellationToken).ConfigureAwait(false);
        var writeMs = clock.Elapsed.TotalMilliseconds;
        _log.RangeReduced(input.RunId, input.Range, input.ReduceRanges, finished.Partners, finished.GlobalPartners, readMs, computeMs, writeMs);
        return new ReduceSummary(input.Range, finished.Partners, finished.GlobalPartners, rows, readMs, computeMs, writeMs, scores.Count, evidence.Rows, evidence.Bytes);
    }
}

/// <summary>
/// Records the run as Publishing over the currently published run, before any table is written; refuses (and says
/// why) for a run that can no longer publish, such as one a newer published run superseded.
/// </summary>
public sealed class BeginPublish(RunStore runs, IncentiveEligibilityMigration migration, ILogger<BeginPublish> logger) : RecalculationStep<PublishStart, PublishTransition>
{
    private readonly ILogger _log = logger;

    protected override async Task<PublishTransition> ExecuteAsync(PublishStart input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var clock = Stopwatch.StartNew();
        // Once per store: IncentiveEligibility rows from before they were keyed by asOf, before any publish diffs.
        if (await migration.EnsureAsync(cancellationToken).ConfigureAwait(false) is { } moved)
            _log.IncentiveEligibilityMigrated(moved.LegacyRowsRemoved, moved.RowsRewritten, string.Join(", ", moved.MonthsRewritten));
        var transition = await runs.BeginPublishAsync(input.AsOf, input.RunId, input.Partners, input.UsageRows, cancellationToken).ConfigureAwait(false);
        var plan = transition.Plan;
        if (transition.Refused is { } why) _log.PublishRefused(nameof(BeginPublish), plan.RunId, plan.AsOf, why);
        else _log.PublishBegun(plan.RunId, plan.AsOf, plan.BaseRunId ?? "no published run", clock.Elapsed.TotalMilliseconds);
        return transition;
    }
}

/// <summary>Diffs one publish range against the base run and writes only what changed.</summary>
public sealed class PublishCreditRange(RunStore runs, SnapshotPublisher publisher, ILogger<PublishCreditRange> logger) : RecalculationStep<PublishRangeWork, PublishRangeSummary>
{
    private readonly ILogger _log = logger;

    protected override async Task<PublishRangeSummary> ExecuteAsync(PublishRangeWork input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var clock = Stopwatch.StartNew();
        // A late message of an instance that ended (terminated, or finished by a later start's roll-forward) must not
        // write over what came after: only a run still Publishing is published.
        var run = await runs.GetAsync(input.Plan.AsOf, input.Plan.RunId, cancellationToken).ConfigureAwait(false);
        if (run is not { Status: RunStatus.Publishing })
        {
            _log.RangePublishSkipped(input.Plan.RunId, input.Range);
            return new PublishRangeSummary(input.Range, [], clock.Elapsed.TotalMilliseconds, Skipped: true);
        }
        var counts = await publisher.PublishRangeAsync(input.Plan, input.Range, cancellationToken).ConfigureAwait(false);
        _log.RangePublished(input.Plan.RunId, input.Range, input.Plan.PublishRanges, counts.Sum(c => c.Written), counts.Sum(c => c.Removed), clock.Elapsed.TotalMilliseconds);
        return new PublishRangeSummary(input.Range, counts, clock.Elapsed.TotalMilliseconds);
    }
}

/// <summary>The flip (one transaction on the asOf's RecalculationRuns partition), then the clean-up of files no reader can reach.</summary>
public sealed class CompletePublish(RunStore runs, RunResults results, ILogger<CompletePublish> logger) : RecalculationStep<CompletePublishWork, bool>
{
    private readonly ILogger _log = logger;

    protected override async Task<bool> ExecuteAsync(CompletePublishWork input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var clock = Stopwatch.StartNew();
        if (await runs.CompletePublishAsync(input.Plan, input.Counts, cancellationToken).ConfigureAwait(false) is { } why)
        {
            // A late or replayed flip of a run that is no longer publishing: the published run stays as it is.
            _log.PublishRefused(nameof(CompletePublish), input.Plan.RunId, input.Plan.AsOf, why);
            return false;
        }
        foreach (var table in input.Counts) _log.TablePublished(input.Plan.RunId, input.Plan.AsOf, table.Table, table.Written, table.Removed);
        _log.PublishCompleted(input.Plan.RunId, input.Plan.AsOf, clock.Elapsed.TotalMilliseconds);
        await results.CleanUpAsync(await runs.ListAsync(input.Plan.AsOf, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return true;
    }
}

/// <summary>A scenario run is done: its snapshot is kept apart, nothing is published.</summary>
public sealed class CompleteScenarioRun(RunStore runs, RunResults results, ILogger<CompleteScenarioRun> logger) : RecalculationStep<CompleteScenarioWork, bool>
{
    private readonly ILogger _log = logger;

    protected override async Task<bool> ExecuteAsync(CompleteScenarioWork input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var clock = Stopwatch.StartNew();
        if (await runs.CompleteUnpublishedAsync(input.AsOf, input.RunId, input.Partners, input.UsageRows, cancellationToken).ConfigureAwait(false) is { } why)
        {
            _log.PublishRefused(nameof(CompleteScenarioRun), input.RunId, input.AsOf, why);
            return false;
        }
        _log.ScenarioCompleted(input.RunId, input.AsOf, clock.Elapsed.TotalMilliseconds);
        await results.CleanUpAsync(await runs.ListAsync(input.AsOf, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return true;
    }
}

/// <summary>Records why a run failed, so RecalculationRuns never shows a dead run as Running.</summary>
public sealed class FailRecalculation(RunStore runs, ILogger<FailRecalculation> logger) : RecalculationStep<RunFailure, bool>
{
    private readonly ILogger _log = logger;

    protected override async Task<bool> ExecuteAsync(RunFailure input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        _log.RunFailed(input.RunId, input.AsOf, input.Error);
        if (await runs.FailAsync(input, cancellationToken).ConfigureAwait(false) is { } why)
        {
            _log.PublishRefused(nameof(FailRecalculation), input.RunId, input.AsOf, why);
            return false;
        }
        return true;
    }
}

/// <summary>Durable hygiene at the end of every recalculation: purges finished instances older than the retention.</summary>
public sealed class PurgeRecalculationHistory(IRecalculationHistory history, ILogger<PurgeRecalculationHistory> logger) : RecalculationStep<PurgeWork, int>
{
    private readonly ILogger _log = logger;

    protected override async Task<int> ExecuteAsync(PurgeWork input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var clock = Stopwatch.StartNew();
        var purged = await history.PurgeAsync(input.CreatedBefore, cancellationToken).ConfigureAwait(false);
        _log.HistoryPurged(purged, input.CreatedBefore, clock.Elapsed.TotalMilliseconds);
        return purged;
    }
}

/// <summary>Purges finished orchestration instances (the task hub's instance and history rows).</summary>
public interface IRecalculationHistory
{
    /// <summary>Purges Completed, Failed and Terminated instances created before <paramref name="createdBefore"/>; returns how many.</summary>
    Task<int> PurgeAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken);
}
