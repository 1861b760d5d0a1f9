using Attribution.Domain.Rules;
using Attribution.Domain.Scores;
using static Attribution.Domain.Tests.Scores.ScoreScenario;

namespace Attribution.Domain.Tests.Scores;

/// <summary>"What the next point takes" per metric, and §7.4's list of global partners that get rows.</summary>
public sealed class NextPointAndPopulationTests
{
    [Theory]
    [InlineData(2, 20, 1)]  // 3 × 10 = 30 ≥ 21
    [InlineData(-3, 0, 4)]  // −3 + 4 = 1 → 10 ≥ 1; three would leave 0
    public void NetCustomerAdds_needs_whole_qualifying_customers(double value, double points, double more)
    {
        var next = CapabilityScores.NextPointOf(new MetricScore(NetAdds(ScoreMeasure.Revenue, 1000, 10, 30), value, points));
        Assert.Equal(more, next.Amount);
        Assert.Contains("qualifying customer", next.Text);
    }

    [Fact]
    public void At_maxPoints_nothing_more_counts()
    {
        var next = CapabilityScores.NextPointOf(new MetricScore(NetAdds(ScoreMeasure.Revenue, 1000, 10, 30), 5, 30));
        Assert.Null(next.Amount);
        Assert.Equal("at maxPoints (30)", next.Text);
    }

    [Theory]
    [InlineData(2.5, 1, 2.5, 1)] // 2 × 2.5 = 5 ≥ 3.5
    [InlineData(0.4, 0, 0, 3)]   // 3 × 0.4 = 1.2 ≥ 1; 2 × 0.4 = 0.8 is not
    public void Certifications_need_whole_certified_persons(double ppu, double value, double points, double more)
    {
        var next = CapabilityScores.NextPointOf(new MetricScore(Certs(ScoreMetric.IntermediateCertifications, ppu, 10, "MS-102"), value, points));
        Assert.Equal(more, next.Amount);
        Assert.Contains("certified person", next.Text);
    }

    [Fact]
    public void Deployments_need_one_more_deployment()
    {
        var next = CapabilityScores.NextPointOf(new MetricScore(Deployments(ScoreMeasure.Revenue, 12000, 2, 10), 1, 2));
        Assert.Equal((1.0, "1 more deployment"), (next.Amount, next.Text));
    }

    [Theory]
    [InlineData(5, 5, 1060)]      // 6 % over 1,000
    [InlineData(19.5, 19.5, 1200)] // the next point is capped at maxPoints 20: 20 %
    public void UsageGrowth_names_the_total_of_M_that_adds_a_point(double percent, double points, double total)
    {
        var rule = Growth(ScoreMeasure.Revenue, 1000, 1, 20);
        var next = CapabilityScores.NextPointOf(new MetricScore(rule, percent, points) { Baseline = 1000, Now = 1000 + percent * 10 });
        Assert.Equal(total, next.Amount!.Value, 9);
    }

    [Fact]
    public void UsageGrowth_without_a_baseline_says_what_it_lacks()
    {
        var next = CapabilityScores.NextPointOf(new MetricScore(Growth(ScoreMeasure.Revenue, 1000, 1, 20), null, 0) { Baseline = 400, Now = 900 });
        Assert.Null(next.Amount);
        Assert.Equal("no points until total(M−12) reaches minBaseline 1000 (it is 400)", next.Text);
    }

    [Fact]
    public void Rows_go_to_partners_with_credit_and_to_those_with_a_certification_in_force_in_the_window()
    {
        var s = new ScoreScenario();
        s.Globals[501] = 500;
        s.Cert(501, "p1", "AZ-104", "2025-01-01", "2026-01-31")   // in force on 2026-01-31 (M−5): 500 via its location
         .Cert(600, "p2", "XX-1", "2025-01-01", "2025-12-31")     // last in force at M−6: no row
         .Cert(700, "p3", "XX-1", "2026-06-30");                  // any code counts, earned on the last day of M
        var population = CapabilityScores.Population(s.Rules, s.AsOf, [900, 100], s.Certifications, s.Globals);
        Assert.Equal([100L, 500, 700, 900], population);
        Assert.Empty(CapabilityScores.Population(s.Rules with { Designations = [] }, s.AsOf, [100], s.Certifications, s.Globals));
    }
}
