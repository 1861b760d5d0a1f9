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

/// <summary>An association (or DPOR period) that credits the global partner on a customer (§7.4's eligibility view).</summary>
public sealed record CustomerAssociationView(
    string Source,
    string PartnerId,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? SubscriptionId,
    string Workloads,
    string ValidFrom,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? ValidTo,
    string IngestionId,
    long Line);

/// <summary>One condition of a metric for a customer: the number compared, the bounds, whether it is met.</summary>
public sealed record CustomerConditionView(string Metric, string Months, double Value, [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] double? Min, [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] double? Max, bool Met);

/// <summary>A customer tenant of the eligibility view; values in the view's measure.</summary>
public sealed record CustomerEligibilityView(
    string CustomerTenantId,
    double ValueM,
    double ValueM1,
    double ValueM12,
    double ValueM13,
    double WindowSum,
    double WindowPeak,
    bool CountsNow,
    bool CountsYearAgo,
    bool CountsDeployment,
    IReadOnlyList<CustomerConditionView> Conditions,
    IReadOnlyList<CustomerAssociationView> Associations);

/// <summary>The counts the view's customers add up to: the published netCustomerAdds and deployments of the chosen track.</summary>
public sealed record CustomerEligibilityTotals(int Customers, int CountsNow, int CountsYearAgo, int NetCustomerAdds, int CountsDeployment);

/// <summary>`GET /api/partners/{id}/score/customers` and `attribution score ID --designation D --customers --format json`.</summary>
public sealed record CustomerEligibilityPage(
    string GlobalPartnerId,
    string Designation,
    YearMonth AsOf,
    string RunId,
    string Track,
    string Measure,
    CustomerEligibilityTotals Totals,
    int Matching,
    IReadOnlyList<CustomerEligibilityView> Customers,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? ContinuationToken = null);

/// <summary>Which customers the eligibility view lists: all, or those counted (or not) by one condition.</summary>
public enum CustomerCondition
{
    Now,
    YearAgo,
    Deployment,
}

/// <summary>
/// Reads capability scores (§7.4) like every other result: the published run's snapshot, one partition's range file,
/// explained with the run's own rules (maxPoints, the bar, what the next point takes). A location ID reads its global
/// partner, through the partner directory at the run's records version.
/// </summary>
public sealed class ScoreReader(StorageAccount storage, RecordStore records, EvidenceService evidence)
{
    private readonly SnapshotStore _snapshots = new(storage);

    // The partner directory of the last records version read: a version's records never change, and a location ID's
    // read otherwise re-reads the whole directory (measured: p95 96 ms at 100k tenants, most of it this).
    private Tuple<long, Task<Dictionary<long, long>>>? _directory;

    private Task<Dictionary<long, long>> DirectoryAsync(long recordsVersion, CancellationToken cancellationToken)
    {
        var cached = _directory;
        if (cached is not null && cached.Item1 == recordsVersion && !cached.Item2.IsFaulted && !cached.Item2.IsCanceled) return cached.Item2;
        var read = ReadDirectoryAsync(recordsVersion, cancellationToken);
        _directory = Tuple.Create(recordsVersion, read);
        return read;
    }

    private async Task<Dictionary<long, long>> ReadDirectoryAsync(long recordsVersion, CancellationToken cancellationToken) =>
        await (await records.AtAsync(recordsVersion, cancellationToken).ConfigureAwait(false)).GlobalPartnerMapAsync(cancellationToken).ConfigureAwait(false);

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
            var directory = await DirectoryAsync(run.RecordsVersion, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// The customer eligibility view of (global partner, designation) at the run's asOf: every tenant with credited rows
    /// of the designation in M−13 … M, from the run's index (one range), in the measure of the chosen track's
    /// netCustomerAdds (else its deployments). Customers that changed the net adds come first (added, then lost), then by
    /// value at M. <paramref name="counted"/> keeps those counted (true) or not (false) by <paramref name="condition"/>.
    /// Null when the partner has no score for the designation.
    /// </summary>
    public async Task<CustomerEligibilityPage?> CustomersAsync(PartnerId partnerId, RecalculationRun run, string designation,
        bool? counted = null, CustomerCondition condition = CustomerCondition.Now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(designation);
        var score = await ScoreAsync(partnerId, run, designation, cancellationToken).ConfigureAwait(false);
        if (score is null || score.Designations.Count == 0) return null;
        var d = score.Designations[0];
        var rules = await evidence.RulesOfAsync(run, cancellationToken).ConfigureAwait(false);
        var rule = rules.Designations.First(x => x.Name == d.Designation);
        var tracks = rule.Tracks.Select(t => t.Name).ToList();
        var trackIndex = Math.Max(0, tracks.IndexOf(d.Track));
        var track = rule.Tracks[trackIndex];
        var adds = track.Metrics.FirstOrDefault(m => m.Metric == ScoreMetric.NetCustomerAdds);
        var deployments = track.Metrics.FirstOrDefault(m => m.Metric == ScoreMetric.Deployments);
        var measure = (adds ?? deployments)?.Measure ?? ScoreMeasure.Revenue;
        var prefix = measure == ScoreMeasure.Revenue ? "revenue" : "users";

        var rows = await _snapshots.ReadPartitionAsync(run.RunId, SnapshotSchema.ScoreCustomers, score.GlobalPartnerId, run.PublishRanges, cancellationToken).ConfigureAwait(false);
        var customers = new List<CustomerEligibilityView>();
        var asOf = run.AsOf;
        var windowFrom = asOf.AddMonths(1 - rules.WindowMonths);
        foreach (var row in rows)
        {
            if (row.GetString("designation") != d.Designation) continue;
            double V(string suffix) => row.GetDouble(prefix + suffix) ?? 0;
            var flags = (row.GetString("counts") ?? "").Split(';') is var all && trackIndex < all.Length ? all[trackIndex] : "---";
            var conditions = new List<CustomerConditionView>();
            if (adds is not null)
            {
                double? max = adds.MaxPerTenant;
                bool In(double v) => v >= adds.MinPerTenant && (max is null || v <= max);
                foreach (var (months, value) in new[] { (asOf, V("M")), (asOf.AddMonths(-1), V("M1")), (asOf.AddMonths(-12), V("M12")), (asOf.AddMonths(-13), V("M13")) })
                    conditions.Add(new CustomerConditionView("netCustomerAdds", months.ToString(), value, adds.MinPerTenant, max, In(value)));
            }
            if (deployments is not null)
            {
                // §7.2: the window's sum for revenue, its largest month for active users, in the deployments' own measure.
                var dp = deployments.Measure == ScoreMeasure.Revenue ? "revenue" : "users";
                var reached = deployments.Measure == ScoreMeasure.Revenue ? row.GetDouble(dp + "WindowSum") ?? 0 : row.GetDouble(dp + "WindowPeak") ?? 0;
                conditions.Add(new CustomerConditionView("deployments", $"{windowFrom}..{asOf}", reached, deployments.MinPerTenant, null, reached >= deployments.MinPerTenant));
            }
            customers.Add(new CustomerEligibilityView(
                row.GetString("customerTenantId") ?? "", V("M"), V("M1"), V("M12"), V("M13"), V("WindowSum"), V("WindowPeak"),
                flags.Length > 0 && flags[0] == '1', flags.Length > 1 && flags[1] == '1', flags.Length > 2 && flags[2] == '1',
                conditions,
                [.. CreditEntities.ScoreCustomerAssociations(row).Select(a => new CustomerAssociationView(a.Source, a.PartnerId.ToString(CultureInfo.InvariantCulture),
                    a.SubscriptionId?.ToString("D"), a.Workloads, a.ValidFrom.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    a.ValidTo?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), a.IngestionId, a.Line))]));
        }
        // A run published before the customer index existed has scores but no customer rows: say so rather than list none.
        var published = d.Metrics.Where(m => m.Metric is "netCustomerAdds" or "deployments").Any(m => m.Value is > 0);
        if (customers.Count == 0 && published)
            throw new SnapshotUnavailableException($"Run {run.RunId} of {run.AsOf} has no customer index (it was computed before the eligibility view existed): recalculate {run.AsOf}.");
        var totals = new CustomerEligibilityTotals(customers.Count, customers.Count(c => c.CountsNow), customers.Count(c => c.CountsYearAgo),
            customers.Count(c => c.CountsNow) - customers.Count(c => c.CountsYearAgo), customers.Count(c => c.CountsDeployment));
        static int Group(CustomerEligibilityView c) => c.CountsNow == c.CountsYearAgo ? 2 : c.CountsNow ? 0 : 1;
        var listed = customers
            .Where(c => counted is not { } want || want == condition switch
            {
                CustomerCondition.YearAgo => c.CountsYearAgo,
                CustomerCondition.Deployment => c.CountsDeployment,
                _ => c.CountsNow,
            })
            .OrderBy(Group).ThenByDescending(c => c.ValueM).ThenBy(c => c.CustomerTenantId, StringComparer.Ordinal)
            .ToList();
        return new CustomerEligibilityPage(score.GlobalPartnerId, d.Designation, run.AsOf, run.RunId, d.Track, measure.Name(), totals, listed.Count, listed);
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
