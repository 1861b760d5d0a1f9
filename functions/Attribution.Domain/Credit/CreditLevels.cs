using Attribution.Domain;
using Attribution.Domain.Rules;

namespace Attribution.Domain.Credit;

/// <summary>The level a competency's metrics reach, the next one, and the progress toward it.</summary>
public readonly record struct LevelStatus(CompetencyLevel Level, CompetencyLevel? NextLevel, double Progress);

/// <summary>§3 Levels: the highest level whose thresholds are all met; progress toward the level after it.</summary>
public static class CreditLevels
{
    // Metrics are float sums (split shares, several shards): a metric within 1e-9 (relative) of a
    // threshold has met it, so 3 × 1/3 of 15,000 reaches 15,000.
    private const double Tolerance = 1e-9;

    public static double Metric(CreditMetric metric, double acrUsdTtm, double peakMonthlyActiveUsers, int customers) => metric switch
    {
        CreditMetric.AcrUsdTtm => acrUsdTtm,
        CreditMetric.PeakMonthlyActiveUsers => peakMonthlyActiveUsers,
        CreditMetric.Customers => customers,
        _ => throw new ArgumentOutOfRangeException(nameof(metric)),
    };

    public static bool Meets(Threshold threshold, double value)
    {
        ArgumentNullException.ThrowIfNull(threshold);
        return value >= threshold.Minimum - Tolerance * Math.Max(1.0, Math.Abs(threshold.Minimum));
    }

    public static LevelStatus Evaluate(CompetencyRule rule, double acrUsdTtm, double peakMonthlyActiveUsers, int customers)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var levels = rule.Levels;
        var reached = -1;
        for (var i = levels.Count - 1; i >= 0; i--)
        {
            if (levels[i].Thresholds.All(t => Meets(t, Metric(t.Metric, acrUsdTtm, peakMonthlyActiveUsers, customers))))
            {
                reached = i;
                break;
            }
        }
        var level = reached < 0 ? CompetencyLevel.None : levels[reached].Level;
        if (reached + 1 >= levels.Count) return new LevelStatus(level, null, 1.0);
        var next = levels[reached + 1];
        var progress = 1.0;
        foreach (var t in next.Thresholds)
        {
            var value = Metric(t.Metric, acrUsdTtm, peakMonthlyActiveUsers, customers);
            progress = Math.Min(progress, Math.Min(1.0, value / t.Minimum));
        }
        return new LevelStatus(level, next.Level, progress);
    }
}
