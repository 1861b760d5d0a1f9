using Attribution.Domain;
using static Attribution.Domain.Tests.Credit.CreditScenario;

namespace Attribution.Domain.Tests.Credit;

public class CoverageTests
{
    [Fact]
    public void Inclusive_end_dates_at_month_edges()
    {
        var s = new CreditScenario()
            .Use(1, 1, Workload.Azure, "2026-03", 100, null)
            .Sales(1, 1, "2025-01-01", "2026-02-28") // ends the last day of February: not in March
            .Sales(2, 1, "2025-01-01", "2026-03-01") // ends on March 1: in force one day of March
            .Csp(3, 1, 1, "2026-03-31")              // starts the last day of March
            .Csp(4, 1, 1, "2026-04-01");             // starts after March
        var r = s.Results();

        Assert.False(r.Has(1));
        Assert.Equal(100, r.Row(2, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(100, r.Row(3, "CloudPlatform").AcrUsdTtm, 9);
        Assert.False(r.Has(4));
        Assert.Equal(2, r.Partners);
    }

    [Fact]
    public void Tenant_wide_subscription_and_workload_scoped_associations()
    {
        var s = new CreditScenario()
            .Use(1, 1, Workload.Azure, "2026-01", 100, 0)
            .Use(1, 1, Workload.Intune, "2026-01", 0, 50)
            .Use(1, 2, Workload.Azure, "2026-01", 200, null)
            .Use(1, 2, Workload.Teams, "2026-01", 10, 30)
            .Sales(1, 1, "2025-01-01")                                  // every subscription and workload of tenant 1
            .Csp(2, 1, 2, "2025-01-01")                                 // subscription 2 only
            .FastTrack(3, 1, W(Workload.Intune), "2025-01-01")          // Intune only
            .Dap(4, 1, W(Workload.Azure, Workload.Teams), "2025-01-01") // Azure and Teams
            .Sales(5, 2, "2025-01-01")                                  // another tenant
            .Sales(6, 1, "2025-01-01", sub: 1);                         // sales scoped to subscription 1
        var r = s.Results();

        Assert.Equal(300, r.Row(1, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(50, r.Row(1, "Security").PeakMonthlyActiveUsers);
        Assert.Equal(30, r.Row(1, "SmallMidmarketCloud").PeakMonthlyActiveUsers);

        Assert.Equal(200, r.Row(2, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(30, r.Row(2, "SmallMidmarketCloud").PeakMonthlyActiveUsers);
        Assert.Equal(0, r.Row(2, "Security").PeakMonthlyActiveUsers);
        Assert.Equal("", r.Row(2, "Security").Sources);
        Assert.Equal("csp", r.Row(2, "CloudPlatform").Sources);

        Assert.Equal(0, r.Row(3, "CloudPlatform").AcrUsdTtm);
        Assert.Equal(50, r.Row(3, "Security").PeakMonthlyActiveUsers);
        Assert.Equal("fasttrack", r.Row(3, "Security").Sources);

        Assert.Equal(300, r.Row(4, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(30, r.Row(4, "SmallMidmarketCloud").PeakMonthlyActiveUsers);
        Assert.Equal(0, r.Row(4, "Security").PeakMonthlyActiveUsers);

        Assert.False(r.Has(5));

        Assert.Equal(100, r.Row(6, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(50, r.Row(6, "Security").PeakMonthlyActiveUsers);
        Assert.Equal(0, r.Row(6, "SmallMidmarketCloud").PeakMonthlyActiveUsers);

        Assert.Equal(5, r.Partners);
        // Subscription 2's partners: 1 (sales), 2 (csp), 4 (dap); workloads each was credited on.
        var sub2 = r.SubscriptionPartners.Where(x => x.SubscriptionId == Sub(2)).ToList();
        Assert.Equal([1L, 2L, 4L], sub2.Select(x => x.PartnerId.Value).ToArray());
        Assert.Equal(["Azure;Teams", "Azure;Teams", "Azure;Teams"], sub2.Select(x => x.Workloads.ToString()).ToArray());
        Assert.Equal(["sales", "csp", "dap"], sub2.Select(x => x.Sources).ToArray());
        var sub1 = r.SubscriptionPartners.Where(x => x.SubscriptionId == Sub(1)).ToList();
        Assert.Equal([1L, 3L, 4L, 6L], sub1.Select(x => x.PartnerId.Value).ToArray());
        Assert.Equal(["Azure;Intune", "Intune", "Azure", "Azure;Intune"], sub1.Select(x => x.Workloads.ToString()).ToArray());
    }

    [Fact]
    public void A_partner_with_several_covering_associations_is_credited_once_with_every_source()
    {
        var s = new CreditScenario()
            .Use(1, 1, Workload.Azure, "2026-01", 100, null)
            .Sales(1, 1, "2025-01-01")
            .Csp(1, 1, 1, "2025-06-01")
            .Dap(1, 1, W(Workload.Azure), "2025-06-01")
            .Dpor(1, 1, 1, "2025-01-01");
        var r = s.Results();
        var row = r.Row(1, "CloudPlatform");
        Assert.Equal(100, row.AcrUsdTtm, 9);
        Assert.Equal("csp;dap;dpor;sales", row.Sources);
        Assert.Equal(100, row.IncentiveEligibleAcrUsdTtm, 9);
        Assert.Equal(1, r.UsageRowsCredited);
    }

    [Fact]
    public void Window_is_the_twelve_months_ending_with_asOf()
    {
        var s = new CreditScenario { AsOf = M("2026-06") }
            .Sales(1, 1, "2020-01-01")
            .Dpor(1, 1, 2, "2020-01-01")
            .Use(1, 1, Workload.Azure, "2025-06", 1, null)    // asOf-12: out
            .Use(1, 1, Workload.Azure, "2025-07", 10, null)   // asOf-11: in
            .Use(1, 1, Workload.Azure, "2026-06", 100, null)  // asOf: in
            .Use(1, 1, Workload.Azure, "2026-07", 1000, null); // asOf+1: out
        var r = s.Results();

        Assert.Equal(110, r.Row(1, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(110, r.Row(2, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9);
        Assert.Equal(2, r.UsageRowsInWindow);
        Assert.Equal(["2025-07", "2026-06"], r.IncentiveEligibility.Select(x => x.Month.ToString()).ToArray());
    }

    [Fact]
    public void A_partner_credited_only_outside_the_window_gets_no_rows()
    {
        var s = new CreditScenario { AsOf = M("2026-06") }
            .Sales(1, 1, "2020-01-01", "2025-06-30")
            .Sales(2, 1, "2020-01-01")
            .Use(1, 1, Workload.Azure, "2025-06", 1, null)
            .Use(1, 1, Workload.Azure, "2025-07", 10, null);
        var r = s.Results();
        Assert.False(r.Has(1));
        Assert.Equal(10, r.Row(2, "CloudPlatform").AcrUsdTtm, 9);
    }

    [Fact]
    public void Window_length_comes_from_the_rules()
    {
        var s = new CreditScenario { AsOf = M("2026-06") }.Sales(1, 1, "2020-01-01")
            .Use(1, 1, Workload.Azure, "2026-03", 1, null)
            .Use(1, 1, Workload.Azure, "2026-04", 10, null)
            .Use(1, 1, Workload.Azure, "2026-06", 100, null);
        s.Rules = s.Rules with { WindowMonths = 3 };
        var shard = s.Shard();
        Assert.Equal(2, shard.UsageRowsInWindow);
        Assert.Equal(3, Assert.Single(shard.Locations).MonthlyActiveNanoUsers.Count);
        Assert.Equal(110, s.Results().Row(1, "CloudPlatform").AcrUsdTtm, 9);
    }
}
