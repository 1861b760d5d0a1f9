using System.Globalization;
using Attribution.Domain.Credit;
using Attribution.Domain.Rules;

namespace Attribution.Domain.Scores;

/// <summary>The finish of the capability scores (§7.2–7.4): merge shard partials, score each month, the row at asOf.</summary>
public static class CapabilityScores
{
    /// <summary>Sums partials per (global partner, designation), month by month: exact, so any shard split gives the same.</summary>
    public static IReadOnlyList<ScorePartial> Merge(IEnumerable<ScorePartial> partials)
    {
        ArgumentNullException.ThrowIfNull(partials);
        var groups = new Dictionary<(long, string), List<ScorePartial>>();
        foreach (var p in partials)
        {
            if (!groups.TryGetValue((p.GlobalPartnerId, p.Designation), out var list)) groups.Add((p.GlobalPartnerId, p.Designation), list = []);
            list.Add(p);
        }
        var merged = new List<ScorePartial>(groups.Count);
        foreach (var list in groups.Values) merged.Add(list.Count == 1 ? list[0] : Sum(list));
        merged.Sort(static (a, b) => a.GlobalPartnerId != b.GlobalPartnerId ? a.GlobalPartnerId.CompareTo(b.GlobalPartnerId) : string.CompareOrdinal(a.Designation, b.Designation));
        return merged;
    }

    // One pass per (partner, designation) into fresh arrays: shards × partners additions, no intermediate records.
    private static ScorePartial Sum(List<ScorePartial> list)
    {
        var a = list[0];
        var metrics = new List<ScoreMetricPartial>(a.Metrics.Count);
        for (var i = 0; i < a.Metrics.Count; i++)
        {
            var x = a.Metrics[i];
            var counts = new int[x.Counts.Count];
            var totals = new Int128[x.TotalNanos.Count];
            foreach (var b in list)
            {
                if (b.AsOf != a.AsOf || b.Metrics.Count != a.Metrics.Count)
                    throw new InvalidOperationException($"Score partials of {a.GlobalPartnerId}/{a.Designation} differ in shape: computed for other rules or months.");
                var y = b.Metrics[i];
                if (x.Track != y.Track || x.Metric != y.Metric || x.FirstMonth != y.FirstMonth || y.Counts.Count != counts.Length || y.TotalNanos.Count != totals.Length)
                    throw new InvalidOperationException($"Score partials of {a.GlobalPartnerId}/{a.Designation} differ in shape: computed for other rules or months.");
                for (var k = 0; k < counts.Length; k++) counts[k] += y.Counts[k];
                for (var k = 0; k < totals.Length; k++) totals[k] += y.TotalNanos[k];
            }
            metrics.Add(x with { Counts = counts, TotalNanos = totals });
        }
        return a with { Metrics = metrics };
    }

    /// <summary>
    /// The distinct persons, across the given records (one global partner's locations), holding at least one of
    /// <paramref name="codes"/> in force on <paramref name="day"/>. Codes compare case-insensitively.
    /// </summary>
    public static int CertifiedPersons(IEnumerable<CertificationRecord> certifications, IReadOnlyCollection<string> codes, DateOnly day)
    {
        ArgumentNullException.ThrowIfNull(certifications);
        ArgumentNullException.ThrowIfNull(codes);
        var persons = new HashSet<string>(StringComparer.Ordinal); // person ids are opaque: compared exactly
        foreach (var c in certifications)
            if (c.InForceOn(day) && codes.Contains(c.Certification, StringComparer.OrdinalIgnoreCase))
                persons.Add(c.PersonId);
        return persons.Count;
    }

    /// <summary>
    /// Scores designation <paramref name="d"/> for one global partner: each month of the qualification window ending
    /// asOf, and the §7.4 row. <paramref name="partial"/> is the merged partial (null: no credited usage);
    /// <paramref name="certifications"/> those of G's locations.
    /// </summary>
    public static DesignationScore Score(DesignationRule d, int windowMonths, YearMonth asOf, long globalPartnerId,
        ScorePartial? partial, IReadOnlyList<CertificationRecord> certifications)
    {
        ArgumentNullException.ThrowIfNull(d);
        ArgumentNullException.ThrowIfNull(certifications);
        var w = ScoreWindow.Of(d, windowMonths, asOf);
        var months = new List<DesignationMonth>(w.ScoredMonths);
        for (var m = w.FirstScored; m <= w.AsOf; m++)
        {
            var tracks = new List<TrackScore>(d.Tracks.Count);
            for (var t = 0; t < d.Tracks.Count; t++)
            {
                var metrics = new List<MetricScore>();
                foreach (var rule in d.Tracks[t].Metrics)
                    metrics.Add(Metric(rule, new YearMonth(m), partial?.Metrics.FirstOrDefault(p => p.Track == t && p.Metric == rule.Metric), certifications));
                var score = 0.0;
                foreach (var x in metrics) score += x.Points;
                tracks.Add(new TrackScore(d.Tracks[t].Name, score, score >= d.QualifyingPoints && metrics.All(x => x.Points > 0), metrics));
            }
            months.Add(new DesignationMonth(new YearMonth(m), tracks, Choose(tracks)));
        }

        var now = months[^1].Chosen;
        var qualified = months.Where(x => x.Qualified).Select(x => x.Month.ToString()).ToList();
        MetricScore? Of(ScoreMetric metric) => now.Metrics.FirstOrDefault(x => x.Metric == metric);
        int? Count(ScoreMetric metric) => Of(metric)?.Value is { } v ? (int)v : null;
        var row = new CapabilityScoreRow
        {
            GlobalPartnerId = new PartnerId(globalPartnerId),
            Designation = d.Name,
            AsOf = asOf,
            Track = now.Track,
            Score = now.Score,
            Qualified = now.Qualifies,
            Eligible = qualified.Count > 0,
            QualifiedMonths = string.Join(';', qualified),
            PointsToQualify = Math.Max(0, d.QualifyingPoints - now.Score),
            ZeroMetrics = string.Join(';', now.Metrics.Where(x => x.Points == 0).Select(x => x.Metric.Name()).Order(StringComparer.Ordinal)),
            NetCustomerAdds = Count(ScoreMetric.NetCustomerAdds),
            NetCustomerAddsPoints = Of(ScoreMetric.NetCustomerAdds)?.Points,
            UsageGrowthPercent = Of(ScoreMetric.UsageGrowth)?.Value,
            UsageGrowthPoints = Of(ScoreMetric.UsageGrowth)?.Points,
            Deployments = Count(ScoreMetric.Deployments),
            DeploymentsPoints = Of(ScoreMetric.Deployments)?.Points,
            IntermediateCertifications = Count(ScoreMetric.IntermediateCertifications),
            IntermediateCertificationsPoints = Of(ScoreMetric.IntermediateCertifications)?.Points,
            AdvancedCertifications = Count(ScoreMetric.AdvancedCertifications),
            AdvancedCertificationsPoints = Of(ScoreMetric.AdvancedCertifications)?.Points,
        };
        return new DesignationScore(months, row);
    }

    /// <summary>§7.2: the qualifying track with the highest score, else the highest score; ties go to the first listed.</summary>
    public static TrackScore Choose(IReadOnlyList<TrackScore> tracks)
    {
        ArgumentNullException.ThrowIfNull(tracks);
        TrackScore? best = null;
        foreach (var t in tracks)
        {
            if (best is null) { best = t; continue; }
            if (t.Qualifies != best.Qualifies) { if (t.Qualifies) best = t; continue; }
            if (t.Score > best.Score) best = t; // strictly greater: the first listed keeps a tie
        }
        return best ?? throw new ArgumentException("A designation has at least one track.", nameof(tracks));
    }

    private static MetricScore Metric(ScoreMetricRule rule, YearMonth m, ScoreMetricPartial? p, IReadOnlyList<CertificationRecord> certifications)
    {
        int CountAt(YearMonth month) => p is null ? 0 : p.Counts[month.Index - p.FirstMonth.Index];
        Int128 TotalAt(YearMonth month) => p is null ? 0 : p.TotalNanos[month.Index - p.FirstMonth.Index];
        switch (rule.Metric)
        {
            case ScoreMetric.NetCustomerAdds:
            {
                var value = CountAt(m) - CountAt(m.AddMonths(-12)); // may be negative; points never are
                return new MetricScore(rule, value, rule.Points(value));
            }
            case ScoreMetric.UsageGrowth:
            {
                var (b, n) = (TotalAt(m.AddMonths(-12)), TotalAt(m));
                var baseline = Nano.ToDouble(b);
                var now = Nano.ToDouble(n);
                if (b == 0 || b < Nano.Of(rule.MinBaseline))
                    return new MetricScore(rule, null, 0) { Baseline = baseline, Now = now };
                // Exact totals first, one division last: the percent is the same whatever the shard split.
                var percent = (double)(n - b) / (double)b * 100;
                return new MetricScore(rule, percent, rule.Points(percent)) { Baseline = baseline, Now = now };
            }
            case ScoreMetric.Deployments:
            {
                var value = CountAt(m);
                return new MetricScore(rule, value, rule.Points(value));
            }
            default:
            {
                var value = CertifiedPersons(certifications, rule.Certifications, m.LastDay);
                return new MetricScore(rule, value, rule.Points(value));
            }
        }
    }

    /// <summary>
    /// What the next point of a metric takes (for the readers): the smallest whole increase of the value (customers,
    /// deployments, certified persons) that adds a point or reaches maxPoints; for usageGrowth, the total(M) that does.
    /// </summary>
    public static NextPoint NextPointOf(MetricScore score)
    {
        ArgumentNullException.ThrowIfNull(score);
        var rule = score.Rule;
        if (score.Points >= rule.MaxPoints) return new NextPoint(null, $"at maxPoints ({Num(rule.MaxPoints)})");
        var target = Math.Min(rule.MaxPoints, score.Points + 1);
        if (rule.Metric == ScoreMetric.UsageGrowth)
        {
            if (score.Value is null)
                return new NextPoint(null, $"no points until total(M−12) reaches minBaseline {Num(rule.MinBaseline)}" +
                    (score.Baseline is { } b ? $" (it is {Num(b)})" : ""));
            var percent = target / rule.PointsPerUnit;
            if (score.Baseline is not { } baseline)
                return new NextPoint(percent, $"growth of {Num(percent)}% (now {Num(score.Value.Value)}%)");
            var needed = baseline * (1 + percent / 100);
            return new NextPoint(needed, $"total(M) of {Num(needed)} {rule.Measure.Name()} (now {Num(score.Now ?? 0)})");
        }
        // The value that reaches the target points, as a whole count above the current value; the tolerance keeps a
        // quotient such as 3.0000000000000004 (binary fractions) from asking for one more than needed.
        var value = score.Value ?? 0;
        var more = Math.Max(1, Math.Ceiling(target / rule.PointsPerUnit - value - 1e-9));
        var what = rule.Metric switch
        {
            ScoreMetric.NetCustomerAdds => "qualifying customer",
            ScoreMetric.Deployments => "deployment",
            _ => "certified person",
        };
        return new NextPoint(more, $"{Num(more)} more {what}{(more == 1 ? "" : "s")}");
    }

    /// <summary>
    /// §7.4's population: the global partners with a GlobalPartnerCredit row for asOf, and those with any certification
    /// in force on the last day of a month of the longest qualification window. Sorted.
    /// </summary>
    public static IReadOnlyList<long> Population(CreditRules rules, YearMonth asOf, IEnumerable<long> globalPartnersWithCredit,
        IEnumerable<CertificationRecord> certifications, IReadOnlyDictionary<long, long> globalPartnerOf)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(globalPartnersWithCredit);
        ArgumentNullException.ThrowIfNull(certifications);
        ArgumentNullException.ThrowIfNull(globalPartnerOf);
        if (rules.Designations.Count == 0) return [];
        var set = new SortedSet<long>(globalPartnersWithCredit);
        var months = rules.Designations.Max(d => d.QualificationMonths);
        var days = Enumerable.Range(0, months).Select(i => asOf.AddMonths(-i).LastDay).ToList();
        foreach (var c in certifications)
            if (days.Exists(c.InForceOn))
                set.Add(globalPartnerOf.TryGetValue(c.PartnerId, out var g) ? g : c.PartnerId);
        return [.. set];
    }

    /// <summary>
    /// The `PartnerCapabilityScore` rows (§7.4) of one reduce scope: every global partner of the population (those with
    /// credit, and those with a certification in force in the window) times every designation, sorted by global partner
    /// then designation order. <paramref name="certifications"/> holds at least the certifications of the scope's
    /// global partners; <paramref name="inScope"/> says which global partners this reduce owns.
    /// </summary>
    public static IReadOnlyList<CapabilityScoreRow> Finish(CreditRules rules, YearMonth asOf, IEnumerable<ScorePartial> partials,
        IEnumerable<long> globalPartnersWithCredit, IEnumerable<CertificationRecord> certifications,
        IReadOnlyDictionary<long, long> globalPartnerOf, Func<long, bool> inScope)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(partials);
        ArgumentNullException.ThrowIfNull(certifications);
        ArgumentNullException.ThrowIfNull(globalPartnerOf);
        ArgumentNullException.ThrowIfNull(inScope);
        if (rules.Designations.Count == 0) return [];
        long GlobalOf(long partner) => globalPartnerOf.TryGetValue(partner, out var g) ? g : partner;
        var certsOf = new Dictionary<long, List<CertificationRecord>>();
        foreach (var c in certifications)
        {
            var g = GlobalOf(c.PartnerId);
            if (!inScope(g)) continue;
            if (!certsOf.TryGetValue(g, out var list)) certsOf.Add(g, list = []);
            list.Add(c);
        }
        var merged = new Dictionary<(long, string), ScorePartial>();
        foreach (var p in Merge(partials)) merged[(p.GlobalPartnerId, p.Designation)] = p;
        var population = Population(rules, asOf, globalPartnersWithCredit.Where(inScope), certsOf.Values.SelectMany(l => l), globalPartnerOf);
        var rows = new List<CapabilityScoreRow>(population.Count * rules.Designations.Count);
        foreach (var g in population)
        {
            IReadOnlyList<CertificationRecord> certs = certsOf.TryGetValue(g, out var list) ? list : [];
            foreach (var d in rules.Designations)
                rows.Add(Score(d, rules.WindowMonths, asOf, g, merged.GetValueOrDefault((g, d.Name)), certs).Row);
        }
        return rows;
    }

    private static string Num(double x) => x.ToString("0.##", CultureInfo.InvariantCulture);
}
