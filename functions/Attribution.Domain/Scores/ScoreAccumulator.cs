using Attribution.Domain.Credit;
using Attribution.Domain.Rules;

namespace Attribution.Domain.Scores;

/// <summary>
/// The months a designation reads for asOf M (§7.3): scored months M−(q−1)…M; counts (|Q|, total) from 12 months
/// before the first scored month; values one month earlier still (Q(m) reads m−1), or as far back as the deployments
/// window needs when windowMonths exceeds 14.
/// </summary>
internal readonly record struct ScoreWindow(int AsOf, int FirstScored, int FirstCounted, int FirstValue)
{
    public static ScoreWindow Of(DesignationRule d, int windowMonths, YearMonth asOf)
    {
        var m = asOf.Index;
        var firstScored = m - (d.QualificationMonths - 1);
        var firstCounted = firstScored - 12;
        return new ScoreWindow(m, firstScored, firstCounted, Math.Min(firstCounted - 1, firstScored - (windowMonths - 1)));
    }

    public int ValueMonths => AsOf - FirstValue + 1;
    public int CountedMonths => AsOf - FirstCounted + 1;
    public int ScoredMonths => AsOf - FirstScored + 1;
}

/// <summary>
/// Fed the usage rows the credit walker credits, builds value(t, m) per (global partner, designation, tenant) in both
/// measures, in billionths (exact integer sums, like the credit partials: the order rows arrive in cannot change a
/// value), then the additive per-month counts of <see cref="ScorePartial"/>.
/// </summary>
public sealed class ScoreAccumulator
{
    private readonly IReadOnlyList<DesignationRule> _designations;
    private readonly ScoreWindow[] _windows;
    private readonly int _windowMonths;
    private readonly YearMonth _asOf;
    private readonly IReadOnlyDictionary<long, long> _globalOf;
    private readonly Dictionary<(long Global, int Designation, Guid Tenant), Series> _series = [];
    private long[] _scratch = new long[8];

    private sealed class Series(int months)
    {
        public readonly Int128[] Revenue = new Int128[months];
        public readonly Int128[] Users = new Int128[months];

        public Int128[] Of(ScoreMeasure measure) => measure == ScoreMeasure.Revenue ? Revenue : Users;
    }

    public ScoreAccumulator(CreditRules rules, YearMonth asOf, IReadOnlyDictionary<long, long> globalPartnerOf)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(globalPartnerOf);
        _designations = rules.Designations;
        _windowMonths = rules.WindowMonths;
        _asOf = asOf;
        _globalOf = globalPartnerOf;
        _windows = [.. _designations.Select(d => ScoreWindow.Of(d, rules.WindowMonths, asOf))];
    }

    /// <summary>The earliest month any designation reads: usage before it cannot change a score.</summary>
    public YearMonth FirstMonth => _windows.Length == 0 ? _asOf : new YearMonth(_windows.Min(w => w.FirstValue));

    /// <summary>
    /// One usage row and its credited location partners. It counts once per global partner (locations roll up), in
    /// full (creditPolicy does not apply), for designations of its workload whose sources credit one of G's locations.
    /// </summary>
    public void Add(UsageRecord usage, ReadOnlySpan<ScoreCredit> credited)
    {
        ArgumentNullException.ThrowIfNull(usage);
        if (credited.IsEmpty) return;
        var month = usage.Month.Index;
        var revenue = Nano.Of(usage.ConsumedRevenueUsd ?? 0);
        var users = (Int128)(usage.ActiveUsers ?? 0) * 1_000_000_000; // whole users: exact in billionths
        for (var d = 0; d < _designations.Count; d++)
        {
            var rule = _designations[d];
            var w = _windows[d];
            if (month < w.FirstValue || month > w.AsOf || !rule.Workloads.Contains(usage.Workload)) continue;
            var mask = rule.SourcesMask;
            var gk = 0;
            foreach (var c in credited)
            {
                if ((c.SourcesMask & mask) == 0) continue;
                var g = _globalOf.TryGetValue(c.PartnerId, out var gid) ? gid : c.PartnerId;
                if (Array.IndexOf(_scratch, g, 0, gk) >= 0) continue; // two locations of G on one row: once
                if (gk == _scratch.Length) Array.Resize(ref _scratch, gk * 2);
                _scratch[gk++] = g;
            }
            for (var j = 0; j < gk; j++)
            {
                var key = (_scratch[j], d, usage.CustomerTenantId);
                if (!_series.TryGetValue(key, out var s)) _series.Add(key, s = new Series(w.ValueMonths));
                s.Revenue[month - w.FirstValue] += revenue;
                s.Users[month - w.FirstValue] += users;
            }
        }
    }

    /// <summary>The shard's partials, sorted by global partner then designation order.</summary>
    public IReadOnlyList<ScorePartial> ToPartials()
    {
        var groups = new SortedDictionary<(long Global, int Designation), List<Series>>();
        foreach (var ((g, d, _), s) in _series)
        {
            if (!groups.TryGetValue((g, d), out var list)) groups.Add((g, d), list = []);
            list.Add(s);
        }
        var partials = new List<ScorePartial>(groups.Count);
        foreach (var ((g, d), tenants) in groups)
        {
            var rule = _designations[d];
            var w = _windows[d];
            var metrics = new List<ScoreMetricPartial>();
            for (var t = 0; t < rule.Tracks.Count; t++)
                foreach (var m in rule.Tracks[t].Metrics)
                    if (!m.Metric.IsCertification()) metrics.Add(MetricPartial(t, m, w, tenants));
            partials.Add(new ScorePartial { GlobalPartnerId = g, Designation = rule.Name, AsOf = _asOf, Metrics = metrics });
        }
        return partials;
    }

    private ScoreMetricPartial MetricPartial(int track, ScoreMetricRule m, ScoreWindow w, List<Series> tenants)
    {
        switch (m.Metric)
        {
            case ScoreMetric.NetCustomerAdds:
            {
                var counts = new int[w.CountedMonths];
                var min = Nano.Of(m.MinPerTenant);
                var max = m.MaxPerTenant is { } x ? Nano.Of(x) : (Int128?)null;
                foreach (var s in tenants)
                {
                    var v = s.Of(m.Measure);
                    bool In(int month) { var n = v[month - w.FirstValue]; return min <= n && (max is not { } mx || n <= mx); }
                    for (var month = w.FirstCounted; month <= w.AsOf; month++)
                        if (In(month) || In(month - 1)) counts[month - w.FirstCounted]++;
                }
                return new ScoreMetricPartial { Track = track, Metric = m.Metric, FirstMonth = new YearMonth(w.FirstCounted), Counts = counts };
            }
            case ScoreMetric.UsageGrowth:
            {
                var totals = new Int128[w.CountedMonths];
                foreach (var s in tenants)
                {
                    var v = s.Of(m.Measure);
                    for (var month = w.FirstCounted; month <= w.AsOf; month++) totals[month - w.FirstCounted] += v[month - w.FirstValue];
                }
                return new ScoreMetricPartial { Track = track, Metric = m.Metric, FirstMonth = new YearMonth(w.FirstCounted), TotalNanos = totals };
            }
            case ScoreMetric.Deployments:
            {
                var counts = new int[w.ScoredMonths];
                var min = Nano.Of(m.MinPerTenant);
                foreach (var s in tenants)
                {
                    var v = s.Of(m.Measure);
                    for (var month = w.FirstScored; month <= w.AsOf; month++)
                    {
                        // §7.2: the window's sum for revenue, its largest month for active users.
                        Int128 reached = 0;
                        for (var i = month - (_windowMonths - 1); i <= month; i++)
                            reached = m.Measure == ScoreMeasure.Revenue ? reached + v[i - w.FirstValue] : Int128.Max(reached, v[i - w.FirstValue]);
                        if (reached >= min) counts[month - w.FirstScored]++;
                    }
                }
                return new ScoreMetricPartial { Track = track, Metric = m.Metric, FirstMonth = new YearMonth(w.FirstScored), Counts = counts };
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(m), m.Metric, "certifications are not usage metrics");
        }
    }
}
