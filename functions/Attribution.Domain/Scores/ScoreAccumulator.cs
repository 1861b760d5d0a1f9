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
/// What the credit walk hands every walked row to, with the location partners it credits under any policy (§7.1):
/// the score accumulator, or the tenant view saying which designations a customer's usage counts toward.
/// </summary>
internal interface IScoreSink
{
    /// <summary>Whether the walk should also say which associations are behind each credit (the customer view's).</summary>
    bool TracksCustomers => false;

    void Add(UsageRecord usage, ReadOnlySpan<ScoreCredit> credited);

    void Add(UsageRecord usage, ReadOnlySpan<ScoreCredit> credited, ReadOnlySpan<ScoreLink> links) => Add(usage, credited);
}

/// <summary>
/// Fed the usage rows the credit walker credits, grouped by tenant (all of a tenant's rows consecutively, as the walker
/// delivers them), builds value(t, m) per (global partner, designation) for the current tenant in both measures, in
/// billionths (exact integer sums: the order rows arrive in cannot change a value). When the tenant changes, its
/// series are folded into the additive per-month counts of <see cref="ScorePartial"/> and dropped, so memory holds one
/// tenant's series plus one set of counts per (global partner, designation), whatever the number of tenants.
/// </summary>
public sealed class ScoreAccumulator : IScoreSink
{
    private readonly IReadOnlyList<DesignationRule> _designations;
    private readonly ScoreWindow[] _windows;
    private readonly int _windowMonths;
    private readonly YearMonth _asOf;
    private readonly IReadOnlyDictionary<long, long> _globalOf;
    // The current tenant's series: a handful per tenant, so a list searched linearly beats hashing a key per row.
    private readonly List<(long Global, int Designation, Series Series)> _tenantSeries = [];
    private readonly int[][] _designationsOf = new int[WorkloadSet.Count][];
    private readonly Stack<Series>[] _free;
    private readonly Dictionary<(long Global, int Designation), ScoreMetricPartial[]> _counts = [];
    private readonly HashSet<Guid> _doneTenants = [];
    private Guid _tenant;
    private bool _hasTenant;
    private long[] _scratch = new long[8];
    private long[] _globals = new long[8];
    private byte[] _masks = new byte[8];

    private sealed class Series(int months)
    {
        public readonly Int128[] Revenue = new Int128[months];
        public readonly Int128[] Users = new Int128[months];

        /// <summary>Months with at least one credited row (any amount): the customer view lists such tenants.</summary>
        public readonly bool[] HasRows = new bool[months];

        /// <summary>The associations behind the credited rows (only when customers are tracked).</summary>
        public readonly List<ScoreLink> Links = [];

        public Int128[] Of(ScoreMeasure measure) => measure == ScoreMeasure.Revenue ? Revenue : Users;

        public void Clear()
        {
            Array.Clear(Revenue);
            Array.Clear(Users);
            Array.Clear(HasRows);
            Links.Clear();
        }
    }

    private readonly IReadOnlyList<Association>? _associations;
    private readonly List<ScoreCustomerRow> _customers = [];

    /// <summary>Whether the accumulator also keeps each customer's row of the eligibility view (§7.4).</summary>
    public bool TracksCustomers => _associations is not null;

    public ScoreAccumulator(CreditRules rules, YearMonth asOf, IReadOnlyDictionary<long, long> globalPartnerOf)
        : this(rules, asOf, globalPartnerOf, null)
    {
    }

    /// <param name="associations">The shard's associations, which <see cref="ScoreLink.Association"/> indexes: given, the
    /// accumulator also builds every customer's row of the eligibility view.</param>
    internal ScoreAccumulator(CreditRules rules, YearMonth asOf, IReadOnlyDictionary<long, long> globalPartnerOf, IReadOnlyList<Association>? associations)
    {
        _associations = associations;
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(globalPartnerOf);
        _designations = rules.Designations;
        _windowMonths = rules.WindowMonths;
        _asOf = asOf;
        _globalOf = globalPartnerOf;
        _windows = [.. _designations.Select(d => ScoreWindow.Of(d, rules.WindowMonths, asOf))];
        _free = [.. _designations.Select(_ => new Stack<Series>())];
        for (var wl = 0; wl < WorkloadSet.Count; wl++)
            _designationsOf[wl] = [.. Enumerable.Range(0, _designations.Count).Where(d => _designations[d].Workloads.Contains((Workload)wl))];
    }

    /// <summary>The earliest month any designation reads: usage before it cannot change a score.</summary>
    public YearMonth FirstMonth => FirstMonthOf(_designations, _windowMonths, _asOf);

    /// <summary>The earliest month the designations of <paramref name="rules"/> read for <paramref name="asOf"/> (asOf itself when none).</summary>
    public static YearMonth FirstMonthOf(CreditRules rules, YearMonth asOf)
    {
        ArgumentNullException.ThrowIfNull(rules);
        return FirstMonthOf(rules.Designations, rules.WindowMonths, asOf);
    }

    private static YearMonth FirstMonthOf(IReadOnlyList<DesignationRule> designations, int windowMonths, YearMonth asOf) =>
        designations.Count == 0 ? asOf : new YearMonth(designations.Min(d => ScoreWindow.Of(d, windowMonths, asOf).FirstValue));

    /// <summary>
    /// One usage row and its credited location partners. It counts once per global partner (locations roll up), in
    /// full (creditPolicy does not apply), for designations of its workload whose sources credit one of G's locations.
    /// Rows must arrive grouped by tenant.
    /// </summary>
    public void Add(UsageRecord usage, ReadOnlySpan<ScoreCredit> credited) => Add(usage, credited, []);

    void IScoreSink.Add(UsageRecord usage, ReadOnlySpan<ScoreCredit> credited, ReadOnlySpan<ScoreLink> links) => Add(usage, credited, links);

    /// <summary><see cref="Add(UsageRecord, ReadOnlySpan{ScoreCredit})"/>, with the associations behind each credit.</summary>
    internal void Add(UsageRecord usage, ReadOnlySpan<ScoreCredit> credited, ReadOnlySpan<ScoreLink> links)
    {
        ArgumentNullException.ThrowIfNull(usage);
        if (credited.IsEmpty || _designations.Count == 0) return;
        if (!_hasTenant || usage.CustomerTenantId != _tenant)
        {
            FoldTenant();
            if (!_doneTenants.Add(usage.CustomerTenantId))
                throw new InvalidOperationException($"Usage rows of tenant {usage.CustomerTenantId} arrived after another tenant's: score rows must come grouped by tenant.");
            _tenant = usage.CustomerTenantId;
            _hasTenant = true;
        }
        var month = usage.Month.Index;
        var revenue = Nano.Of(usage.ConsumedRevenueUsd ?? 0);
        var users = (Int128)(usage.ActiveUsers ?? 0) * 1_000_000_000; // whole users: exact in billionths
        if (_globals.Length < credited.Length)
        {
            _globals = new long[credited.Length * 2];
            _masks = new byte[credited.Length * 2];
        }
        for (var i = 0; i < credited.Length; i++)
        {
            _globals[i] = credited[i].GlobalPartnerId != 0 ? credited[i].GlobalPartnerId
                : _globalOf.TryGetValue(credited[i].PartnerId, out var gid) ? gid : credited[i].PartnerId;
            _masks[i] = credited[i].SourcesMask;
        }
        foreach (var d in _designationsOf[(int)usage.Workload])
        {
            var rule = _designations[d];
            var w = _windows[d];
            if (month < w.FirstValue || month > w.AsOf) continue;
            var mask = rule.SourcesMask;
            var gk = 0;
            for (var i = 0; i < credited.Length; i++)
            {
                if ((_masks[i] & mask) == 0) continue;
                var g = _globals[i];
                if (Array.IndexOf(_scratch, g, 0, gk) >= 0) continue; // two locations of G on one row: once
                if (gk == _scratch.Length) Array.Resize(ref _scratch, gk * 2);
                _scratch[gk++] = g;
            }
            for (var j = 0; j < gk; j++)
            {
                Series? s = null;
                foreach (var (tg, td, ts) in _tenantSeries)
                {
                    if (tg != _scratch[j] || td != d) continue;
                    s = ts;
                    break;
                }
                if (s is null) _tenantSeries.Add((_scratch[j], d, s = _free[d].Count > 0 ? _free[d].Pop() : new Series(w.ValueMonths)));
                s.Revenue[month - w.FirstValue] += revenue;
                s.Users[month - w.FirstValue] += users;
                s.HasRows[month - w.FirstValue] = true;
                if (month < w.AsOf - 13) continue; // the view lists what credits G in the months the metrics read
                foreach (var link in links)
                {
                    // The links of G's locations through a source the designation counts; each once per customer.
                    if ((link.SourceBit & mask) == 0 || _globals[link.Credited] != _scratch[j] || s.Links.Contains(link)) continue;
                    s.Links.Add(link);
                }
            }
        }
    }

    /// <summary>The customers' rows of the eligibility view (when tracked), sorted by global partner, designation order, tenant.</summary>
    public IReadOnlyList<ScoreCustomerRow> ToCustomers()
    {
        FoldTenant();
        var order = _designations.Select(d => d.Name).ToList();
        return [.. _customers.OrderBy(c => c.GlobalPartnerId).ThenBy(c => order.IndexOf(c.Designation)).ThenBy(c => c.CustomerTenantId)];
    }

    /// <summary>The shard's partials, sorted by global partner then designation order.</summary>
    public IReadOnlyList<ScorePartial> ToPartials()
    {
        FoldTenant();
        var partials = new List<ScorePartial>(_counts.Count);
        foreach (var ((g, d), metrics) in _counts.OrderBy(kv => kv.Key.Global).ThenBy(kv => kv.Key.Designation))
            partials.Add(new ScorePartial { GlobalPartnerId = g, Designation = _designations[d].Name, AsOf = _asOf, Metrics = metrics });
        return partials;
    }

    /// <summary>Adds the current tenant's series to the counts of its (global partner, designation) pairs and frees them.</summary>
    private void FoldTenant()
    {
        foreach (var (g, d, s) in _tenantSeries)
        {
            var rule = _designations[d];
            var w = _windows[d];
            if (!_counts.TryGetValue((g, d), out var metrics)) _counts.Add((g, d), metrics = EmptyMetrics(rule, w));
            var k = 0;
            for (var t = 0; t < rule.Tracks.Count; t++)
                foreach (var m in rule.Tracks[t].Metrics)
                    if (!m.Metric.IsCertification()) AddTenant(metrics[k++], m, w, s);
            if (TracksCustomers) AddCustomer(g, rule, w, s);
            s.Clear();
            _free[d].Push(s);
        }
        _tenantSeries.Clear();
    }

    /// <summary>The tenant's row of the eligibility view, when it has credited rows in the months the metrics read (M−13 … M).</summary>
    private void AddCustomer(long global, DesignationRule rule, ScoreWindow w, Series s)
    {
        var any = false;
        for (var month = w.AsOf - 13; month <= w.AsOf && !any; month++) any = s.HasRows[month - w.FirstValue];
        if (!any) return;
        double[] Values(Int128[] v)
        {
            Int128 sum = 0, peak = 0;
            for (var i = w.AsOf - (_windowMonths - 1); i <= w.AsOf; i++)
            {
                sum += v[i - w.FirstValue];
                peak = Int128.Max(peak, v[i - w.FirstValue]);
            }
            return [Nano.ToDouble(v[w.AsOf - w.FirstValue]), Nano.ToDouble(v[w.AsOf - 1 - w.FirstValue]), Nano.ToDouble(v[w.AsOf - 12 - w.FirstValue]),
                Nano.ToDouble(v[w.AsOf - 13 - w.FirstValue]), Nano.ToDouble(sum), Nano.ToDouble(peak)];
        }
        var counts = new List<string>(rule.Tracks.Count);
        foreach (var track in rule.Tracks)
        {
            char now = '-', yearAgo = '-', deployment = '-';
            foreach (var m in track.Metrics)
            {
                var v = s.Of(m.Measure);
                if (m.Metric == ScoreMetric.NetCustomerAdds)
                {
                    now = InQ(m, w, v, w.AsOf) ? '1' : '0';
                    yearAgo = InQ(m, w, v, w.AsOf - 12) ? '1' : '0';
                }
                else if (m.Metric == ScoreMetric.Deployments)
                {
                    deployment = Deployed(m, w, v, w.AsOf) ? '1' : '0';
                }
            }
            counts.Add(new string([now, yearAgo, deployment]));
        }
        _customers.Add(new ScoreCustomerRow
        {
            GlobalPartnerId = global,
            Designation = rule.Name,
            CustomerTenantId = _tenant,
            Revenue = Values(s.Revenue),
            Users = Values(s.Users),
            Counts = string.Join(';', counts),
            Associations = Associations(s.Links),
        });
    }

    private List<ScoreAssociation> Associations(List<ScoreLink> links)
    {
        var list = new List<ScoreAssociation>(links.Count);
        foreach (var link in links)
        {
            var a = Association(link);
            if (!list.Contains(a)) list.Add(a); // two DPOR links of one period (two months) are one association
        }
        list.Sort(static (x, y) =>
        {
            var c = string.CompareOrdinal(x.Source, y.Source);
            if (c == 0) c = x.PartnerId.CompareTo(y.PartnerId);
            if (c == 0) c = x.ValidFrom.CompareTo(y.ValidFrom);
            if (c == 0) c = string.CompareOrdinal(x.IngestionId, y.IngestionId);
            return c != 0 ? c : x.Line.CompareTo(y.Line);
        });
        return list;
    }

    private ScoreAssociation Association(ScoreLink link)
    {
        if (link.Subscription is { } sub)
        {
            var seg = sub.Segments[link.Segment];
            return new ScoreAssociation(AssociationSource.Dpor.Name(), seg.PartnerId, sub.Id, "", seg.From, seg.To,
                seg.SetEvent.Lineage.IngestionId, seg.SetEvent.Lineage.Line);
        }
        var a = _associations![link.Association];
        return new ScoreAssociation(a.Source.Name(), a.PartnerId, a.SubscriptionId, a.Workloads.ToString(), a.ValidFrom, a.ValidTo,
            a.Lineage.IngestionId, a.Lineage.Line);
    }

    private static ScoreMetricPartial[] EmptyMetrics(DesignationRule rule, ScoreWindow w)
    {
        var metrics = new List<ScoreMetricPartial>();
        for (var t = 0; t < rule.Tracks.Count; t++)
            foreach (var m in rule.Tracks[t].Metrics)
                metrics.Add(m.Metric switch
                {
                    ScoreMetric.NetCustomerAdds => new ScoreMetricPartial { Track = t, Metric = m.Metric, FirstMonth = new YearMonth(w.FirstCounted), Counts = new int[w.CountedMonths] },
                    ScoreMetric.UsageGrowth => new ScoreMetricPartial { Track = t, Metric = m.Metric, FirstMonth = new YearMonth(w.FirstCounted), TotalNanos = new Int128[w.CountedMonths] },
                    ScoreMetric.Deployments => new ScoreMetricPartial { Track = t, Metric = m.Metric, FirstMonth = new YearMonth(w.FirstScored), Counts = new int[w.ScoredMonths] },
                    _ => null!,
                });
        return [.. metrics.Where(m => m is not null)];
    }

    private void AddTenant(ScoreMetricPartial partial, ScoreMetricRule m, ScoreWindow w, Series s)
    {
        var v = s.Of(m.Measure);
        switch (m.Metric)
        {
            case ScoreMetric.NetCustomerAdds:
            {
                var counts = (int[])partial.Counts;
                for (var month = w.FirstCounted; month <= w.AsOf; month++)
                    if (InQ(m, w, v, month)) counts[month - w.FirstCounted]++;
                break;
            }
            case ScoreMetric.UsageGrowth:
            {
                var totals = (Int128[])partial.TotalNanos;
                for (var month = w.FirstCounted; month <= w.AsOf; month++) totals[month - w.FirstCounted] += v[month - w.FirstValue];
                break;
            }
            case ScoreMetric.Deployments:
            {
                var counts = (int[])partial.Counts;
                for (var month = w.FirstScored; month <= w.AsOf; month++)
                    if (Deployed(m, w, v, month)) counts[month - w.FirstScored]++;
                break;
            }
        }
    }

    /// <summary>§7.2: the tenant is in Q(month): its value reaches minPerTenant (and stays within maxPerTenant) in month or month−1.</summary>
    private static bool InQ(ScoreMetricRule m, ScoreWindow w, Int128[] v, int month)
    {
        var min = Nano.Of(m.MinPerTenant);
        var max = m.MaxPerTenant is { } x ? Nano.Of(x) : (Int128?)null;
        bool In(int at) { var n = v[at - w.FirstValue]; return min <= n && (max is not { } mx || n <= mx); }
        return In(month) || In(month - 1);
    }

    /// <summary>§7.2: the tenant counts as a deployment at month: the window's sum (revenue) or largest month (active users) reaches minPerTenant.</summary>
    private bool Deployed(ScoreMetricRule m, ScoreWindow w, Int128[] v, int month)
    {
        Int128 reached = 0;
        for (var i = month - (_windowMonths - 1); i <= month; i++)
            reached = m.Measure == ScoreMeasure.Revenue ? reached + v[i - w.FirstValue] : Int128.Max(reached, v[i - w.FirstValue]);
        return reached >= Nano.Of(m.MinPerTenant);
    }
}
