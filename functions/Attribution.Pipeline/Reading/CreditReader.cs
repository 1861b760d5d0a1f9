using System.Globalization;
using Attribution.Domain;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Pipeline.Storage;
using Azure.Data.Tables;

namespace Attribution.Pipeline.Reading;

/// <summary>One competency of a partner's credit (the PartnerCredit / GlobalPartnerCredit properties).</summary>
public sealed record CompetencyCredit(
    string Competency,
    double AcrUsdTtm,
    double PeakMonthlyActiveUsers,
    int Customers,
    CompetencyLevel Level,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] CompetencyLevel? NextLevel,
    double Progress,
    double IncentiveEligibleAcrUsdTtm,
    string Sources);

/// <summary>A partner's credit for one asOf: the shape of `attribution partner --json` and the read API.</summary>
public sealed record PartnerCreditView(
    string PartnerId,
    YearMonth AsOf,
    string Scope,
    IReadOnlyList<CompetencyCredit> Competencies,
    string? GlobalPartnerId = null,
    string? Locations = null,
    string? RunId = null,
    string? RulesVersion = null,
    string? Scenario = null);

public sealed record SubscriptionPartnerView(string PartnerId, string CustomerTenantId, string Sources, bool IsDpor, string Workloads);

public sealed record SubscriptionView(string SubscriptionId, YearMonth AsOf, IReadOnlyList<SubscriptionPartnerView> Partners, string? RunId = null);

/// <summary>
/// A run's results cannot be read as that run computed them (its snapshot or its rules are missing): the read fails,
/// naming the run, rather than answer from another run or other rules.
/// </summary>
public class RunUnreadableException(string message) : Exception(message);

/// <summary>The run's snapshot cannot be read: the run predates snapshots, or its files were cleaned up.</summary>
public sealed class SnapshotUnavailableException(string message) : RunUnreadableException(message);

/// <summary>The exact rules a run was computed with cannot be found (or no longer parse).</summary>
public sealed class RulesUnavailableException(string message) : RunUnreadableException(message);

/// <summary>
/// Reads results the way downstream readers should: resolve the published run of an asOf (or a scenario's run)
/// from RecalculationRuns, then read that run's Parquet snapshot — never a mix of runs, and never the tables, which
/// a publish changes partition by partition. A partner's or a subscription's rows are read from its range's files only.
/// </summary>
public sealed class CreditReader(StorageAccount storage, RunStore runs)
{
    private readonly RunStore _runs = runs;
    private readonly SnapshotStore _snapshots = new(storage);

    /// <summary>The run to read: the scenario's latest, or the published run of asOf (latest asOf when null).</summary>
    public Task<RecalculationRun?> ResolveRunAsync(YearMonth? asOf, string? scenario = null, CancellationToken cancellationToken = default) =>
        scenario is null ? _runs.PublishedAsync(asOf, cancellationToken) : _runs.LatestScenarioAsync(scenario, asOf, cancellationToken);

    /// <summary>
    /// The run a continuation token was issued on, if its snapshot can still be read: a later page comes from the same
    /// run as the first even after a new publish. Null when the run is gone (older runs are cleaned up) or is not a
    /// finished run of this asOf (a token names only runs whose complete results were read).
    /// </summary>
    public async Task<RecalculationRun?> RunOfTokenAsync(ContinuationPosition position, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(position);
        var run = await _runs.GetAsync(position.AsOf, position.RunId, cancellationToken).ConfigureAwait(false);
        if (run is not { Status: RunStatus.Succeeded, Scenario: null } || run.PublishRanges == 0) return null;
        return await IsReadableAsync(run, cancellationToken).ConfigureAwait(false) ? run : null;
    }

    /// <summary>
    /// Whether the run's snapshot is still whole. The clean-up deletes a run's manifest before any of its files, so a
    /// read that finds the manifest still there after it read the files knows it read them all: a reader that can race
    /// the clean-up (a continuation page of an older run) checks again after reading.
    /// </summary>
    public Task<bool> IsReadableAsync(RecalculationRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        return _snapshots.ExistsAsync(run.RunId, cancellationToken);
    }

    internal static void RequireSnapshot(RecalculationRun run)
    {
        if (run.PublishRanges == 0)
            throw new SnapshotUnavailableException($"Run {run.RunId} of {run.AsOf} has no snapshot (it predates snapshots): recalculate {run.AsOf}.");
    }

    public async Task<PartnerCreditView?> PartnerAsync(PartnerId partnerId, RecalculationRun run, bool global, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        RequireSnapshot(run);
        var schema = global ? SnapshotSchema.GlobalPartnerCredit : SnapshotSchema.PartnerCredit;
        var rows = await _snapshots.ReadPartitionAsync(run.RunId, schema, partnerId.ToString(), run.PublishRanges, cancellationToken).ConfigureAwait(false);
        rows = rows.Where(r => r.RowKey.StartsWith(run.AsOf + "|", StringComparison.Ordinal)).ToList();
        if (rows.Count == 0) return null;
        var first = rows[0];
        return new PartnerCreditView(
            partnerId.ToString(),
            run.AsOf,
            global ? "global" : "location",
            rows.Select(ToCompetency).ToList(),
            global ? null : first.GetString("globalPartnerId"),
            global ? first.GetString("locations") : null,
            run.RunId,
            first.GetString("rulesVersion"),
            run.Scenario);
    }

    public async Task<SubscriptionView?> SubscriptionAsync(Guid subscriptionId, RecalculationRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        RequireSnapshot(run);
        var rows = await _snapshots.ReadPartitionAsync(run.RunId, SnapshotSchema.SubscriptionPartners, subscriptionId.ToString("D"), run.PublishRanges, cancellationToken).ConfigureAwait(false);
        rows = rows.Where(r => r.RowKey.StartsWith(run.AsOf + "|", StringComparison.Ordinal)).ToList();
        if (rows.Count == 0) return null;
        return new SubscriptionView(subscriptionId.ToString("D"), run.AsOf,
            rows.Select(r => new SubscriptionPartnerView(
                    r.GetString("partnerId") ?? "", r.GetString("customerTenantId") ?? "", r.GetString("sources") ?? "",
                    r.GetBoolean("isDpor") ?? false, r.GetString("workloads") ?? ""))
                .OrderByDescending(p => p.IsDpor).ThenBy(p => long.Parse(p.PartnerId, CultureInfo.InvariantCulture)).ToList(),
            run.RunId);
    }

    /// <summary>Every partner's credit of a run (location scope, or global partners' with <paramref name="global"/>), ordered by partner id.</summary>
    public Task<List<PartnerCreditView>> AllPartnersAsync(RecalculationRun run, CancellationToken cancellationToken = default) =>
        AllPartnersAsync(run, global: false, cancellationToken);

    public async Task<List<PartnerCreditView>> AllPartnersAsync(RecalculationRun run, bool global, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        RequireSnapshot(run);
        var byPartner = new SortedDictionary<long, List<TableEntity>>();
        var schema = global ? SnapshotSchema.GlobalPartnerCredit : SnapshotSchema.PartnerCredit;
        await foreach (var e in _snapshots.ReadAllAsync(run.RunId, schema, run.PublishRanges, cancellationToken).ConfigureAwait(false))
        {
            if (!e.RowKey.StartsWith(run.AsOf + "|", StringComparison.Ordinal)) continue;
            var id = long.Parse(e.PartitionKey, CultureInfo.InvariantCulture);
            if (!byPartner.TryGetValue(id, out var list)) byPartner[id] = list = [];
            list.Add(e);
        }
        return byPartner.Select(kv => new PartnerCreditView(kv.Key.ToString(CultureInfo.InvariantCulture), run.AsOf, global ? "global" : "location",
            kv.Value.Select(ToCompetency).ToList(), global ? null : kv.Value[0].GetString("globalPartnerId"), global ? kv.Value[0].GetString("locations") : null,
            run.RunId, kv.Value[0].GetString("rulesVersion"), run.Scenario)).ToList();
    }

    /// <summary>A PartnerCredit (or GlobalPartnerCredit) row's figures, as the engine produced them.</summary>
    internal static Attribution.Domain.Credit.CompetencyMetrics Metrics(TableEntity e) => new()
    {
        Competency = e.GetString("competency") ?? "",
        AcrUsdTtm = e.GetDouble("acrUsdTtm") ?? 0,
        PeakMonthlyActiveUsers = e.GetDouble("peakMonthlyActiveUsers") ?? 0,
        Customers = e.GetInt32("customers") ?? 0,
        Level = CompetencyLevel.FromStored(e.GetString("level")),
        NextLevel = e.GetString("nextLevel") is { Length: > 0 } next ? new CompetencyLevel(next) : null,
        Progress = e.GetDouble("progress") ?? 0,
        IncentiveEligibleAcrUsdTtm = e.GetDouble("incentiveEligibleAcrUsdTtm") ?? 0,
        Sources = e.GetString("sources") ?? "",
    };

    private static CompetencyCredit ToCompetency(TableEntity e) => new(
        e.GetString("competency") ?? "",
        e.GetDouble("acrUsdTtm") ?? 0,
        e.GetDouble("peakMonthlyActiveUsers") ?? 0,
        e.GetInt32("customers") ?? 0,
        CompetencyLevel.FromStored(e.GetString("level")),
        e.GetString("nextLevel") is { Length: > 0 } next ? new CompetencyLevel(next) : null,
        e.GetDouble("progress") ?? 0,
        e.GetDouble("incentiveEligibleAcrUsdTtm") ?? 0,
        e.GetString("sources") ?? "");
}
