using System.Diagnostics;
using System.Text.Json;
using Attribution.Core.Credit;
using Attribution.Core.Domain;
using Attribution.Core.Rules;
using Attribution.Core.Storage;
using Microsoft.DurableTask;

namespace Attribution.Core.Recalculation;

/// <summary>
/// The work of each recalculation step. Every step is idempotent (overwrites by key), so the Durable Task
/// Framework may retry or replay it after a crash and the run still ends with the same results.
/// Shard partials go to blobs between the fan-out and the fan-in: activities return only summaries.
/// </summary>
public sealed class RecalculationActivities(StorageAccount storage, TimeProvider? timeProvider = null)
{
    private readonly RunStore _runs = new(storage, timeProvider);
    private readonly ResultStore _results = new(storage);
    private readonly RecordStore _records = new(storage);

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static string ShardBlobName(string runId, int shard) => $"{runId}/shards/{shard:D3}.json";

    /// <summary>Begins the run and fixes the records version every shard (and later its evidence) reads.</summary>
    public async Task<long> BeginAsync(RecalculationRequest request, CancellationToken cancellationToken = default)
    {
        await storage.EnsureCreatedAsync().ConfigureAwait(false);
        var rules = CreditRulesLoader.Parse(request.RulesJson);
        var records = await _records.LatestAsync(cancellationToken).ConfigureAwait(false);
        return await _runs.BeginAsync(request, rules.RulesVersion, records.Version, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ShardSummary> ComputeShardAsync(ShardWork work, CancellationToken cancellationToken = default)
    {
        var rules = CreditRulesLoader.Parse(work.RulesJson);
        var asOf = YearMonth.Parse(work.AsOf);
        var clock = Stopwatch.StartNew();

        var records = await _records.AtAsync(work.RecordsVersion, cancellationToken).ConfigureAwait(false);
        var partners = records.GlobalPartnerMapAsync(cancellationToken);
        var buckets = RecordStore.BucketsOfShard(work.Shard, work.ShardCount, records.BucketCount).ToList();
        var usage = buckets.Select(b => records.UsageAsync(b, rules.WindowStart(asOf), asOf, cancellationToken)).ToList();
        var associations = buckets.Select(b => records.AssociationsAsync(b, cancellationToken)).ToList();
        var dpor = buckets.Select(b => records.DporEventsAsync(b, cancellationToken)).ToList();
        await Task.WhenAll(usage.Cast<Task>().Concat(associations).Concat(dpor).Append(partners)).ConfigureAwait(false);
        var input = new CreditInput
        {
            AsOf = asOf,
            Rules = rules,
            Usage = usage.SelectMany(t => t.Result).ToList(),
            Associations = associations.SelectMany(t => t.Result).ToList(),
            DporEvents = dpor.SelectMany(t => t.Result).ToList(),
            GlobalPartnerOf = await partners.ConfigureAwait(false),
        };
        var readMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var shard = CreditEngine.ComputeShard(input);
        var computeMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var blob = storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer).GetBlobClient(ShardBlobName(work.RunId, work.Shard));
        await blob.UploadAsync(BinaryData.FromObjectAsJson(shard, Json), overwrite: true, cancellationToken).ConfigureAwait(false);
        var writeMs = clock.Elapsed.TotalMilliseconds;

        return new ShardSummary(work.Shard, input.Usage.Count, input.Associations.Count, input.DporEvents.Count, shard.Partners.Count, readMs, computeMs, writeMs);
    }

    public async Task<StageSummary> StageAsync(StageWork work, CancellationToken cancellationToken = default)
    {
        var rules = CreditRulesLoader.Parse(work.RulesJson);
        var asOf = YearMonth.Parse(work.AsOf);
        var clock = Stopwatch.StartNew();
        var container = storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer);
        var shards = await Task.WhenAll(Enumerable.Range(0, work.ShardCount).Select(async i =>
        {
            var content = await container.GetBlobClient(ShardBlobName(work.RunId, i)).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return content.Value.Content.ToObjectFromJson<ShardCredit>(Json)!;
        })).ConfigureAwait(false);
        var readMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var results = CreditEngine.Finish(shards, rules, asOf);
        var computeMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var staged = await _results.StageAsync(work.RunId, work.AsOf, results, cancellationToken).ConfigureAwait(false);
        var writeMs = clock.Elapsed.TotalMilliseconds;
        return new StageSummary(results.Partners, results.GlobalPartners, results.UsageRowsInWindow, rules.WindowMonths, staged, readMs, computeMs, writeMs);
    }

    /// <summary>Publishes (unless a scenario) and records the run as Succeeded; drops snapshots no reader can reach.</summary>
    public async Task<PublishSummary> CompleteAsync(CompleteWork work, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        long written = 0, removed = 0;
        if (work.Publish)
        {
            (written, removed) = await _results.PublishAsync(work.RunId, YearMonth.Parse(work.AsOf), work.WindowMonths, cancellationToken).ConfigureAwait(false);
        }
        await _runs.CompleteAsync(work, cancellationToken).ConfigureAwait(false);
        if (work.Publish) await CleanUpAsync(work.AsOf, cancellationToken).ConfigureAwait(false);
        return new PublishSummary(written, removed, clock.Elapsed.TotalMilliseconds);
    }

    public Task FailAsync(RunFailure failure, CancellationToken cancellationToken = default) => _runs.FailAsync(failure, cancellationToken);

    /// <summary>Keeps the published run and the one before it (a reader may have resolved it a moment ago).</summary>
    private async Task CleanUpAsync(string asOf, CancellationToken cancellationToken)
    {
        var runs = await _runs.ListAsync(asOf, cancellationToken).ConfigureAwait(false);
        var keep = runs.Where(r => r.Scenario is null && r.Status == RunStatus.Succeeded)
            .OrderByDescending(r => r.CompletedAt).Take(2).Select(r => r.RunId).ToHashSet(StringComparer.Ordinal);
        foreach (var old in runs.Where(r => r.Scenario is null && r.Status != RunStatus.Running && !keep.Contains(r.RunId)))
            await _results.DeleteStagedAsync(old.RunId, cancellationToken).ConfigureAwait(false);
    }
}

// The activities as Durable Task activities: registered by name on the local worker; the function app's
// [ActivityTrigger] functions call the same RecalculationActivities methods.

public sealed class BeginRecalculationActivity(RecalculationActivities activities) : TaskActivity<RecalculationRequest, long>
{
    public override Task<long> RunAsync(TaskActivityContext context, RecalculationRequest input) => activities.BeginAsync(input);
}

public sealed class ComputeCreditShardActivity(RecalculationActivities activities) : TaskActivity<ShardWork, ShardSummary>
{
    public override Task<ShardSummary> RunAsync(TaskActivityContext context, ShardWork input) => activities.ComputeShardAsync(input);
}

public sealed class StageCreditResultsActivity(RecalculationActivities activities) : TaskActivity<StageWork, StageSummary>
{
    public override Task<StageSummary> RunAsync(TaskActivityContext context, StageWork input) => activities.StageAsync(input);
}

public sealed class CompleteRecalculationActivity(RecalculationActivities activities) : TaskActivity<CompleteWork, PublishSummary>
{
    public override Task<PublishSummary> RunAsync(TaskActivityContext context, CompleteWork input) => activities.CompleteAsync(input);
}

public sealed class FailRecalculationActivity(RecalculationActivities activities) : TaskActivity<RunFailure, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, RunFailure input)
    {
        await activities.FailAsync(input).ConfigureAwait(false);
        return true;
    }
}
