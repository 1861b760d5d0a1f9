using Attribution.Domain.Rules;
using Attribution.Domain.Scores;

namespace Attribution.Domain.Tests.Scores;

/// <summary>A hand-built set of credited usage rows and certifications, scored for one asOf.</summary>
internal sealed class ScoreScenario
{
    public YearMonth AsOf { get; set; } = new(2026, 6);
    public CreditRules Rules { get; set; } = CreditRulesLoader.Default;
    public List<(UsageRecord Usage, ScoreCredit[] Credited)> Rows { get; } = [];
    public List<CertificationRecord> Certifications { get; } = [];
    public Dictionary<long, long> Globals { get; } = [];
    private long _line;

    public static Guid Tenant(int n) => new($"10000000-0000-0000-0000-{n:D12}");
    public static DateOnly D(string date) => DateOnly.Parse(date, System.Globalization.CultureInfo.InvariantCulture);

    public ScoreScenario WithDesignations(params DesignationRule[] designations)
    {
        Rules = Rules with { Designations = designations };
        return this;
    }

    /// <summary>A usage row of <paramref name="tenant"/> credited to the given partners (each with its sources).</summary>
    public ScoreScenario Row(int tenant, string month, double? revenue, long? users, params ScoreCredit[] credited) =>
        RowOf(Workload.Azure, tenant, month, revenue, users, credited);

    public ScoreScenario RowOf(Workload workload, int tenant, string month, double? revenue, long? users, params ScoreCredit[] credited)
    {
        Rows.Add((new UsageRecord(Tenant(tenant), new Guid($"20000000-0000-0000-0000-{tenant:D12}"), workload, YearMonth.Parse(month),
            revenue, users, new FeedLineage("usage", ++_line, DateTimeOffset.UnixEpoch)), credited));
        return this;
    }

    public ScoreScenario Cert(long partner, string person, string code, string earned, string? expires = null)
    {
        Certifications.Add(new CertificationRecord(partner, person, code, D(earned), expires is null ? null : D(expires),
            new FeedLineage("certs", ++_line, DateTimeOffset.UnixEpoch)));
        return this;
    }

    public static ScoreCredit Csp(long partner) => ScoreCredit.Of(partner, AssociationSource.Csp);

    /// <summary>Feeds every row to one accumulator per shard (tenant n goes to shard n mod shards) and merges.</summary>
    public IReadOnlyList<ScorePartial> Partials(int shards = 1, bool reverse = false)
    {
        var accs = Enumerable.Range(0, shards).Select(_ => new ScoreAccumulator(Rules, AsOf, Globals)).ToList();
        // Grouped by tenant, as the credit walker delivers rows (stable: input order within a tenant).
        var rows = (reverse ? Enumerable.Reverse(Rows) : Rows).GroupBy(r => r.Usage.CustomerTenantId).SelectMany(g => g);
        foreach (var (u, c) in rows)
            accs[(int)(BitConverter.ToUInt32(u.CustomerTenantId.ToByteArray(), 12) % (uint)shards)].Add(u, c);
        return CapabilityScores.Merge(accs.SelectMany(a => a.ToPartials()));
    }

    public DesignationScore Score(long global, string? designation = null, int shards = 1)
    {
        var d = designation is null ? Rules.Designations[0] : Rules.Designations.Single(x => x.Name == designation);
        var partial = Partials(shards).SingleOrDefault(p => p.GlobalPartnerId == global && p.Designation == d.Name);
        var certs = Certifications.Where(c => (Globals.TryGetValue(c.PartnerId, out var g) ? g : c.PartnerId) == global).ToList();
        return CapabilityScores.Score(d, Rules.WindowMonths, AsOf, global, partial, certs);
    }

    public CapabilityScoreRow RowFor(long global, string? designation = null) => Score(global, designation).Row;

    // Small designations for one metric at a time: Azure, sources csp dpor pal, bar 70 over 6 months.
    public static DesignationRule Single(params ScoreMetricRule[] metrics) =>
        new("Test", WorkloadSet.Of(Workload.Azure), [AssociationSource.Csp, AssociationSource.Dpor, AssociationSource.Pal], 70, 6,
            [new TrackRule("Only", metrics)]);

    public static ScoreMetricRule NetAdds(ScoreMeasure measure, double min, double ppu, double max, double? maxPerTenant = null) =>
        new(ScoreMetric.NetCustomerAdds, ppu, max) { Measure = measure, MinPerTenant = min, MaxPerTenant = maxPerTenant };

    public static ScoreMetricRule Growth(ScoreMeasure measure, double minBaseline, double ppp, double max) =>
        new(ScoreMetric.UsageGrowth, ppp, max) { Measure = measure, MinBaseline = minBaseline };

    public static ScoreMetricRule Deployments(ScoreMeasure measure, double min, double ppu, double max) =>
        new(ScoreMetric.Deployments, ppu, max) { Measure = measure, MinPerTenant = min };

    public static ScoreMetricRule Certs(ScoreMetric metric, double ppu, double max, params string[] codes) =>
        new(metric, ppu, max) { Certifications = codes };
}
