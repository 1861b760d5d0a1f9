using Attribution.Domain.Rules;

namespace Attribution.Domain.Scores;

/// <summary>
/// A credited location partner of a usage row, as the credit walker knows it: the partner and the association sources
/// that credit it on the row (bit = 1 &lt;&lt; <see cref="AssociationSource"/>; the `dpor` bit when it is the DPOR on at
/// least one day of the row's month).
/// </summary>
public readonly record struct ScoreCredit(long PartnerId, byte SourcesMask)
{
    /// <summary>The partner's global partner when the caller already knows it (the walker does): saves a lookup per row.</summary>
    internal long GlobalPartnerId { get; init; }

    public static ScoreCredit Of(long partnerId, params ReadOnlySpan<AssociationSource> sources)
    {
        byte mask = 0;
        foreach (var s in sources) mask |= (byte)(1 << (int)s);
        return new ScoreCredit(partnerId, mask);
    }
}

/// <summary>
/// One shard's additive counts for one usage metric of one track, per month from <see cref="FirstMonth"/> to asOf.
/// <see cref="Counts"/>: |Q(m)| for netCustomerAdds, the deployments for deployments; <see cref="TotalNanos"/>:
/// total(m) in billionths of the measure for usageGrowth. Shards hold disjoint tenants, so merging is a sum.
/// </summary>
public sealed record ScoreMetricPartial
{
    public int Track { get; init; }
    public ScoreMetric Metric { get; init; }
    public YearMonth FirstMonth { get; init; }
    public IReadOnlyList<int> Counts { get; init; } = [];
    public IReadOnlyList<Int128> TotalNanos { get; init; } = [];
}

/// <summary>One shard's partial for (global partner, designation). Plain init properties: it round-trips through JSON.</summary>
public sealed record ScorePartial
{
    public long GlobalPartnerId { get; init; }
    public string Designation { get; init; } = "";
    public YearMonth AsOf { get; init; }
    public IReadOnlyList<ScoreMetricPartial> Metrics { get; init; } = [];
}

/// <summary>
/// A metric at a month: its value (null for usageGrowth when the baseline is too small) and points. For usageGrowth,
/// <see cref="Baseline"/> = total(M−12) and <see cref="Now"/> = total(M), which "what the next point takes" needs.
/// </summary>
public sealed record MetricScore(ScoreMetricRule Rule, double? Value, double Points)
{
    public double? Baseline { get; init; }
    public double? Now { get; init; }
    public ScoreMetric Metric => Rule.Metric;
}

public sealed record TrackScore(string Track, double Score, bool Qualifies, IReadOnlyList<MetricScore> Metrics);

/// <summary>A designation's result at one month (§7.2): every track, and the chosen one.</summary>
public sealed record DesignationMonth(YearMonth Month, IReadOnlyList<TrackScore> Tracks, TrackScore Chosen)
{
    public bool Qualified => Chosen.Qualifies;
}

/// <summary>
/// A `PartnerCapabilityScore` row (§7.4) without the run's rulesVersion and runId. Metric properties are those of the
/// chosen track; null when the track does not have the metric (and usageGrowthPercent when the baseline is too small).
/// </summary>
public sealed record CapabilityScoreRow
{
    public PartnerId GlobalPartnerId { get; init; }
    public string Designation { get; init; } = "";
    public YearMonth AsOf { get; init; }
    public string Track { get; init; } = "";
    public double Score { get; init; }
    public bool Qualified { get; init; }
    public bool Eligible { get; init; }

    /// <summary>The window's qualified months, `yyyy-MM`, ascending, `;`-separated.</summary>
    public string QualifiedMonths { get; init; } = "";

    public double PointsToQualify { get; init; }

    /// <summary>The chosen track's metrics with 0 points, sorted, `;`-separated.</summary>
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
}

/// <summary>A designation scored for one global partner: each month of the qualification window, and the row at asOf.</summary>
public sealed record DesignationScore(IReadOnlyList<DesignationMonth> Months, CapabilityScoreRow Row);

/// <summary>What the next point of a metric takes: a short text, and the number it names (null when none can).</summary>
public sealed record NextPoint(double? Amount, string Text);
