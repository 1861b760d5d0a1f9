using Attribution.Core.Domain;
using Attribution.Core.Recalculation.Snapshots;
using Attribution.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Attribution.Core.Recalculation;

public enum RunStatus
{
    Running,
    Succeeded,
    Failed,

    /// <summary>Publishing its snapshot to the tables (over <see cref="RecalculationRun.BaseRunId"/>); the next start rolls it forward.</summary>
    Publishing,
}

/// <summary>Rows a publish wrote (upserted) and removed in one published table.</summary>
public sealed record TablePublishCount(string Table, long Written, long Removed);

/// <summary>A RecalculationRuns row.</summary>
public sealed record RecalculationRun(
    YearMonth AsOf,
    string RunId,
    RunStatus Status,
    DateTimeOffset StartedAt,
    DateTimeOffset? CompletedAt,
    int Partners,
    long UsageRows,
    string RulesVersion,
    bool Published,
    string? Scenario,
    string? Error)
{
    /// <summary>The rules text when short enough for a table property; <see cref="RulesHash"/> always names them.</summary>
    public string? RulesJson { get; init; }

    /// <summary>SHA-256 of the exact rules the run used (stored in blob storage by <see cref="RulesStore"/>).</summary>
    public string? RulesHash { get; init; }

    /// <summary>The committed records version the run read; its evidence is explained from exactly those records.</summary>
    public long RecordsVersion { get; init; }

    /// <summary>How the run's snapshot is split into publish ranges (0: a run from before snapshots).</summary>
    public int PublishRanges { get; init; }

    public int WindowMonths { get; init; }

    /// <summary>The run that was published when this one started publishing (what its publish diffed against).</summary>
    public string? BaseRunId { get; init; }

    public long RowsWritten { get; init; }
    public long RowsRemoved { get; init; }
    public IReadOnlyList<TablePublishCount> PublishCounts { get; init; } = [];
}

/// <summary>What a publish needs: the run, the published run it diffs against (null: none), and the run's totals for the flip.</summary>
public sealed record PublishPlan(string RunId, YearMonth AsOf, string? BaseRunId, int PublishRanges, int WindowMonths, int Partners, long UsageRows);

/// <summary>The RecalculationRuns table: one row per run, and which run of an asOf is the published one.</summary>
public sealed class RunStore(StorageAccount storage, TimeProvider? timeProvider = null)
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private TableClient Runs => storage.Table(TableNames.RecalculationRuns);

    private static string CountProperty(string table, string what) => char.ToLowerInvariant(table[0]) + table[1..] + what;

    /// <summary>Records the run as Running with what it reads (a retried Begin keeps the first row).</summary>
    public async Task BeginAsync(RecalculationRequest request, RunManifest manifest, int windowMonths, string rulesVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(manifest);
        var existing = await Runs.GetEntityIfExistsAsync<TableEntity>(request.AsOf.ToString(), request.RunId, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (existing.HasValue) return;
        await Runs.UpsertEntityAsync(new TableEntity(request.AsOf.ToString(), request.RunId)
        {
            ["status"] = nameof(RunStatus.Running),
            ["startedAt"] = _time.GetUtcNow(),
            ["rulesVersion"] = rulesVersion,
            ["rulesHash"] = manifest.RulesHash,
            // A convenience copy; the blob by hash is authoritative (a property holds at most 32K characters).
            ["rulesJson"] = request.RulesJson.Length <= 30_000 ? request.RulesJson : null,
            ["recordsVersion"] = manifest.RecordsVersion,
            ["published"] = false,
            ["scenario"] = request.Scenario,
            ["shards"] = manifest.Shards,
            ["reduceRanges"] = manifest.ReduceRanges,
            ["publishRanges"] = manifest.PublishRanges,
            ["windowMonths"] = windowMonths,
            ["partners"] = 0,
            ["usageRows"] = 0L,
        }, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Marks the run Publishing over the asOf's currently published run, before the first table write, and returns
    /// the plan. A retry (or a roll-forward) gets the plan first recorded.
    /// </summary>
    public async Task<PublishPlan> BeginPublishAsync(YearMonth asOf, string runId, int partners, long usageRows, CancellationToken cancellationToken = default)
    {
        var run = await GetAsync(asOf, runId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Run {runId} of {asOf} is not recorded.");
        if (run.Status == RunStatus.Publishing || (run.Status == RunStatus.Succeeded && run.Published)) return PlanOf(run);
        var published = (await ListAsync(asOf, cancellationToken).ConfigureAwait(false))
            .Where(r => r.Published).OrderByDescending(r => r.CompletedAt).FirstOrDefault();
        await Runs.UpdateEntityAsync(new TableEntity(asOf.ToString(), runId)
        {
            ["status"] = nameof(RunStatus.Publishing),
            ["baseRunId"] = published?.RunId,
            ["publishStartedAt"] = _time.GetUtcNow(),
            ["partners"] = partners,
            ["usageRows"] = usageRows,
        }, ETag.All, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
        return new PublishPlan(runId, asOf, published?.RunId, run.PublishRanges, run.WindowMonths, partners, usageRows);
    }

    private static PublishPlan PlanOf(RecalculationRun run) =>
        new(run.RunId, run.AsOf, run.BaseRunId, run.PublishRanges, run.WindowMonths, run.Partners, run.UsageRows);

    /// <summary>A run of the asOf that began publishing and never finished (other than <paramref name="exceptRunId"/>).</summary>
    public async Task<PublishPlan?> InterruptedPublishAsync(YearMonth asOf, string? exceptRunId, CancellationToken cancellationToken = default)
    {
        var run = (await ListAsync(asOf, cancellationToken).ConfigureAwait(false))
            .Where(r => r.Status == RunStatus.Publishing && r.RunId != exceptRunId)
            .OrderBy(r => r.StartedAt).FirstOrDefault();
        return run is null ? null : PlanOf(run);
    }

    /// <summary>
    /// Marks the run Succeeded and the published run of its asOf, with its publish counts, and every other run not
    /// published — in one batch transaction on the asOf partition, so the switch is atomic. Idempotent.
    /// </summary>
    public async Task CompletePublishAsync(PublishPlan plan, IReadOnlyList<TablePublishCount> counts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(counts);
        var runs = await ListAsync(plan.AsOf, cancellationToken).ConfigureAwait(false);
        var self = runs.SingleOrDefault(r => r.RunId == plan.RunId)
            ?? throw new InvalidOperationException($"Run {plan.RunId} of {plan.AsOf} is not recorded.");
        if (self.Status == RunStatus.Succeeded && self.Published) return;
        var row = new TableEntity(plan.AsOf.ToString(), plan.RunId)
        {
            ["status"] = nameof(RunStatus.Succeeded),
            ["completedAt"] = _time.GetUtcNow(),
            ["partners"] = plan.Partners,
            ["usageRows"] = plan.UsageRows,
            ["published"] = true,
            ["rowsWritten"] = counts.Sum(c => c.Written),
            ["rowsRemoved"] = counts.Sum(c => c.Removed),
        };
        foreach (var c in counts)
        {
            row[CountProperty(c.Table, "Written")] = c.Written;
            row[CountProperty(c.Table, "Removed")] = c.Removed;
        }
        var actions = new List<TableTransactionAction> { new(TableTransactionActionType.UpdateMerge, row, ETag.All) };
        foreach (var run in runs)
            if (run.Published && run.RunId != plan.RunId)
                actions.Add(new(TableTransactionActionType.UpdateMerge, new TableEntity(plan.AsOf.ToString(), run.RunId) { ["published"] = false }, ETag.All));
        await Runs.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A scenario run (or any run that publishes nothing) is done.</summary>
    public async Task CompleteUnpublishedAsync(YearMonth asOf, string runId, int partners, long usageRows, CancellationToken cancellationToken = default) =>
        await Runs.UpdateEntityAsync(new TableEntity(asOf.ToString(), runId)
        {
            ["status"] = nameof(RunStatus.Succeeded),
            ["completedAt"] = _time.GetUtcNow(),
            ["partners"] = partners,
            ["usageRows"] = usageRows,
            ["published"] = false,
        }, ETag.All, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Records why a run failed. A run that had begun publishing stays Publishing (with the error), so the next
    /// start for its asOf rolls its publish forward instead of leaving the tables half-written.
    /// </summary>
    public async Task FailAsync(RunFailure failure, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var run = await GetAsync(failure.AsOf, failure.RunId, cancellationToken).ConfigureAwait(false);
        var error = failure.Error.Length > 4000 ? failure.Error[..4000] : failure.Error;
        if (run is { Status: RunStatus.Publishing } || run is { Status: RunStatus.Succeeded, Published: true })
        {
            await Runs.UpdateEntityAsync(new TableEntity(failure.AsOf.ToString(), failure.RunId) { ["error"] = error }, ETag.All, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
            return;
        }
        await Runs.UpsertEntityAsync(new TableEntity(failure.AsOf.ToString(), failure.RunId)
        {
            ["status"] = nameof(RunStatus.Failed),
            ["completedAt"] = _time.GetUtcNow(),
            ["error"] = error,
            ["published"] = false,
        }, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
    }

    public async Task<List<RecalculationRun>> ListAsync(YearMonth? asOf = null, CancellationToken cancellationToken = default)
    {
        var filter = asOf is not { } m ? null : TableClient.CreateQueryFilter($"PartitionKey eq {m.ToString()}");
        var list = new List<RecalculationRun>();
        await foreach (var e in Runs.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            list.Add(FromEntity(e));
        return list;
    }

    public async Task<RecalculationRun?> GetAsync(YearMonth asOf, string runId, CancellationToken cancellationToken = default)
    {
        var e = await Runs.GetEntityIfExistsAsync<TableEntity>(asOf.ToString(), runId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return e.HasValue ? FromEntity(e.Value!) : null;
    }

    /// <summary>The published run of an asOf, or of the latest asOf that has one.</summary>
    public async Task<RecalculationRun?> PublishedAsync(YearMonth? asOf, CancellationToken cancellationToken = default)
    {
        var filter = asOf is { } m
            ? TableClient.CreateQueryFilter($"PartitionKey eq {m.ToString()} and published eq {true}")
            : TableClient.CreateQueryFilter($"published eq {true}");
        RecalculationRun? best = null;
        await foreach (var e in Runs.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var run = FromEntity(e);
            if (best is null || run.AsOf > best.AsOf
                || (run.AsOf == best.AsOf && run.CompletedAt > best.CompletedAt)) best = run;
        }
        return best;
    }

    /// <summary>The latest successful run of a scenario (for an asOf, or any).</summary>
    public async Task<RecalculationRun?> LatestScenarioAsync(string scenario, YearMonth? asOf, CancellationToken cancellationToken = default)
    {
        var runs = await ListAsync(asOf, cancellationToken).ConfigureAwait(false);
        return runs.Where(r => r.Scenario == scenario && r.Status == RunStatus.Succeeded)
            .OrderByDescending(r => r.AsOf).ThenByDescending(r => r.CompletedAt).FirstOrDefault();
    }

    /// <summary>A RecalculationRuns row; its PartitionKey is the asOf (`yyyy-MM`), parsed here once.</summary>
    private static RecalculationRun FromEntity(TableEntity e) => new(
        YearMonth.TryParse(e.PartitionKey, out var asOf) ? asOf
            : throw new InvalidOperationException($"A {TableNames.RecalculationRuns} row has PartitionKey '{e.PartitionKey}', not a month in the form yyyy-MM."),
        e.RowKey,
        Enum.TryParse<RunStatus>(e.GetString("status"), out var s) ? s : RunStatus.Running,
        e.GetDateTimeOffset("startedAt") ?? default,
        e.GetDateTimeOffset("completedAt"),
        e.GetInt32("partners") ?? 0,
        e.GetInt64("usageRows") ?? 0,
        e.GetString("rulesVersion") ?? "",
        e.GetBoolean("published") ?? false,
        e.GetString("scenario"),
        e.GetString("error"))
    {
        RulesJson = e.GetString("rulesJson"),
        RulesHash = e.GetString("rulesHash"),
        RecordsVersion = e.GetInt64("recordsVersion") ?? 0,
        PublishRanges = e.GetInt32("publishRanges") ?? 0,
        WindowMonths = e.GetInt32("windowMonths") ?? 0,
        BaseRunId = e.GetString("baseRunId"),
        RowsWritten = e.GetInt64("rowsWritten") ?? 0,
        RowsRemoved = e.GetInt64("rowsRemoved") ?? 0,
        PublishCounts = CreditEntities.PublishedTables
            .Where(t => e.ContainsKey(CountProperty(t, "Written")))
            .Select(t => new TablePublishCount(t, e.GetInt64(CountProperty(t, "Written")) ?? 0, e.GetInt64(CountProperty(t, "Removed")) ?? 0))
            .ToList(),
    };
}
