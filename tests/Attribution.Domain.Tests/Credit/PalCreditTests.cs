using Attribution.Domain.Credit;
using Attribution.Domain.Rules;
using static Attribution.Domain.Tests.Credit.CreditScenario;

namespace Attribution.Domain.Tests.Credit;

/// <summary>A Partner Admin Link credits its partner like every other association (§3): scope, dates, sources.</summary>
public sealed class PalCreditTests
{
    // Tenant 1: subscription 1 has Azure ($100) and Teams (30 users), subscription 2 Azure ($200) and Intune (50 users).
    private static CreditScenario Scenario(CreditPolicy policy = CreditPolicy.Full) => new CreditScenario().WithPolicy(policy)
        .Use(1, 1, Workload.Azure, "2026-01", 100, null)
        .Use(1, 1, Workload.Teams, "2026-01", null, 30)
        .Use(1, 2, Workload.Azure, "2026-01", 200, null)
        .Use(1, 2, Workload.Intune, "2026-01", null, 50)
        .Pal(1, 1, "2025-01-01", sub: 1)                              // subscription 1 only, every workload
        .Pal(2, 1, "2025-01-01", workloads: W(Workload.Intune))       // every subscription, Intune only
        .Pal(3, 1, "2024-01-01", "2025-12-31")                        // unlinked before January
        .Pal(4, 1, "2026-01-31", sub: 2, workloads: W(Workload.Azure)) // linked on January's last day: January counts
        .Pal(5, 1, "2025-06-01")
        .Sales(5, 1, "2025-01-01");

    [Fact]
    public void A_pal_link_credits_only_its_subscription_and_workloads_while_in_force()
    {
        var r = Scenario().Results();

        Assert.Equal(100, r.Row(1, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(30, r.Row(1, "SmallMidmarketCloud").PeakMonthlyActiveUsers);
        Assert.Equal(0, r.Row(1, "Security").PeakMonthlyActiveUsers); // Intune is on subscription 2
        Assert.Equal("pal", r.Row(1, "CloudPlatform").Sources);

        Assert.Equal(0, r.Row(2, "CloudPlatform").AcrUsdTtm);
        Assert.Equal(0, r.Row(2, "SmallMidmarketCloud").PeakMonthlyActiveUsers);
        Assert.Equal(50, r.Row(2, "Security").PeakMonthlyActiveUsers);
        Assert.Equal("pal", r.Row(2, "Security").Sources);

        Assert.False(r.Has(3));

        Assert.Equal(200, r.Row(4, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(0, r.Row(4, "Security").PeakMonthlyActiveUsers);

        // Both links of partner 5 cover every row: credited once per row, with both sources.
        Assert.Equal(300, r.Row(5, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(50, r.Row(5, "Security").PeakMonthlyActiveUsers);
        Assert.Equal("pal;sales", r.Row(5, "CloudPlatform").Sources);
        Assert.Equal(0, r.Row(5, "CloudPlatform").IncentiveEligibleAcrUsdTtm); // no DPOR, no incentive
    }

    [Fact]
    public void Subscription_partners_list_pal_as_a_source()
    {
        var r = Scenario().Results();

        var sub1 = r.SubscriptionPartners.Where(x => x.SubscriptionId == Sub(1)).OrderBy(x => x.PartnerId.Value).ToList();
        Assert.Equal([(1L, "Azure;Teams", "pal"), (5L, "Azure;Teams", "pal;sales")],
            sub1.Select(x => (x.PartnerId.Value, x.Workloads.ToString(), x.Sources)).ToArray());
        var sub2 = r.SubscriptionPartners.Where(x => x.SubscriptionId == Sub(2)).OrderBy(x => x.PartnerId.Value).ToList();
        Assert.Equal([(2L, "Intune", "pal"), (4L, "Azure", "pal"), (5L, "Azure;Intune", "pal;sales")],
            sub2.Select(x => (x.PartnerId.Value, x.Workloads.ToString(), x.Sources)).ToArray());
    }

    [Fact]
    public void Under_split_a_pal_partner_is_one_of_the_k_credited_partners()
    {
        var r = Scenario(CreditPolicy.Split).Results();
        // Subscription 2's Azure row: partners 4 (pal) and 5 (pal, sales) → k = 2.
        Assert.Equal(100, r.Row(4, "CloudPlatform").AcrUsdTtm, 9);
        // Subscription 1's Azure row: partners 1 and 5 → $50; subscription 2's: $100.
        Assert.Equal(150, r.Row(5, "CloudPlatform").AcrUsdTtm, 9);
    }

    [Fact]
    public void Under_dpor_only_a_pal_link_credits_nothing()
    {
        var r = Scenario(CreditPolicy.DporOnly).Results();
        Assert.False(r.Has(1));
        Assert.False(r.Has(4));
    }

    [Fact]
    public void Evidence_names_the_pal_link_with_its_scope_and_feed_line()
    {
        var s = Scenario();
        var e = CreditEngine.Explain(s.Input(), new PartnerId(1), "CloudPlatform");

        var row = Assert.Single(e.Rows);
        Assert.Equal(Sub(1), row.SubscriptionId);
        Assert.Equal("pal", row.Sources);
        var link = Assert.Single(row.Associations);
        Assert.Equal((AssociationSource.Pal, "pal"), (link.Source, link.SourceName));
        Assert.Equal(Sub(1), link.SubscriptionId);
        Assert.True(link.Workloads.IsEmpty);
        Assert.Equal(D("2025-01-01"), link.ValidFrom);
        Assert.Null(link.ValidTo);
        Assert.Equal("assoc-1", link.IngestionId);
    }
}
