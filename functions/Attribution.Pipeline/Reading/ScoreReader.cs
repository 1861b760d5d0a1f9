using System.Globalization;
using Attribution.Domain;
using Attribution.Domain.Rules;
using Attribution.Domain.Scores;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Pipeline.Storage;
using Azure.Data.Tables;

namespace Attribution.Pipeline.Reading;

/// <summary>
/// One metric of a designation's chosen track as of asOf: its value (null: usageGrowth below its baseline), points,
/// the most it can give, and what the next point takes (<see cref="NextPointAt"/> the number that text names).
/// </summary>
public sealed record ScoreMetricView(string Metric, double? Value, double Points, double MaxPoints, double? NextPointAt, string NextPoint);

/// <summary>A designation of one global partner as of asOf: the `PartnerCapabilityScore` row, with each metric explained.</summary>
public sealed record DesignationScoreView(
    string Designation,
    string Track,
    double Score,
    double QualifyingPoints,
    bool Qualified,
    bool Eligible,
    IReadOnlyList<string> QualifiedMonths,
    double PointsToQualify,
    IReadOnlyList<string> ZeroMetrics,
    IReadOnlyList<ScoreMetricView> Metrics);

/// <summary>A global partner's capability scores for one asOf: `attribution score --format json` and GET /api/partners/{id}/score.</summary>
public sealed record PartnerScoreView(
    string GlobalPartnerId,
    YearMonth AsOf,
    IReadOnlyList<DesignationScoreView> Designations,
    string? RequestedPartnerId = null,
    string? RunId = null,
    string? RulesVersion = null);

/// <summary>
/// Reads capability scores (§7.4) like every other result: the published run's snapshot, one partition's range file,
/// explained with the run's own rules (maxPoints, the bar, what the next point takes). A location ID reads its global
/// partner, through the partner directory at the run's records version.
/// </summary>
public sealed class ScoreReader(StorageAccount storage, RecordStore records, EvidenceService evidence)
{
    private readonly SnapshotStore _snapshots = new(storage);

    /// <summary>The designation as the rules spell it, or <see cref="UnknownNameException"/>.</summary>
    public static string ResolveDesignation(CreditRules rules, string designation)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(designation);
        return rules.Designations.FirstOrDefault(d => string.Equals(d.Name, designation.Trim(), StringComparison.OrdinalIgnoreCase))?.Name
            ?? throw new UnknownNameException(rules.Designations.Count == 0
                ? $"Unknown designation '{designation}': the rules of this run ({rules.RulesVersion}) define no designations."
                : $"Unknown designation '{designation}' (rules {rules.RulesVersion}: {string.Join(' ', rules.Designations.Select(d => d.Name))}).");
    }

    /// <summary>The global partner a partner ID reads: itself when it has score rows, else its directory entry's global partner.</summary>
    public async Task<PartnerScoreView?> ScoreAsync(PartnerId partnerId, RecalculationRun run, string? designation = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        CreditReader.RequireSnapshot(run);
        var rules = await evidence.RulesOfAsync(run, cancellationToken).ConfigureAwait(false);
        var name = designation is null ? null : ResolveDesignation(rules, designation);
        var global = partnerId;
        var rows = await RowsAsync(run, global, cancellationToken).ConfigureAwait(false);
        if (rows.Count == 0)
        {
            var directory = await (await records.AtAsync(run.RecordsVersion, cancellationToken).ConfigureAwait(false))
                .GlobalPartnerMapAsync(cancellationToken).ConfigureAwait(false);
            if (directory.TryGetValue(partnerId.Value, out var g) && g != partnerId.Value)
            {
                global = new PartnerId(g);
                rows = await RowsAsync(run, global, cancellationToken).ConfigureAwait(false);
            }
        }
        if (rows.Count == 0) return null;
        var order = rules.Designations.Select(d => d.Name).ToList();
        var views = rows
            .Where(r => name is null || r.GetString("designation") == name)
            .Select(r => ToView(r, rules))
            .OrderBy(v => order.IndexOf(v.Designation) is var i and >= 0 ? i : int.MaxValue)
            .ToList();
        return new PartnerScoreView(global.ToString(), run.AsOf, views, global == partnerId ? null : partnerId.ToString(), run.RunId,
            rows[0].GetString("rulesVersion"));
    }

    /// <summary>Every global partner's scores of a run, ordered by global partner id (one publish range in memory at a time).</summary>
    public async IAsyncEnumerable<PartnerScoreView> AllAsync(RecalculationRun run, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        CreditReader.RequireSnapshot(run);
        var rules = await evidence.RulesOfAsync(run, cancellationToken).ConfigureAwait(false);
        var order = rules.Designations.Select(d => d.Name).ToList();
        var byPartner = new SortedDictionary<long, List<TableEntity>>();
        await foreach (var e in _snapshots.ReadAllAsync(run.RunId, SnapshotSchema.PartnerCapabilityScore, run.PublishRanges, cancellationToken).ConfigureAwait(false))
        {
            if (!e.RowKey.StartsWith(run.AsOf + "|", StringComparison.Ordinal)) continue;
            var id = long.Parse(e.PartitionKey, CultureInfo.InvariantCulture);
            if (!byPartner.TryGetValue(id, out var list)) byPartner[id] = list = [];
            list.Add(e);
        }
        foreach (var (id, rows) in byPartner)
            yield return new PartnerScoreView(id.ToString(CultureInfo.InvariantCulture), run.AsOf,
                [.. rows.Select(r => ToView(r, rules)).OrderBy(v => order.IndexOf(v.Designation) is var i and >= 0 ? i : int.MaxValue)],
                null, run.RunId, rows[0].GetString("rulesVersion"));
    }

    private async Task<List<TableEntity>> RowsAsync(RecalculationRun run, PartnerId global, CancellationToken cancellationToken)
    {
        var rows = await _snapshots.ReadPartitionAsync(run.RunId, SnapshotSchema.PartnerCapabilityScore, global.ToString(), run.PublishRanges, cancellationToken).ConfigureAwait(false);
        return rows.Where(r => r.RowKey.StartsWith(run.AsOf + "|", StringComparison.Ordinal)).ToList();
    }

    /// <summary>A stored row, explained with the rules its run used.</summary>
    public static DesignationScoreView ToView(TableEntity row, CreditRules rules)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(rules);
        var name = row.GetString("designation") ?? "";
        var trackName = row.GetString("track") ?? "";
        var rule = rules.Designations.FirstOrDefault(d => d.Name == name);
        var track = rule?.Tracks.FirstOrDefault(t => t.Name == trackName);
        var metrics = new List<ScoreMetricView>();
        foreach (var m in track?.Metrics ?? [])
        {
            var (valueKey, pointsKey) = MetricColumns(m.Metric);
            var value = row.TryGetValue(valueKey, out var v) && v is not null ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : (double?)null;
            var points = row.GetDouble(pointsKey) ?? 0;
            var next = CapabilityScores.NextPointOf(new MetricScore(m, value, points));
            metrics.Add(new ScoreMetricView(m.Metric.Name(), value, points, m.MaxPoints, next.Amount, next.Text));
        }
        static IReadOnlyList<string> List(string? s) => string.IsNullOrEmpty(s) ? [] : s.Split(';');
        return new DesignationScoreView(name, trackName, row.GetDouble("score") ?? 0, rule?.QualifyingPoints ?? 0,
            row.GetBoolean("qualified") ?? false, row.GetBoolean("eligible") ?? false, List(row.GetString("qualifiedMonths")),
            row.GetDouble("pointsToQualify") ?? 0, List(row.GetString("zeroMetrics")), metrics);
    }

    /// <summary>The §7.4 value and points properties of a metric.</summary>
    public static (string Value, string Points) MetricColumns(ScoreMetric metric) => metric switch
    {
        ScoreMetric.UsageGrowth => ("usageGrowthPercent", "usageGrowthPoints"),
        _ => (metric.Name(), metric.Name() + "Points"),
    };
}
