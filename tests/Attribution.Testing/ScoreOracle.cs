using System.Globalization;
using Attribution.Domain;
using Attribution.Domain.Rules;

namespace Attribution.Testing;

/// <summary>One month of the qualification window as the oracle scored it: the chosen track, its score, whether it qualifies.</summary>
public sealed record ExpectedMonthResult(YearMonth Month, string Track, double Score, bool Qualified);

/// <summary>
/// The `PartnerCapabilityScore` row (§7.4) the oracle expects for one (global partner, designation), without `runId`.
/// Metric properties are those of the chosen track: null when the track lacks the metric (and `usageGrowthPercent`
/// when the baseline is too small).
/// </summary>
public sealed record ExpectedScoreRow
{
    public long GlobalPartnerId { get; init; }
    public string Designation { get; init; } = "";
    public YearMonth AsOf { get; init; }
    public string RulesVersion { get; init; } = "";
    public string Track { get; init; } = "";
    public double Score { get; init; }
    public bool Qualified { get; init; }
    public bool Eligible { get; init; }
    public string QualifiedMonths { get; init; } = "";
    public double PointsToQualify { get; init; }
    public string ZeroMetrics { get; init; } = "";
    public int? NetCustomerAdds { get; init; }
    public double? NetCustomerAddsPoints { get; init; }
    public double? UsageGrowthPercent { get; init; }
    public double? UsageGrowthPoints { get; init; }
    public int? Deployments { get; init; }
    public double? DeploymentsPoints { get; init; }
    public int? IntermediateCertifications { get; init; }
    public double? IntermediateCertificationsPoints { get; init; }
    public int? AdvancedCertifications { get; init; }
    public double? AdvancedCertificationsPoints { get; init; }

    /// <summary>Every month of the qualification window, ascending (the last is asOf): for diagnosing a mismatch.</summary>
    public IReadOnlyList<ExpectedMonthResult> Months { get; init; } = [];

    public string PartitionKey => GlobalPartnerId.ToString(CultureInfo.InvariantCulture);
    public string RowKey => $"{AsOf}|{Designation}";

    /// <summary>
    /// The §7.4 properties as a table entity holds them (ids and months as strings, counts as int, points as double),
    /// keyed by the contract's names; `runId` is the run's and is left out.
    /// </summary>
    public Dictionary<string, object?> ToProperties() => new(StringComparer.Ordinal)
    {
        ["globalPartnerId"] = PartitionKey,
        ["designation"] = Designation,
        ["asOf"] = AsOf.ToString(),
        ["track"] = Track,
        ["score"] = Score,
        ["qualified"] = Qualified,
        ["eligible"] = Eligible,
        ["qualifiedMonths"] = QualifiedMonths,
        ["pointsToQualify"] = PointsToQualify,
        ["zeroMetrics"] = ZeroMetrics,
        ["rulesVersion"] = RulesVersion,
        ["netCustomerAdds"] = NetCustomerAdds,
        ["netCustomerAddsPoints"] = NetCustomerAddsPoints,
        ["usageGrowthPercent"] = UsageGrowthPercent,
        ["usageGrowthPoints"] = UsageGrowthPoints,
        ["deployments"] = Deployments,
        ["deploymentsPoints"] = DeploymentsPoints,
        ["intermediateCertifications"] = IntermediateCertifications,
        ["intermediateCertificationsPoints"] = IntermediateCertificationsPoints,
        ["advancedCertifications"] = AdvancedCertifications,
        ["advancedCertificationsPoints"] = AdvancedCertificationsPoints,
    };
}

/// <summary>
/// An independent, deliberately naive reference implementation of the capability scores (PRODUCT.md §7), for tests to
/// check the production engine against row by row. It reads only plain records and the parsed rules (as data) and
/// calls none of the engine: associations are matched against every usage row by brute force, the DPOR is worked out
/// day by day from the events, and every amount is a <see cref="decimal"/> until the row is built.
/// </summary>
public static class ScoreOracle
{
    private static readonly string[] MetricOrder =
        ["netCustomerAdds", "usageGrowth", "deployments", "intermediateCertifications", "advancedCertifications"];

    /// <summary>Doubles equal to a relative tolerance of 1e-9 (scaled by at least 1, so values near zero compare absolutely).</summary>
    public static bool Close(double a, double b)
    {
        if (a.Equals(b)) return true;
        if (double.IsNaN(a) || double.IsNaN(b) || double.IsInfinity(a) || double.IsInfinity(b)) return false;
        return Math.Abs(a - b) <= 1e-9 * Math.Max(1.0, Math.Max(Math.Abs(a), Math.Abs(b)));
    }

    public static bool Close(double? a, double? b) => a is null ? b is null : b is not null && Close(a.Value, b.Value);

    /// <summary>
    /// The expected `PartnerCapabilityScore` rows for <paramref name="asOf"/>: one per (global partner of §7.4's
    /// population, designation in rules order), sorted by global partner id. <paramref name="globalPartnersWithCredit"/>
    /// are the global partners with a `GlobalPartnerCredit` row for asOf (see <see cref="GlobalPartnersCredited"/>).
    /// </summary>
    public static IReadOnlyList<ExpectedScoreRow> Expected(
        CreditRules rules,
        YearMonth asOf,
        IReadOnlyList<UsageRecord> usage,
        IReadOnlyList<Association> associations,
        IReadOnlyList<DporEvent> dpor,
        IReadOnlyList<PartnerRecord> partners,
        IReadOnlyList<CertificationRecord> certifications,
        IReadOnlySet<long> globalPartnersWithCredit)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(usage);
        ArgumentNullException.ThrowIfNull(associations);
        ArgumentNullException.ThrowIfNull(dpor);
        ArgumentNullException.ThrowIfNull(partners);
        ArgumentNullException.ThrowIfNull(certifications);
        ArgumentNullException.ThrowIfNull(globalPartnersWithCredit);
        if (rules.Designations.Count == 0) return [];

        var world = new Crediting(partners, associations, dpor);
        var population = Population(rules, asOf, certifications, globalPartnersWithCredit, world);

        // Every tenant the usage knows: value(t, m) is 0 for a tenant G has no credited rows of.
        var allTenants = usage.Select(u => u.CustomerTenantId).Distinct().ToList();

        // value(t, m) per (G, designation), in both measures: every usage row, every designation that reads its workload,
        // every global partner one of whose locations a source of the designation credits on it — once per G.
        var values = new Dictionary<(long Global, string Designation), Dictionary<(Guid Tenant, YearMonth Month), (decimal Revenue, decimal Users)>>();
        foreach (var u in usage)
        {
            foreach (var d in rules.Designations)
            {
                if (!d.Workloads.Members().Contains(u.Workload)) continue;
                foreach (var g in world.CreditedGlobals(u, d.Sources))
                {
                    if (!values.TryGetValue((g, d.Name), out var perTenant))
                        values[(g, d.Name)] = perTenant = [];
                    perTenant.TryGetValue((u.CustomerTenantId, u.Month), out var sum);
                    var revenue = u.ConsumedRevenueUsd is { } r ? new decimal(r) : 0m;
                    var users = u.ActiveUsers is { } n ? (decimal)n : 0m;
                    perTenant[(u.CustomerTenantId, u.Month)] = (sum.Revenue + revenue, sum.Users + users);
                }
            }
        }

        var certsOf = certifications.GroupBy(c => world.GlobalOf(c.PartnerId)).ToDictionary(x => x.Key, x => x.ToList());
        var rows = new List<ExpectedScoreRow>();
        foreach (var g in population)
        {
            foreach (var d in rules.Designations)
            {
                var credited = values.TryGetValue((g, d.Name), out var v) ? v : [];
                var scorer = new Scorer(rules.WindowMonths, allTenants, credited, certsOf.TryGetValue(g, out var cs) ? cs : []);
                rows.Add(Row(rules, d, asOf, g, scorer));
            }
        }
        return rows;
    }

    /// <summary>One customer of the eligibility view (§7.4), in the measure of the chosen track's netCustomerAdds (else its deployments).</summary>
    public sealed record ExpectedCustomer(Guid CustomerTenantId, double ValueM, double ValueM1, double ValueM12, double ValueM13,
        double WindowSum, double WindowPeak, bool CountsNow, bool CountsYearAgo, bool CountsDeployment);

    /// <summary>
    /// The customer eligibility view of (<paramref name="global"/>, <paramref name="designation"/>) for the track
    /// <paramref name="track"/>: every tenant with a credited row of the designation (any amount) in M−13 … M, its values
    /// and whether it counts in Q(M), Q(M−12) and deployments, from the contract alone.
    /// </summary>
    public static IReadOnlyList<ExpectedCustomer> ExpectedCustomers(CreditRules rules, YearMonth asOf, IReadOnlyList<UsageRecord> usage,
        IReadOnlyList<Association> associations, IReadOnlyList<DporEvent> dpor, IReadOnlyList<PartnerRecord> partners,
        long global, string designation, string track)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(usage);
        var world = new Crediting(partners, associations, dpor);
        var d = rules.Designations.Single(x => x.Name == designation);
        var t = d.Tracks.Single(x => x.Name == track);
        var adds = t.Metrics.FirstOrDefault(m => m.Metric == ScoreMetric.NetCustomerAdds);
        var deployments = t.Metrics.FirstOrDefault(m => m.Metric == ScoreMetric.Deployments);
        var measure = (adds ?? deployments)?.Measure ?? ScoreMeasure.Revenue;
        var values = new Dictionary<(Guid Tenant, YearMonth Month), (decimal Revenue, decimal Users)>();
        var listed = new HashSet<Guid>();
        foreach (var u in usage)
        {
            if (!d.Workloads.Members().Contains(u.Workload) || !world.CreditedGlobals(u, d.Sources).Contains(global)) continue;
            values.TryGetValue((u.CustomerTenantId, u.Month), out var sum);
            values[(u.CustomerTenantId, u.Month)] = (sum.Revenue + (u.ConsumedRevenueUsd is { } r ? new decimal(r) : 0m), sum.Users + (u.ActiveUsers ?? 0));
            if (u.Month >= asOf.AddMonths(-13) && u.Month <= asOf) listed.Add(u.CustomerTenantId);
        }
        decimal V(Guid tenant, YearMonth m, ScoreMeasure which) =>
            values.TryGetValue((tenant, m), out var v) ? (which == ScoreMeasure.Revenue ? v.Revenue : v.Users) : 0m;
        bool In(Guid tenant, YearMonth m) => adds is not null && V(tenant, m, adds.Measure) >= (decimal)adds.MinPerTenant
            && (adds.MaxPerTenant is not { } max || V(tenant, m, adds.Measure) <= (decimal)max);
        var result = new List<ExpectedCustomer>();
        foreach (var tenant in listed.Order())
        {
            var window = Enumerable.Range(0, rules.WindowMonths).Select(i => asOf.AddMonths(-i)).ToList();
            var sum = window.Sum(m => V(tenant, m, measure));
            var peak = window.Max(m => V(tenant, m, measure));
            var reached = deployments is null ? 0m
                : deployments.Measure == ScoreMeasure.Revenue ? window.Sum(m => V(tenant, m, ScoreMeasure.Revenue)) : window.Max(m => V(tenant, m, ScoreMeasure.ActiveUsers));
            result.Add(new ExpectedCustomer(tenant, (double)V(tenant, asOf, measure), (double)V(tenant, asOf.AddMonths(-1), measure),
                (double)V(tenant, asOf.AddMonths(-12), measure), (double)V(tenant, asOf.AddMonths(-13), measure), (double)sum, (double)peak,
                In(tenant, asOf) || In(tenant, asOf.AddMonths(-1)), In(tenant, asOf.AddMonths(-12)) || In(tenant, asOf.AddMonths(-13)),
                deployments is not null && reached >= (decimal)deployments.MinPerTenant));
        }
        return result;
    }

    /// <summary>
    /// §4's global partners with a `GlobalPartnerCredit` row: the global partner of every location credited (§3, any
    /// source, the DPOR on ≥1 day of the month; only the DPOR under `dporOnly`) on at least one usage row of the window.
    /// </summary>
    public static IReadOnlySet<long> GlobalPartnersCredited(CreditRules rules, YearMonth asOf, IReadOnlyList<UsageRecord> usage,
        IReadOnlyList<Association> associations, IReadOnlyList<DporEvent> dpor, IReadOnlyList<PartnerRecord> partners)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(usage);
        var world = new Crediting(partners, associations, dpor);
        var first = asOf.AddMonths(-(rules.WindowMonths - 1));
        IReadOnlyList<AssociationSource> sources = rules.CreditPolicy == CreditPolicy.DporOnly
            ? [AssociationSource.Dpor]
            : Enum.GetValues<AssociationSource>();
        var set = new HashSet<long>();
        foreach (var u in usage)
            if (u.Month >= first && u.Month <= asOf)
                set.UnionWith(world.CreditedGlobals(u, sources));
        return set;
    }

    // §7.4: the global partners with credit, and those with any certification in force on the last day of a month of the
    // qualification window (the longest designation's, when designations differ).
    private static SortedSet<long> Population(CreditRules rules, YearMonth asOf, IReadOnlyList<CertificationRecord> certifications,
        IReadOnlySet<long> withCredit, Crediting world)
    {
        var population = new SortedSet<long>(withCredit);
        var months = rules.Designations.Max(d => d.QualificationMonths);
        foreach (var c in certifications)
        {
            for (var i = 0; i < months; i++)
            {
                if (Held(c, asOf.AddMonths(-i).LastDay))
                {
                    population.Add(world.GlobalOf(c.PartnerId));
                    break;
                }
            }
        }
        return population;
    }

    private static bool Held(CertificationRecord c, DateOnly day) =>
        c.EarnedOn <= day && (c.ExpiresOn is null || c.ExpiresOn.Value >= day);

    private sealed record MetricResult(string Name, decimal? Value, decimal Points);

    private sealed record TrackResult(string Name, decimal Score, bool Qualifies, List<MetricResult> Metrics);

    private static ExpectedScoreRow Row(CreditRules rules, DesignationRule d, YearMonth asOf, long g, Scorer scorer)
    {
        var qualifying = (decimal)d.QualifyingPoints;
        var months = new List<(YearMonth Month, TrackResult Chosen)>();
        for (var back = d.QualificationMonths - 1; back >= 0; back--)
        {
            var m = asOf.AddMonths(-back);
            var tracks = new List<TrackResult>();
            foreach (var track in d.Tracks)
            {
                var metrics = track.Metrics.Select(rule => scorer.Metric(rule, m)).ToList();
                var score = 0m;
                foreach (var x in metrics) score += x.Points;
                var allPositive = true;
                foreach (var x in metrics) if (x.Points <= 0m) allPositive = false;
                tracks.Add(new TrackResult(track.Name, score, score >= qualifying && allPositive, metrics));
            }
            months.Add((m, Choose(tracks)));
        }

        var now = months[^1].Chosen;
        MetricResult? Of(string name) => now.Metrics.FirstOrDefault(x => x.Name == name);
        int? Count(string name) => Of(name) is { } x ? (int)x.Value!.Value : null;
        double? Points(string name) => Of(name) is { } x ? (double)x.Points : null;
        var zero = now.Metrics.Where(x => x.Points == 0m).Select(x => x.Name).ToList();
        zero.Sort(StringComparer.Ordinal);
        var qualifiedMonths = months.Where(x => x.Chosen.Qualifies).Select(x => x.Month.ToString()).ToList();

        return new ExpectedScoreRow
        {
            GlobalPartnerId = g,
            Designation = d.Name,
            AsOf = asOf,
            RulesVersion = rules.RulesVersion,
            Track = now.Name,
            Score = (double)now.Score,
            Qualified = now.Qualifies,
            Eligible = qualifiedMonths.Count > 0,
            QualifiedMonths = string.Join(";", qualifiedMonths),
            PointsToQualify = (double)(qualifying - now.Score > 0m ? qualifying - now.Score : 0m),
            ZeroMetrics = string.Join(";", zero),
            NetCustomerAdds = Count("netCustomerAdds"),
            NetCustomerAddsPoints = Points("netCustomerAdds"),
            UsageGrowthPercent = Of("usageGrowth") is { } growth ? (growth.Value is { } p ? (double)p : null) : null,
            UsageGrowthPoints = Points("usageGrowth"),
            Deployments = Count("deployments"),
            DeploymentsPoints = Points("deployments"),
            IntermediateCertifications = Count("intermediateCertifications"),
            IntermediateCertificationsPoints = Points("intermediateCertifications"),
            AdvancedCertifications = Count("advancedCertifications"),
            AdvancedCertificationsPoints = Points("advancedCertifications"),
            Months = [.. months.Select(x => new ExpectedMonthResult(x.Month, x.Chosen.Name, (double)x.Chosen.Score, x.Chosen.Qualifies))],
        };
    }

    // §7.2: the qualifying track with the highest score, else the highest score; on a tie the first listed stays.
    private static TrackResult Choose(List<TrackResult> tracks)
    {
        TrackResult? best = null;
        foreach (var t in tracks)
            if (t.Qualifies && (best is null || t.Score > best.Score)) best = t;
        if (best is not null) return best;
        foreach (var t in tracks)
            if (best is null || t.Score > best.Score) best = t;
        return best!;
    }

    /// <summary>One global partner's view of one designation: its credited values per tenant and month, and its certifications.</summary>
    private sealed class Scorer(int windowMonths, List<Guid> allTenants,
        Dictionary<(Guid Tenant, YearMonth Month), (decimal Revenue, decimal Users)> credited, List<CertificationRecord> certifications)
    {
        private readonly List<Guid> _creditedTenants = credited.Keys.Select(k => k.Tenant).Distinct().ToList();
        private readonly int _uncreditedTenants = allTenants.Except(credited.Keys.Select(k => k.Tenant)).Count();

        private decimal Value(Guid tenant, YearMonth m, ScoreMeasure measure) =>
            credited.TryGetValue((tenant, m), out var v) ? (measure == ScoreMeasure.Revenue ? v.Revenue : v.Users) : 0m;

        // Counts the tenants (all the usage knows) meeting a condition. A tenant without credited rows has value 0 in
        // every month: it counts exactly when 0 meets the condition, so it is asked once for all of them.
        private int CountTenants(Func<Guid?, bool> condition)
        {
            var n = _creditedTenants.Count(t => condition(t));
            if (_uncreditedTenants > 0 && condition(null)) n += _uncreditedTenants;
            return n;
        }

        public MetricResult Metric(ScoreMetricRule rule, YearMonth m)
        {
            decimal? value = rule.Metric switch
            {
                ScoreMetric.NetCustomerAdds => NetCustomerAdds(rule, m),
                ScoreMetric.UsageGrowth => UsageGrowth(rule, m),
                ScoreMetric.Deployments => Deployments(rule, m),
                ScoreMetric.IntermediateCertifications or ScoreMetric.AdvancedCertifications => Certified(rule, m),
                _ => throw new ArgumentOutOfRangeException(nameof(rule)),
            };
            var points = value is { } x ? x * (decimal)rule.PointsPerUnit : 0m;
            if (points < 0m) points = 0m;
            if (points > (decimal)rule.MaxPoints) points = (decimal)rule.MaxPoints;
            return new MetricResult(MetricOrder[(int)rule.Metric], value, points);
        }

        private decimal NetCustomerAdds(ScoreMetricRule rule, YearMonth m) => Q(rule, m) - Q(rule, m.AddMonths(-12));

        // Q(M): the tenants within [minPerTenant, maxPerTenant] in M or in M−1.
        private int Q(ScoreMetricRule rule, YearMonth m)
        {
            var min = (decimal)rule.MinPerTenant;
            decimal? max = rule.MaxPerTenant is { } mx ? (decimal)mx : null;
            bool Fits(decimal v) => v >= min && (max is null || v <= max.Value);
            return CountTenants(t => t is null
                ? Fits(0m)
                : Fits(Value(t.Value, m, rule.Measure)) || Fits(Value(t.Value, m.AddMonths(-1), rule.Measure)));
        }

        private decimal Total(YearMonth m, ScoreMeasure measure)
        {
            var total = 0m;
            foreach (var t in _creditedTenants) total += Value(t, m, measure);
            return total;
        }

        private decimal? UsageGrowth(ScoreMetricRule rule, YearMonth m)
        {
            var baseline = Total(m.AddMonths(-12), rule.Measure);
            var now = Total(m, rule.Measure);
            if (baseline == 0m || baseline < (decimal)rule.MinBaseline) return null;
            return (now - baseline) / baseline * 100m;
        }

        // The tenants whose measure over the windowMonths ending M reaches minPerTenant: the sum of the months for
        // revenue, the largest month for active users.
        private int Deployments(ScoreMetricRule rule, YearMonth m)
        {
            var min = (decimal)rule.MinPerTenant;
            return CountTenants(t =>
            {
                if (t is null) return 0m >= min;
                var sum = 0m;
                var peak = 0m;
                for (var i = 0; i < windowMonths; i++)
                {
                    var v = Value(t.Value, m.AddMonths(-i), rule.Measure);
                    sum += v;
                    if (v > peak) peak = v;
                }
                return (rule.Measure == ScoreMeasure.Revenue ? sum : peak) >= min;
            });
        }

        // Distinct person ids (exact) across G's locations with a listed code (any case) in force on M's last day.
        private int Certified(ScoreMetricRule rule, YearMonth m)
        {
            var day = m.LastDay;
            var persons = new List<string>();
            foreach (var c in certifications)
            {
                if (!Held(c, day)) continue;
                var listed = rule.Certifications.Any(code => string.Equals(code.Trim(), c.Certification.Trim(), StringComparison.OrdinalIgnoreCase));
                if (listed && !persons.Contains(c.PersonId, StringComparer.Ordinal)) persons.Add(c.PersonId);
            }
            return persons.Count;
        }
    }

    /// <summary>
    /// §3's crediting, brute force: the partner directory, the associations by tenant and the DPOR events by
    /// subscription. Public so a test can hand the same credited partners to the engine's score accumulator.
    /// </summary>
    public sealed class Crediting
    {
        private readonly Dictionary<long, long> _globalOf = [];
        private readonly ILookup<Guid, Association> _byTenant;
        private readonly ILookup<Guid, DporEvent> _dporBySubscription;
        private readonly Dictionary<(Guid, YearMonth), List<long>> _dporInMonth = [];

        public Crediting(IReadOnlyList<PartnerRecord> partners, IReadOnlyList<Association> associations, IReadOnlyList<DporEvent> dpor)
        {
            ArgumentNullException.ThrowIfNull(partners);
            ArgumentNullException.ThrowIfNull(associations);
            ArgumentNullException.ThrowIfNull(dpor);
            foreach (var p in partners) _globalOf[p.PartnerId] = p.GlobalPartnerId;
            _byTenant = associations.ToLookup(a => a.CustomerTenantId);
            _dporBySubscription = dpor.ToLookup(e => e.SubscriptionId);
        }

        /// <summary>§3: a location rolls up to its directory entry's global partner, itself when unknown.</summary>
        public long GlobalOf(long location) => _globalOf.TryGetValue(location, out var g) ? g : location;

        /// <summary>
        /// Every (location partner, source) that credits <paramref name="u"/>: each association covering it (tenant,
        /// subscription empty or equal, workloads empty or holding it, in force on a day of the month), and the DPOR of
        /// each day of the month under `dpor`. A pair may repeat.
        /// </summary>
        public IEnumerable<(long Location, AssociationSource Source)> CreditedLocations(UsageRecord u)
        {
            ArgumentNullException.ThrowIfNull(u);
            foreach (var a in _byTenant[u.CustomerTenantId])
            {
                if (a.SubscriptionId is { } sub && sub != u.SubscriptionId) continue;
                var workloads = a.Workloads.Members().ToList();
                if (workloads.Count > 0 && !workloads.Contains(u.Workload)) continue;
                // In force on at least one day of the month: starts by its last day, ends (inclusive) on or after its first.
                if (a.ValidFrom > u.Month.LastDay) continue;
                if (a.ValidTo is { } end && end < u.Month.FirstDay) continue;
                yield return (a.PartnerId, a.Source);
            }
            foreach (var p in DporPartnersIn(u.SubscriptionId, u.Month))
                yield return (p, AssociationSource.Dpor);
        }

        /// <summary>The global partners with a location credited on <paramref name="u"/> through one of <paramref name="sources"/>.</summary>
        public HashSet<long> CreditedGlobals(UsageRecord u, IReadOnlyList<AssociationSource> sources)
        {
            ArgumentNullException.ThrowIfNull(sources);
            var globals = new HashSet<long>();
            foreach (var (location, source) in CreditedLocations(u))
                if (sources.Contains(source)) globals.Add(GlobalOf(location));
            return globals;
        }

        /// <summary>The partners that were the subscription's DPOR on at least one day of the month, worked out day by day.</summary>
        private List<long> DporPartnersIn(Guid subscription, YearMonth month)
        {
            if (_dporInMonth.TryGetValue((subscription, month), out var cached)) return cached;
            // Sorted by effective date; on the same date the later-ingested event comes last and so wins (then the later line).
            var events = _dporBySubscription[subscription]
                .OrderBy(e => e.EffectiveDate)
                .ThenBy(e => e.Lineage.IngestedAt)
                .ThenBy(e => e.Lineage.Line)
                .ToList();
            var partners = new List<long>();
            for (var day = month.FirstDay; day <= month.LastDay; day = day.AddDays(1))
            {
                // The DPOR on a day is set by the last event on or before it: a set names its partner until the day
                // before the next event; a remove leaves none from its own day on.
                DporEvent? last = null;
                foreach (var e in events)
                    if (e.EffectiveDate <= day) last = e;
                if (last is { Action: DporAction.Set } && !partners.Contains(last.PartnerId)) partners.Add(last.PartnerId);
            }
            _dporInMonth[(subscription, month)] = partners;
            return partners;
        }
    }
}
