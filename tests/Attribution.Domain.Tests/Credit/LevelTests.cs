using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Domain.Rules;
using static Attribution.Domain.Tests.Credit.CreditScenario;

namespace Attribution.Domain.Tests.Credit;

public class LevelTests
{
    private static readonly CreditRules Rules = CreditRulesLoader.Default;
    private static CompetencyRule Rule(string name) => Rules.Competencies.Single(c => c.Name == name);

    [Fact]
    public void Exactly_at_a_threshold_reaches_the_level_just_below_does_not()
    {
        var r = new CreditScenario()
            .Sales(1, 1, "2025-01-01").Sales(2, 2, "2025-01-01").Sales(3, 3, "2025-01-01")
            .Use(1, 1, Workload.Azure, "2026-01", 10000, null)
            .Use(1, 1, Workload.Azure, "2026-02", 5000, null)          // P1: 15,000
            .Use(2, 2, Workload.Azure, "2026-01", 14999.99, null)      // P2: 14,999.99
            .Use(3, 3, Workload.Azure, "2026-01", 100000, null)        // P3: 100,000
            .Results();

        var p1 = r.Row(1, "CloudPlatform");
        Assert.Equal(("Silver", "Gold"), (p1.Level.Name, p1.NextLevel?.Name));
        Assert.Equal(0.15, p1.Progress, 12);

        var p2 = r.Row(2, "CloudPlatform");
        Assert.Equal(("None", "Silver"), (p2.Level.Name, p2.NextLevel?.Name));
        Assert.Equal(14999.99 / 15000, p2.Progress, 12);

        var p3 = r.Row(3, "CloudPlatform");
        Assert.Equal("Gold", p3.Level.Name);
        Assert.Null(p3.NextLevel);
        Assert.Equal(1, p3.Progress);

        var zero = r.Row(3, "Security");
        Assert.Equal(("None", "Silver", 0.0), (zero.Level.Name, zero.NextLevel?.Name, zero.Progress));
    }

    [Fact]
    public void Two_threshold_level_needs_both_and_progress_is_the_weakest()
    {
        // SmallMidmarketCloud: Silver peak ≥ 40 and customers ≥ 4; Gold peak ≥ 250 and customers ≥ 25.
        var smc = Rule("SmallMidmarketCloud");
        Assert.Equal(new LevelStatus(CompetencyLevel.None, new CompetencyLevel("Silver"), 0.75), CreditLevels.Evaluate(smc, 0, 40, 3));
        Assert.Equal(new LevelStatus(CompetencyLevel.None, new CompetencyLevel("Silver"), 0.5), CreditLevels.Evaluate(smc, 0, 20, 4));
        Assert.Equal(new LevelStatus(new CompetencyLevel("Silver"), new CompetencyLevel("Gold"), 0.2), CreditLevels.Evaluate(smc, 0, 125, 5));
        Assert.Equal(new LevelStatus(new CompetencyLevel("Silver"), new CompetencyLevel("Gold"), 0.96), CreditLevels.Evaluate(smc, 0, 300, 24));
        Assert.Equal(new LevelStatus(new CompetencyLevel("Gold"), null, 1), CreditLevels.Evaluate(smc, 0, 250, 25));
        Assert.Equal(new LevelStatus(CompetencyLevel.None, new CompetencyLevel("Silver"), 39.0 / 40), CreditLevels.Evaluate(smc, 1e9, 39, 400));
    }

    [Fact]
    public void Customers_threshold_through_the_engine()
    {
        var s = new CreditScenario();
        for (var t = 1; t <= 4; t++)
            s.Sales(7, t, "2025-01-01").Use(t, t, Workload.Teams, "2026-01", 0, 10);
        var row = s.Results().Row(7, "SmallMidmarketCloud");
        Assert.Equal((40.0, 4), (row.PeakMonthlyActiveUsers, row.Customers));
        Assert.Equal(("Silver", "Gold"), (row.Level.Name, row.NextLevel?.Name));
        Assert.Equal(0.16, row.Progress, 12); // min(40/250, 4/25)

        var three = new CreditScenario();
        for (var t = 1; t <= 3; t++)
            three.Sales(7, t, "2025-01-01").Use(t, t, Workload.Teams, "2026-01", 0, 20);
        var r3 = three.Results().Row(7, "SmallMidmarketCloud");
        Assert.Equal(("None", "Silver"), (r3.Level.Name, r3.NextLevel?.Name));
        Assert.Equal(0.75, r3.Progress, 12); // min(1, 60/40), 3/4
    }

    [Fact]
    public void Split_shares_that_add_up_to_a_threshold_reach_it()
    {
        // Three partners split three rows of 15,000: each gets 3 × 5,000 computed as 15,000 × 1/3 (inexact in binary).
        var s = new CreditScenario().WithPolicy(CreditPolicy.Split)
            .Sales(1, 1, "2025-01-01").Sales(2, 1, "2025-01-01").Sales(3, 1, "2025-01-01");
        foreach (var m in new[] { "2026-01", "2026-02", "2026-03" }) s.Use(1, 1, Workload.Azure, m, 15000, null);
        var row = s.Results().Row(1, "CloudPlatform");
        Assert.Equal(15000, row.AcrUsdTtm, 6);
        Assert.Equal("Silver", row.Level.Name);
    }
}
