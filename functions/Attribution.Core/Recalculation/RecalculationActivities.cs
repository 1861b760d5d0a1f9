using System.Diagnostics;
using Attribution.Core.Credit;
using Attribution.Core.Domain;
using Attribution.Core.Recalculation.Snapshots;
using Attribution.Core.Rules;
using Attribution.Core.Storage;
using Microsoft.DurableTask;

namespace Attribution.Core.Recalculation;

/// <summary>
/// The work of each recalculation step, each a thin step over the storage layer (Snapshots/*, RunStore). Every
/// step is idempotent (deterministic names, overwrite by key, plans recorded once), so the Durable Task Framework
/// may retry or replay it after a crash and the run still ends with the same results. Activities exchange only
/// small summaries; bulk data goes through blobs: no step holds more than one shard's records, one reduce range's
/// partials or one publish range of one table.
/// </summary>
public sealed class RecalculationActivities(StorageAccount storage, TimeProvider? timeProvider = null)
{
    private readonly RunStore _runs = new(storage, timeProvider);
    private readonly RunResults _results = new(storage);
    private readonly RulesStore _rules = new(storage);
    private readonly RecordStore _records = new(storage);
    private readonly SnapshotPublisher _publisher = new(storage);

    /// <summary>A run of this asOf that began publishing and never finished: the orchestration rolls it forward first.</summary>
    public async Task<PublishPlan?> FindInterruptedPublishAsync(InterruptedPublishQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await storage.EnsureCreatedAsync().ConfigureAwait(false);
        return await _runs.InterruptedPublishAsync(query.AsOf, query.RunId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Fixes what the run reads: the latest committed records version (and the ingestions in it), the rules by
    /// content hash, the fan-out; records them in the run's manifest and its RecalculationRuns row (Running).
    /// </summary>
    public async Task<BeginResult> BeginAsync(RecalculationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await storage.EnsureCreatedAsync().ConfigureAwait(false);
        var rules = CreditRulesLoader.Parse(request.RulesJson);
        var manifest = await _results.Snapshots.ReadManifestAsync(request.RunId, cancellationToken).ConfigureAwait(false);
        if (manifest is null)
        {
            var hash = await _rules.PutAsync(request.RulesJson, cancellationToken).ConfigureAwait(false);
            var records = await _records.LatestAsync(cancellationToken).ConfigureAwait(false);
            var ingestions = await records.IngestionIdsAsync(cancellationToken).ConfigureAwait(false);
            var fanOut = RecalculationSettings.FanOutFor(records.BucketedRows, records.BucketCount);
            manifest = await _results.Snapshots.WriteManifestOnceAsync(new RunManifest(
                request.RunId, request.AsOf, request.Scenario, hash, rules.RulesVersion, records.Version, ingestions,
                Positive(request.ShardCount, fanOut.Shards), Positive(request.ReduceRanges, fanOut.ReduceRanges),
                Positive(request.PublishRanges, fanOut.PublishRanges)), cancellationToken).ConfigureAwait(false);
        }
        await _runs.BeginAsync(request, manifest, rules.WindowMonths, rules.RulesVersion, cancellationToken).ConfigureAwait(false);
        return new BeginResult(request.RunId, manifest.RulesHash, manifest.RecordsVersion, manifest.Shards, manifest.ReduceRanges, manifest.PublishRanges);
    }

    private static int Positive(int value, int fallback) => value > 0 ? Math.Min(value, RecalculationSettings.MaxRanges) : fallback;

    /// <summary>Reads the shard's buckets at the run's version, computes, writes its snapshot rows and its partials.</summary>
    public async Task<ShardSummary> ComputeShardAsync(ShardWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var rules = await _rules.GetAsync(work.RulesHash, cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        var input = await _results.ReadShardInputAsync(work.RecordsVersion, work.Shard, work.ShardCount, rules, YearMonth.Parse(work.AsOf), cancellationToken).ConfigureAwait(false);
        var readMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var shard = CreditEngine.ComputeShard(input);
        var computeMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var rows = await _results.WriteShardAsync(work, shard, cancellationToken).ConfigureAwait(false);
        var writeMs = clock.Elapsed.TotalMilliseconds;
        return new ShardSummary(work.Shard, input.Usage.Count, input.Associations.Count, input.DporEvents.Count, shard.Partners.Count,
            readMs, computeMs, writeMs, shard.UsageRowsInWindow, rows);
    }

    /// <summary>Merges one partner range's partials from every shard and writes its PartnerCredit and GlobalPartnerCredit rows.</summary>
    public async Task<ReduceSummary> ReduceAsync(ReduceWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var rules = await _rules.GetAsync(work.RulesHash, cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        var partials = await _results.ReadReduceInputAsync(work, cancellationToken).ConfigureAwait(false);
        var readMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var results = CreditEngine.Finish(partials, rules, YearMonth.Parse(work.AsOf), RunResults.ReduceScope(work.Range, work.ReduceRanges));
        var computeMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var rows = await _results.WriteReduceAsync(work, results, cancellationToken).ConfigureAwait(false);
        return new ReduceSummary(work.Range, results.Partners, results.GlobalPartners, rows, readMs, computeMs, clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>Records the run as Publishing over the currently published run, before any table is written.</summary>
    public Task<PublishPlan> BeginPublishAsync(PublishStart start, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(start);
        return _runs.BeginPublishAsync(start.AsOf, start.RunId, start.Partners, start.UsageRows, cancellationToken);
    }

    /// <summary>Diffs one publish range against the base run and writes only what changed.</summary>
    public async Task<PublishRangeSummary> PublishRangeAsync(PublishRangeWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var clock = Stopwatch.StartNew();
        // A late message of an instance that ended (terminated, or finished by a later start's roll-forward) must not
        // write over what came after: only a run still Publishing is published.
        var run = await _runs.GetAsync(work.Plan.AsOf, work.Plan.RunId, cancellationToken).ConfigureAwait(false);
        if (run is not { Status: RunStatus.Publishing }) return new PublishRangeSummary(work.Range, [], clock.Elapsed.TotalMilliseconds, Skipped: true);
        var counts = await _publisher.PublishRangeAsync(work.Plan, work.Range, cancellationToken).ConfigureAwait(false);
        return new PublishRangeSummary(work.Range, counts, clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>The flip (one transaction on the asOf's RecalculationRuns partition), then the clean-up of files no reader can reach.</summary>
    public async Task CompletePublishAsync(CompletePublishWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        await _runs.CompletePublishAsync(work.Plan, work.Counts, cancellationToken).ConfigureAwait(false);
        await _results.CleanUpAsync(await _runs.ListAsync(work.Plan.AsOf, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A scenario run is done: its snapshot is kept apart, nothing is published.</summary>
    public async Task CompleteScenarioAsync(CompleteScenarioWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        await _runs.CompleteUnpublishedAsync(work.AsOf, work.RunId, work.Partners, work.UsageRows, cancellationToken).ConfigureAwait(false);
        await _results.CleanUpAsync(await _runs.ListAsync(work.AsOf, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    public Task FailAsync(RunFailure failure, CancellationToken cancellationToken = default) => _runs.FailAsync(failure, cancellationToken);
}

/// <summary>Purges finished orchestration instances (the task hub's instance and history rows).</summary>
public interface IRecalculationHistory
{
    /// <summary>Purges Completed, Failed and Terminated instances created before <paramref name="createdBefore"/>; returns how many.</summary>
    Task<int> PurgeAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken);
}

// The activities as Durable Task activities: registered by name on the local worker; the function app's
// [ActivityTrigger] functions call the same RecalculationActivities methods.

public sealed class FindInterruptedPublishActivity(RecalculationActivities activities) : TaskActivity<InterruptedPublishQuery, PublishPlan?>
{
    public override Task<PublishPlan?> RunAsync(TaskActivityContext context, InterruptedPublishQuery input) => activities.FindInterruptedPublishAsync(input);
}

public sealed class BeginRecalculationActivity(RecalculationActivities activities) : TaskActivity<RecalculationRequest, BeginResult>
{
    public override Task<BeginResult> RunAsync(TaskActivityContext context, RecalculationRequest input) => activities.BeginAsync(input);
}

public sealed class ComputeCreditShardActivity(RecalculationActivities activities) : TaskActivity<ShardWork, ShardSummary>
{
    public override Task<ShardSummary> RunAsync(TaskActivityContext context, ShardWork input) => activities.ComputeShardAsync(input);
}

public sealed class ReduceCreditRangeActivity(RecalculationActivities activities) : TaskActivity<ReduceWork, ReduceSummary>
{
    public override Task<ReduceSummary> RunAsync(TaskActivityContext context, ReduceWork input) => activities.ReduceAsync(input);
}

public sealed class BeginPublishActivity(RecalculationActivities activities) : TaskActivity<PublishStart, PublishPlan>
{
    public override Task<PublishPlan> RunAsync(TaskActivityContext context, PublishStart input) => activities.BeginPublishAsync(input);
}

public sealed class PublishCreditRangeActivity(RecalculationActivities activities) : TaskActivity<PublishRangeWork, PublishRangeSummary>
{
    public override Task<PublishRangeSummary> RunAsync(TaskActivityContext context, PublishRangeWork input) => activities.PublishRangeAsync(input);
}

public sealed class CompletePublishActivity(RecalculationActivities activities) : TaskActivity<CompletePublishWork, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, CompletePublishWork input)
    {
        await activities.CompletePublishAsync(input).ConfigureAwait(false);
        return true;
    }
}

public sealed class CompleteScenarioRunActivity(RecalculationActivities activities) : TaskActivity<CompleteScenarioWork, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, CompleteScenarioWork input)
    {
        await activities.CompleteScenarioAsync(input).ConfigureAwait(false);
        return true;
    }
}

public sealed class FailRecalculationActivity(RecalculationActivities activities) : TaskActivity<RunFailure, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, RunFailure input)
    {
        await activities.FailAsync(input).ConfigureAwait(false);
        return true;
    }
}

public sealed class PurgeRecalculationHistoryActivity(IRecalculationHistory history) : TaskActivity<PurgeWork, int>
{
    public override Task<int> RunAsync(TaskActivityContext context, PurgeWork input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return history.PurgeAsync(input.CreatedBefore, CancellationToken.None);
    }
}
