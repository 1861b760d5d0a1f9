using Attribution.Core.Domain;
using Attribution.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Attribution.Core.Recalculation;

public enum RunStatus
{
    Running,
    Succeeded,
    Failed,
}

/// <summary>A RecalculationRuns row.</summary>
public sealed record RecalculationRun(
    string AsOf,
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
    public string? RulesJson { get; init; }

    /// <summary>The committed records version the run read; its evidence is explained from exactly those records.</summary>
    public long RecordsVersion { get; init; }
}

/// <summary>The RecalculationRuns table: one row per run, and which run of an asOf is the published one.</summary>
public sealed class RunStore(StorageAccount storage, TimeProvider? timeProvider = null)
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private TableClient Runs => storage.Table(TableNames.RecalculationRuns);

    /// <summary>Records the run as Running; returns the records version it reads (a retried Begin keeps the first).</summary>
    public async Task<long> BeginAsync(RecalculationRequest request, string rulesVersion, long recordsVersion, CancellationToken cancellationToken = default)
    {
        // A retried Begin keeps the first startedAt and records version.
        var existing = await Runs.GetEntityIfExistsAsync<TableEntity>(request.AsOf, request.RunId, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (existing.HasValue) return existing.Value!.GetInt64("recordsVersion") ?? recordsVersion;
        await Runs.UpsertEntityAsync(new TableEntity(request.AsOf, request.RunId)
        {
            ["status"] = nameof(RunStatus.Running),
            ["startedAt"] = _time.GetUtcNow(),
            ["rulesVersion"] = rulesVersion,
            ["published"] = false,
            ["scenario"] = request.Scenario,
            ["shards"] = request.ShardCount,
            // The exact rules, so evidence for this run is explained with the rules that produced it.
            ["rulesJson"] = request.RulesJson.Length <= 30_000 ? request.RulesJson : null,
            ["partners"] = 0,
            ["usageRows"] = 0L,
            ["recordsVersion"] = recordsVersion,
        }, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
        return recordsVersion;
    }

    /// <summary>
    /// Marks the run Succeeded; when publishing, makes it the published run of its asOf and every earlier run
    /// not published — in one batch transaction on the asOf partition, so the switch is atomic.
    /// </summary>
    public async Task CompleteAsync(CompleteWork work, CancellationToken cancellationToken = default)
    {
        var actions = new List<TableTransactionAction>
        {
            new(TableTransactionActionType.UpdateMerge, new TableEntity(work.AsOf, work.RunId)
            {
                ["status"] = nameof(RunStatus.Succeeded),
                ["completedAt"] = _time.GetUtcNow(),
                ["partners"] = work.Partners,
                ["usageRows"] = work.UsageRows,
                ["published"] = work.Publish,
            }, ETag.All),
        };
        if (work.Publish)
        {
            foreach (var run in await ListAsync(work.AsOf, cancellationToken).ConfigureAwait(false))
            {
                if (run.Published && run.RunId != work.RunId)
                    actions.Add(new(TableTransactionActionType.UpdateMerge, new TableEntity(work.AsOf, run.RunId) { ["published"] = false }, ETag.All));
            }
        }
        await Runs.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
    }

    public async Task FailAsync(RunFailure failure, CancellationToken cancellationToken = default) =>
        await Runs.UpsertEntityAsync(new TableEntity(failure.AsOf, failure.RunId)
        {
            ["status"] = nameof(RunStatus.Failed),
            ["completedAt"] = _time.GetUtcNow(),
            ["error"] = failure.Error.Length > 4000 ? failure.Error[..4000] : failure.Error,
            ["published"] = false,
        }, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);

    public async Task<List<RecalculationRun>> ListAsync(string? asOf = null, CancellationToken cancellationToken = default)
    {
        var filter = asOf is null ? null : TableClient.CreateQueryFilter($"PartitionKey eq {asOf}");
        var list = new List<RecalculationRun>();
        await foreach (var e in Runs.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            list.Add(FromEntity(e));
        return list;
    }

    public async Task<RecalculationRun?> GetAsync(string asOf, string runId, CancellationToken cancellationToken = default)
    {
        var e = await Runs.GetEntityIfExistsAsync<TableEntity>(asOf, runId, cancellationToken: cancellationToken).ConfigureAwait(false);
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
            if (best is null || string.CompareOrdinal(run.AsOf, best.AsOf) > 0
                || (run.AsOf == best.AsOf && run.CompletedAt > best.CompletedAt)) best = run;
        }
        return best;
    }

    /// <summary>The latest successful run of a scenario (for an asOf, or any).</summary>
    public async Task<RecalculationRun?> LatestScenarioAsync(string scenario, YearMonth? asOf, CancellationToken cancellationToken = default)
    {
        var runs = await ListAsync(asOf?.ToString(), cancellationToken).ConfigureAwait(false);
        return runs.Where(r => r.Scenario == scenario && r.Status == RunStatus.Succeeded)
            .OrderByDescending(r => r.AsOf, StringComparer.Ordinal).ThenByDescending(r => r.CompletedAt).FirstOrDefault();
    }

    private static RecalculationRun FromEntity(TableEntity e) => new(
        e.PartitionKey,
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
        RecordsVersion = e.GetInt64("recordsVersion") ?? 0,
    };
}
