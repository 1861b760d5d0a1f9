using Attribution.Domain;
using Attribution.Domain.Rules;
using static Attribution.Domain.Tests.Credit.CreditScenario;

namespace Attribution.Domain.Tests.Credit;

public class PolicyTests
{
    // Tenant 1, subscription 1, March 2026: Azure $900 and Teams 30 users. Sales P1 (tenant), csp P2, DPOR P3.
    private static CreditScenario ThreePartners(CreditPolicy policy) => new CreditScenario()
        .WithPolicy(policy)
        .Use(1, 1, Workload.Azure, "2026-03", 900, null)
        .Use(1, 1, Workload.Teams, "2026-03", 0, 30)
        .Sales(1, 1, "2025-01-01")
        .Csp(2, 1, 1, "2025-01-01")
        .Dpor(1, 1, 3, "2026-01-01");

    [Fact]
    public void Full_gives_every_credited_partner_the_whole_row()
    {
        var r = ThreePartners(CreditPolicy.Full).Results();
        foreach (var p in new long[] { 1, 2, 3 })
        {
            Assert.Equal(900, r.Row(p, "CloudPlatform").AcrUsdTtm, 9);
            Assert.Equal(30, r.Row(p, "SmallMidmarketCloud").PeakMonthlyActiveUsers, 9);
        }
        Assert.Equal(0, r.Row(1, "CloudPlatform").IncentiveEligibleAcrUsdTtm);
        Assert.Equal(900, r.Row(3, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9);
    }

    [Fact]
    public void Split_gives_each_of_k_partners_one_kth()
    {
        var r = ThreePartners(CreditPolicy.Split).Results();
        foreach (var p in new long[] { 1, 2, 3 })
        {
            Assert.Equal(300, r.Row(p, "CloudPlatform").AcrUsdTtm, 9);
            Assert.Equal(10, r.Row(p, "SmallMidmarketCloud").PeakMonthlyActiveUsers, 9);
        }
        // The incentive base is not split: DPOR only, by days.
        Assert.Equal(900, r.Row(3, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9);
    }

    [Fact]
    public void DporOnly_credits_the_dpor_alone()
    {
        var r = ThreePartners(CreditPolicy.DporOnly).Results();
        Assert.False(r.Has(1));
        Assert.False(r.Has(2));
        Assert.Equal(900, r.Row(3, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(30, r.Row(3, "SmallMidmarketCloud").PeakMonthlyActiveUsers, 9);
        Assert.Equal("dpor", r.Row(3, "CloudPlatform").Sources);
        Assert.Equal(1, r.Partners);
        Assert.Equal([3L], r.SubscriptionPartners.Select(x => x.PartnerId.Value).ToArray());
    }

    [Fact]
    public void Split_counts_a_partner_with_two_sources_once()
    {
        var r = new CreditScenario().WithPolicy(CreditPolicy.Split)
            .Use(1, 1, Workload.Azure, "2026-03", 900, null)
            .Sales(1, 1, "2025-01-01")
            .Dap(1, 1, W(Workload.Azure), "2025-01-01")
            .Csp(2, 1, 1, "2025-01-01")
            .Results();
        Assert.Equal(450, r.Row(1, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal("dap;sales", r.Row(1, "CloudPlatform").Sources);
        Assert.Equal(450, r.Row(2, "CloudPlatform").AcrUsdTtm, 9);
    }

    [Fact]
    public void Split_counts_both_dpors_of_a_month_with_a_change()
    {
        var r = new CreditScenario().WithPolicy(CreditPolicy.Split)
            .Use(1, 1, Workload.Azure, "2026-03", 900, null)
            .Sales(1, 1, "2025-01-01")
            .Dpor(1, 1, 3, "2026-01-01")
            .Dpor(1, 1, 4, "2026-03-11")
            .Results();
        foreach (var p in new long[] { 1, 3, 4 }) Assert.Equal(300, r.Row(p, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(900.0 * 10 / 31, r.Row(3, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9);
        Assert.Equal(900.0 * 21 / 31, r.Row(4, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9);
    }

    [Fact]
    public void DporOnly_credits_both_dpors_of_a_month_with_a_change_in_full()
    {
        var r = new CreditScenario().WithPolicy(CreditPolicy.DporOnly)
            .Use(1, 1, Workload.Azure, "2026-03", 900, null)
            .Sales(1, 1, "2025-01-01")
            .Dpor(1, 1, 3, "2026-01-01")
            .Dpor(1, 1, 4, "2026-03-11")
            .Results();
        Assert.False(r.Has(1));
        Assert.Equal(900, r.Row(3, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(900, r.Row(4, "CloudPlatform").AcrUsdTtm, 9);
    }
}

public class MetricTests
{
    [Fact]
    public void AcrUsdTtm_sums_credited_revenue_and_a_missing_amount_counts_zero()
    {
        var r = new CreditScenario()
            .Sales(1, 1, "2025-01-01")
            .Use(1, 1, Workload.Azure, "2026-01", 100.5, null)
            .Use(1, 2, Workload.Azure, "2026-02", 200.25, 3)
            .Use(1, 1, Workload.Azure, "2026-03", null, 7)
            .Use(1, 1, Workload.Exchange, "2026-03", 1000, 7) // another competency
            .Results();
        Assert.Equal(300.75, r.Row(1, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(1000, r.Row(1, "SmallMidmarketCloud").AcrUsdTtm, 9);
    }

    [Fact]
    public void Peak_monthly_active_users_is_the_largest_monthly_sum_per_partner()
    {
        var r = new CreditScenario()
            .Sales(1, 1, "2025-01-01")
            .Sales(1, 2, "2025-01-01")
            .Sales(2, 2, "2025-01-01")
            .Use(1, 1, Workload.Exchange, "2026-01", 0, 100)
            .Use(1, 1, Workload.Teams, "2026-01", 0, 50)     // Jan for P1: 150
            .Use(1, 1, Workload.Exchange, "2026-02", 0, 120)
            .Use(2, 3, Workload.Teams, "2026-02", 0, 40)     // Feb for P1: 160, for P2: 40
            .Use(1, 1, Workload.Exchange, "2026-03", 0, 155)
            .Use(1, 1, Workload.Intune, "2026-02", 0, 9999)  // another competency
            .Results();
        Assert.Equal(160, r.Row(1, "SmallMidmarketCloud").PeakMonthlyActiveUsers, 9);
        Assert.Equal(40, r.Row(2, "SmallMidmarketCloud").PeakMonthlyActiveUsers, 9);
        Assert.Equal(9999, r.Row(1, "Security").PeakMonthlyActiveUsers, 9);
        Assert.Equal(0, r.Row(2, "Security").PeakMonthlyActiveUsers);
    }

    [Fact]
    public void Customers_count_distinct_tenants_with_a_credited_row_with_usage()
    {
        var s = new CreditScenario();
        for (var t = 1; t <= 5; t++) s.Sales(1, t, "2025-01-01");
        s.Use(1, 1, Workload.Azure, "2026-01", 100, null)
         .Use(1, 11, Workload.Azure, "2026-02", 50, null)  // tenant 1 again (another subscription)
         .Use(2, 2, Workload.Azure, "2026-01", 0, 0)       // no usage: not a customer
         .Use(3, 3, Workload.Azure, "2026-01", null, 5)    // users only: a customer
         .Use(4, 4, Workload.Azure, "2026-01", 0, null)    // zero: not a customer
         .Use(5, 5, Workload.Intune, "2026-01", 10, 10);   // another competency
        var r = s.Results();
        Assert.Equal(2, r.Row(1, "CloudPlatform").Customers);
        Assert.Equal(1, r.Row(1, "Security").Customers);
        Assert.Equal(0, r.Row(1, "SmallMidmarketCloud").Customers);
    }

    [Fact]
    public void Customers_are_distinct_when_a_tenants_rows_are_not_consecutive()
    {
        var s = new CreditScenario()
            .Sales(1, 1, "2025-01-01")
            .Sales(1, 2, "2025-01-01")
            .Use(1, 1, Workload.Azure, "2026-01", 1, null)
            .Use(2, 2, Workload.Azure, "2026-01", 2, null)
            .Use(1, 1, Workload.Azure, "2026-02", 4, null)
            .Use(2, 2, Workload.Azure, "2026-02", 8, null)
            .Use(1, 1, Workload.Azure, "2026-03", 16, null);
        var r = s.Results();
        Assert.Equal(2, r.Row(1, "CloudPlatform").Customers);
        Assert.Equal(31, r.Row(1, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(2, r.GlobalRow(1, "CloudPlatform").Customers);
    }
}
