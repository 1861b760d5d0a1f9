using Attribution.Domain;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Pipeline.Storage;
using Azure;
using Azure.Data.Tables;

namespace Attribution.Pipeline.Recalculation;

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

    /// <summary>How the run's reduce was split (0: unknown); with <see cref="PublishRanges"/> it names a partner's explanation file.</summary>
    public int ReduceRanges { get; init; }

    public int WindowMonths { get; init; }

    /// <summary>The run that was published when this one started publishing (what its publish diffed against).</summary>
    public string? BaseRunId { get; init; }

    public long RowsWritten { get; init; }
    public long RowsRemoved { get; init; }
    public IReadOnlyList<TablePublishCount> PublishCounts { get; init; } = [];
}

/// <summary>What a publish needs: the run, the published run it diffs against (null: none), and the run's totals for the flip.</summary>
public sealed record PublishPlan(string RunId, YearMonth AsOf, string? BaseRunId, int PublishRanges, int WindowMonths, int Partners, long UsageRows);

/// <summary>A publish plan, and why the run may not publish (null: it may; the plan is then the one recorded).</summary>
public sealed record PublishTransition(PublishPlan Plan, string? Refused);

/// <summary>The RecalculationRuns table: one row per run, and which run of an asOf is the published one.</summary>
public sealed class RunStore(StorageAccount storage, TimeProvider timeProvider)
{
    private readonly TimeProvider _time = timeProvider;
    private TableClient Runs => storage.Table(TableNames.RecalculationRuns);

    private static string CountProperty(string table, string what) => char.ToLowerInvariant(table[0]) + table[1..] + what;

    /// <summary>Records the run as Running with what it reads (a retried Begin keeps the first row).</summary>
    public async Task BeginAsync(RecalculationRequest request, RunManifest manifest, int windowMonths, string rulesVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(manifest);
        var existing = await Runs.GetEntityIfExistsAsync<TableEntity>(request.AsOf.ToString(), request.RunId, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (existing.HasValue) return;
        var row = new TableEntity(request.AsOf.ToString(), request.RunId)
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
        };
        try
        {
            // Insert, never overwrite: a late Begin must not reset a run that has moved on.
            await Runs.AddEntityAsync(row, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            // A concurrent delivery of the same Begin recorded it first.
        }
    }

    /// <summary>
    /// Marks the run Publishing over the asOf's currently published run, before the first table write, and returns
    /// the plan. Moves only forward, from Running, with an ETag-conditional write: a retry (or a roll-forward) of a
    /// run already Publishing or published gets the plan first recorded; a late or replayed step for a run that can
    /// no longer publish (failed, a scenario, or superseded by a newer run of its asOf) changes nothing and says why.
    /// </summary>
    public async Task<PublishTransition> BeginPublishAsync(YearMonth asOf, string runId, int partners, long usageRows, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var runs = await ListWithTagsAsync(asOf, cancellationToken).ConfigureAwait(false);
            var (self, tag) = runs.SingleOrDefault(r => r.Run.RunId == runId);
            if (self is null) throw new InvalidOperationException($"Run {runId} of {asOf} is not recorded.");
            if (self.Status == RunStatus.Publishing || (self.Status == RunStatus.Succeeded && self.Published)) return new(PlanOf(self), null);
            if (Refusal(self, runs.Select(r => r.Run)) is { } refused) return new(PlanOf(self), refused);
            var published = runs.Select(r => r.Run).Where(r => r.Published).OrderByDescending(r => r.CompletedAt).FirstOrDefault();
            try
            {
                await Runs.UpdateEntityAsync(new TableEntity(asOf.ToString(), runId)
                {
                    ["status"] = nameof(RunStatus.Publishing),
                    ["baseRunId"] = published?.RunId,
                    ["publishStartedAt"] = _time.GetUtcNow(),
                    ["partners"] = partners,
                    ["usageRows"] = usageRows,
                }, tag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                return new(new PublishPlan(runId, asOf, published?.RunId, self.PublishRanges, self.WindowMonths, partners, usageRows), null);
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                // The row changed since it was read (a concurrent step of the same run, or a failure recorded): read again.
            }
        }
    }

    /// <summary>
    /// Why a run that is neither Publishing nor published must not start or finish a publish, or null when it may:
    /// only a Running (Begin) or Publishing (Complete) run moves forward, and never past a newer run of its asOf that
    /// is published or publishing (its tables would then hold an older result than the run readers follow).
    /// </summary>
    private static string? Refusal(RecalculationRun self, IEnumerable<RecalculationRun> runs)
    {
        if (self.Scenario is not null) return $"it is a scenario run ({self.Scenario}), which never publishes";
        if (self.Status is RunStatus.Failed) return "it failed" + (self.Error is { } e ? $" ({e})" : "");
        if (self.Status is RunStatus.Succeeded) return "it was superseded: another run of its month is the published one";
        var newer = runs.Where(r => r.RunId != self.RunId && r.Scenario is null && IsNewer(r, self)
                && (r.Published || r.Status == RunStatus.Publishing))
            .OrderByDescending(r => r.StartedAt).FirstOrDefault();
        return newer is null ? null
            : $"it was superseded by the newer run {newer.RunId} ({(newer.Published ? "published" : "publishing")})";
    }

    // Run ids start with the asOf and the start time, so the id breaks a tie of equal start times in start order.
    private static bool IsNewer(RecalculationRun r, RecalculationRun than) =>
        r.StartedAt > than.StartedAt || (r.StartedAt == than.StartedAt && string.CompareOrdinal(r.RunId, than.RunId) > 0);

    private static PublishPlan PlanOf(RecalculationRun run) =>
        new(run.RunId, run.AsOf, run.BaseRunId, run.PublishRanges, run.WindowMonths, run.Partners, run.UsageRows);

    /// <summary>
    /// A run of the asOf that began publishing and never finished (other than <paramref name="exceptRunId"/>), unless
    /// a newer run of the asOf has been published since: rolling that one forward would put older results back.
    /// </summary>
    public async Task<PublishPlan?> InterruptedPublishAsync(YearMonth asOf, string? exceptRunId, CancellationToken cancellationToken = default)
    {
        var runs = await ListAsync(asOf, cancellationToken).ConfigureAwait(false);
        var run = runs
            .Where(r => r.Status == RunStatus.Publishing && r.RunId != exceptRunId && Refusal(r, runs) is null)
            .OrderBy(r => r.StartedAt).FirstOrDefault();
        return run is null ? null : PlanOf(run);
    }

    /// <summary>
    /// Marks the run Succeeded and the published run of its asOf, with its publish counts, and every other run not
    /// published — in one batch transaction on the asOf partition, so the switch is atomic. Only from Publishing, and
    /// every row of the batch is conditional on the ETag it was read with: a run already published gets null (a retry);
    /// a late or replayed step for a run that is not publishing (superseded, failed, a scenario) changes nothing and
    /// gets the reason.
    /// </summary>
    public async Task<string?> CompletePublishAsync(PublishPlan plan, IReadOnlyList<TablePublishCount> counts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(counts);
        while (true)
        {
            var runs = await ListWithTagsAsync(plan.AsOf, cancellationToken).ConfigureAwait(false);
            var (self, tag) = runs.SingleOrDefault(r => r.Run.RunId == plan.RunId);
            if (self is null) throw new InvalidOperationException($"Run {plan.RunId} of {plan.AsOf} is not recorded.");
            if (self.Status == RunStatus.Succeeded && self.Published) return null;
            if (self.Status != RunStatus.Publishing) return Refusal(self, runs.Select(r => r.Run)) ?? $"it is {self.Status}, not publishing";
            if (Refusal(self, runs.Select(r => r.Run)) is { } refused) return refused;
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
            var actions = new List<TableTransactionAction> { new(TableTransactionActionType.UpdateMerge, row, tag) };
            foreach (var (run, runTag) in runs)
                if (run.Published && run.RunId != plan.RunId)
                    actions.Add(new(TableTransactionActionType.UpdateMerge, new TableEntity(plan.AsOf.ToString(), run.RunId) { ["published"] = false }, runTag));
            try
            {
                await Runs.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                return null;
            }
            catch (TableTransactionFailedException e) when (e.Status == 412)
            {
                // A row of the partition changed since it was read: decide again on what is there now.
            }
        }
    }

    /// <summary>
    /// A scenario run (or any run that publishes nothing) is done: only from Running, conditionally; returns why not
    /// otherwise (a late or replayed step changes nothing).
    /// </summary>
    public async Task<string?> CompleteUnpublishedAsync(YearMonth asOf, string runId, int partners, long usageRows, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var e = await Runs.GetEntityIfExistsAsync<TableEntity>(asOf.ToString(), runId, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!e.HasValue) throw new InvalidOperationException($"Run {runId} of {asOf} is not recorded.");
            var run = FromEntity(e.Value!);
            if (run.Status == RunStatus.Succeeded && run.Scenario is not null) return null;
            if (run.Status != RunStatus.Running) return $"it already ended {(run.Published ? "published" : run.Status.ToString())}";
            try
            {
                await Runs.UpdateEntityAsync(new TableEntity(asOf.ToString(), runId)
                {
                    ["status"] = nameof(RunStatus.Succeeded),
                    ["completedAt"] = _time.GetUtcNow(),
                    ["partners"] = partners,
                    ["usageRows"] = usageRows,
                    ["published"] = false,
                }, e.Value!.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                return null;
            }
            catch (RequestFailedException x) when (x.Status == 412)
            {
                // Changed since read: decide again.
            }
        }
    }

    /// <summary>
    /// Records why a run failed, from the state it is in: a Running run (or one whose Begin never ran) becomes Failed;
    /// a run that had begun publishing stays Publishing with the error, so the next start for its asOf rolls its
    /// publish forward instead of leaving the tables half-written; a run that already ended (succeeded, published,
    /// superseded or failed) keeps its state — a late failure report changes nothing. Returns why it was not
    /// recorded as Failed, or null.
    /// </summary>
    public async Task<string?> FailAsync(RunFailure failure, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var error = failure.Error.Length > 4000 ? failure.Error[..4000] : failure.Error;
        var asOf = failure.AsOf.ToString();
        while (true)
        {
            var e = await Runs.GetEntityIfExistsAsync<TableEntity>(asOf, failure.RunId, cancellationToken: cancellationToken).ConfigureAwait(false);
            var failed = new TableEntity(asOf, failure.RunId)
            {
                ["status"] = nameof(RunStatus.Failed),
                ["completedAt"] = _time.GetUtcNow(),
                ["error"] = error,
                ["published"] = false,
            };
            try
            {
                if (!e.HasValue)
                {
                    await Runs.AddEntityAsync(failed, cancellationToken).ConfigureAwait(false);
                    return null;
                }
                var run = FromEntity(e.Value!);
                switch (run.Status)
                {
                    case RunStatus.Running:
                        await Runs.UpdateEntityAsync(failed, e.Value!.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                        return null;
                    case RunStatus.Publishing:
                        await Runs.UpdateEntityAsync(new TableEntity(asOf, failure.RunId) { ["error"] = error }, e.Value!.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                        return "it is publishing: the error is recorded and the next start of its month rolls the publish forward";
                    default:
                        return $"it already ended {(run.Published ? "published" : run.Status.ToString())}";
                }
            }
            catch (RequestFailedException x) when (x.Status is 409 or 412)
            {
                // Recorded or changed since read: decide again.
            }
        }
    }

    /// <summary>The asOf's runs, each with the ETag a conditional write of its row needs.</summary>
    private async Task<List<(RecalculationRun Run, ETag Tag)>> ListWithTagsAsync(YearMonth asOf, CancellationToken cancellationToken)
    {
        var list = new List<(RecalculationRun, ETag)>();
        await foreach (var e in Runs.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {asOf.ToString()}"), cancellationToken: cancellationToken).ConfigureAwait(false))
            list.Add((FromEntity(e), e.ETag));
        return list;
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
        ReduceRanges = e.GetInt32("reduceRanges") ?? 0,
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
