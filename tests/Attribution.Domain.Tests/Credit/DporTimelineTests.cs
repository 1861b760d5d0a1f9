using Attribution.Domain;
using static Attribution.Domain.Tests.Credit.CreditScenario;

namespace Attribution.Domain.Tests.Credit;

public class DporTimelineTests
{
    private const long A = 100, B = 200;

    [Fact]
    public void Dpor_change_mid_month_splits_the_incentive_by_days()
    {
        // A from Jan 1, B from Mar 11: in March (31 days) A is DPOR on days 1–10, B on 11–31.
        var s = new CreditScenario { AsOf = M("2026-03") }
            .Dpor(1, 1, A, "2026-01-01")
            .Dpor(1, 1, B, "2026-03-11")
            .Use(1, 1, Workload.Azure, "2026-02", 280, null)
            .Use(1, 1, Workload.Azure, "2026-03", 310, 5)
            .Use(1, 1, Workload.Teams, "2026-03", 62, 8);
        var r = s.Results();

        // A: Feb 280 × 28/28 + Mar 372 × 10/31 = 280 + 120; B: 372 × 21/31 = 252.
        Assert.Equal(400, r.Row(A, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9);
        Assert.Equal(252, r.Row(B, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9);
        // Both are credited in full on March (full policy); A also on February.
        Assert.Equal(590, r.Row(A, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(310, r.Row(B, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(8, r.Row(B, "SmallMidmarketCloud").PeakMonthlyActiveUsers);
        Assert.Equal("dpor", r.Row(B, "CloudPlatform").Sources);

        var march = r.IncentiveEligibility.Where(x => x.Month == M("2026-03")).OrderBy(x => x.DporPartnerId).ToList();
        Assert.Equal(2, march.Count);
        Assert.Equal((A, 372.0, 10, 31), (march[0].DporPartnerId.Value, march[0].AcrUsd, march[0].DporDays, march[0].DaysInMonth));
        Assert.Equal(120, march[0].IncentiveAcrUsd, 9);
        Assert.Equal((B, 372.0, 21, 31), (march[1].DporPartnerId.Value, march[1].AcrUsd, march[1].DporDays, march[1].DaysInMonth));
        Assert.Equal(252, march[1].IncentiveAcrUsd, 9);
        var feb = Assert.Single(r.IncentiveEligibility, x => x.Month == M("2026-02"));
        Assert.Equal((A, 280.0, 28, 28), (feb.DporPartnerId.Value, feb.AcrUsd, feb.DporDays, feb.DaysInMonth));
        Assert.Equal(Tenant(1), feb.CustomerTenantId);
        Assert.Equal(Sub(1), feb.SubscriptionId);
    }

    [Fact]
    public void Remove_ends_the_designation_the_day_before_it()
    {
        var s = new CreditScenario()
            .Dpor(1, 1, A, "2026-01-01")
            .Dpor(1, 1, A, "2026-02-15", DporAction.Remove)
            .Use(1, 1, Workload.Azure, "2026-01", 310, null)
            .Use(1, 1, Workload.Azure, "2026-02", 280, null)
            .Use(1, 1, Workload.Azure, "2026-03", 310, null);
        var r = s.Results();

        var row = r.Row(A, "CloudPlatform");
        Assert.Equal(590, row.AcrUsdTtm, 9);                     // Jan + Feb; not March
        Assert.Equal(310 + 280.0 * 14 / 28, row.IncentiveEligibleAcrUsdTtm, 9); // Feb 1–14
        Assert.Equal([("2026-01", 31), ("2026-02", 14)],
            r.IncentiveEligibility.Select(x => (x.Month.ToString(), x.DporDays)).ToArray());
        var sp = Assert.Single(r.SubscriptionPartners);
        Assert.False(sp.IsDpor);
        Assert.Equal("dpor", sp.Sources);
        Assert.Equal(1, r.Partners);
        Assert.Equal(2, r.UsageRowsCredited);
        Assert.Equal(3, r.UsageRowsInWindow);
    }

    [Fact]
    public void A_set_after_a_remove_starts_a_new_designation()
    {
        var s = new CreditScenario()
            .Dpor(1, 1, A, "2026-01-01")
            .Dpor(1, 1, A, "2026-02-15", DporAction.Remove)
            .Dpor(1, 1, B, "2026-03-11")
            .Use(1, 1, Workload.Azure, "2026-03", 310, null);
        var r = s.Results();
        Assert.False(r.Has(A));
        Assert.Equal(210, r.Row(B, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9);
        Assert.Equal(21, Assert.Single(r.IncentiveEligibility).DporDays);
    }

    [Fact]
    public void Same_day_events_the_later_ingested_wins_whatever_the_input_order()
    {
        var s = new CreditScenario()
            .Dpor(1, 1, A, "2026-03-01", ingestedAt: BaseIngest.AddHours(3), ingestion: "dpor-late")
            .Dpor(1, 1, B, "2026-03-01", ingestedAt: BaseIngest.AddHours(1), ingestion: "dpor-early")
            .Use(1, 1, Workload.Azure, "2026-03", 310, null);
        var r = s.Results();

        Assert.False(r.Has(B));
        Assert.Equal(310, r.Row(A, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(310, r.Row(A, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9);
        var ie = Assert.Single(r.IncentiveEligibility);
        Assert.Equal((A, 31), (ie.DporPartnerId.Value, ie.DporDays));
    }

    [Fact]
    public void Same_day_events_of_one_ingestion_the_later_line_wins()
    {
        var s = new CreditScenario()
            .Dpor(1, 1, A, "2026-03-01")
            .Dpor(1, 1, B, "2026-03-01") // same IngestedAt, later line
            .Use(1, 1, Workload.Azure, "2026-03", 310, null);
        var r = s.Results();
        Assert.False(r.Has(A));
        Assert.True(r.Has(B));
    }

    [Fact]
    public void Same_day_set_and_remove_the_later_ingested_remove_wins()
    {
        // A from Feb 1; on Mar 10 a set of B (ingested first) and a remove (ingested later): no DPOR from Mar 10.
        var s = new CreditScenario()
            .Dpor(1, 1, A, "2026-02-01")
            .Dpor(1, 1, A, "2026-03-10", DporAction.Remove, ingestedAt: BaseIngest.AddHours(2))
            .Dpor(1, 1, B, "2026-03-10", ingestedAt: BaseIngest.AddHours(1))
            .Use(1, 1, Workload.Azure, "2026-03", 310, null);
        var r = s.Results();
        Assert.False(r.Has(B));
        Assert.Equal(90, r.Row(A, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9); // 310 × 9/31
        Assert.Equal(9, Assert.Single(r.IncentiveEligibility).DporDays);
    }

    [Fact]
    public void Dpor_is_not_credited_before_its_effective_month()
    {
        var s = new CreditScenario()
            .Dpor(1, 1, A, "2026-03-31")
            .Use(1, 1, Workload.Azure, "2026-02", 280, null)
            .Use(1, 1, Workload.Azure, "2026-03", 310, null);
        var r = s.Results();
        Assert.Equal(310, r.Row(A, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(10, r.Row(A, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9); // 310 × 1/31
        Assert.Equal(1, Assert.Single(r.IncentiveEligibility).DporDays);
    }
}
