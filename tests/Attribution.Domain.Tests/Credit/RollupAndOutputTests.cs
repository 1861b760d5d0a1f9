using System.Text.Json;
using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Domain.Rules;
using static Attribution.Domain.Tests.Credit.CreditScenario;

namespace Attribution.Domain.Tests.Credit;

public class GlobalRollupTests
{
    private const long L1 = 11, L2 = 12, G = 900, P3 = 3;

    [Fact]
    public void Two_locations_credited_on_one_row_count_it_once_for_their_global()
    {
        var r = new CreditScenario()
            .Global(L1, G).Global(L2, G)
            .Sales(L1, 1, "2025-01-01")
            .Csp(L2, 1, 1, "2025-01-01")
            .Use(1, 1, Workload.Azure, "2026-01", 1000, null)
            .Use(1, 1, Workload.Teams, "2026-01", 0, 40)
            .Results();

        Assert.Equal(1000, r.Row(L1, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(1000, r.Row(L2, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(G, r.PartnerRow(L1, "CloudPlatform").GlobalPartnerId.Value);

        var g = r.GlobalRow(G, "CloudPlatform");
        Assert.Equal(1000, g.AcrUsdTtm, 9);
        Assert.Equal(1, g.Customers);
        Assert.Equal("csp;sales", g.Sources);
        Assert.Equal("11;12", r.GlobalPartnerRow(G, "CloudPlatform").Locations);
        Assert.Equal(40, r.GlobalRow(G, "SmallMidmarketCloud").PeakMonthlyActiveUsers, 9);
        Assert.Equal(4, r.GlobalPartnerCredit.Count); // one global × every competency
        Assert.Equal((2, 1), (r.Partners, r.GlobalPartners));
    }

    [Fact]
    public void Under_split_a_global_gets_the_sum_of_its_locations_shares()
    {
        var r = new CreditScenario().WithPolicy(CreditPolicy.Split)
            .Global(L1, G).Global(L2, G)
            .Sales(L1, 1, "2025-01-01")
            .Csp(L2, 1, 1, "2025-01-01")
            .Dap(P3, 1, W(Workload.Azure), "2025-01-01")
            .Use(1, 1, Workload.Azure, "2026-01", 900, null)
            .Results();
        Assert.Equal(300, r.Row(L1, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(600, r.GlobalRow(G, "CloudPlatform").AcrUsdTtm, 9);
        Assert.Equal(300, r.GlobalRow(P3, "CloudPlatform").AcrUsdTtm, 9); // unknown in the directory: its own global
        Assert.Equal("3", r.GlobalPartnerRow(P3, "CloudPlatform").Locations);
    }

    [Fact]
    public void Global_peak_sums_its_locations_per_month_and_incentive_adds_up()
    {
        var r = new CreditScenario()
            .Global(L1, G).Global(L2, G)
            .Dpor(1, 1, L1, "2025-01-01")
            .Dpor(2, 2, L2, "2025-01-01")
            .Dpor(2, 2, L1, "2026-02-15") // L2 → L1 mid-February on subscription 2
            .Use(1, 1, Workload.Teams, "2026-01", 310, 30)
            .Use(2, 2, Workload.Teams, "2026-01", 620, 20)
            .Use(2, 2, Workload.Teams, "2026-02", 280, 25)
            .Results();

        // L1: Jan sub1 310 + Feb sub2 280 × 14/28 = 450; L2: Jan 620 + Feb 280 × 14/28 = 760.
        Assert.Equal(450, r.Row(L1, "SmallMidmarketCloud").IncentiveEligibleAcrUsdTtm, 9);
        Assert.Equal(760, r.Row(L2, "SmallMidmarketCloud").IncentiveEligibleAcrUsdTtm, 9);
        var g = r.GlobalRow(G, "SmallMidmarketCloud");
        Assert.Equal(1210, g.IncentiveEligibleAcrUsdTtm, 9);
        Assert.Equal(50, g.PeakMonthlyActiveUsers, 9);     // Jan: 30 + 20; Feb: 25 (both locations on one row, once)
        Assert.Equal(1210, g.AcrUsdTtm, 9);                // each row once
        Assert.Equal(2, g.Customers);
        Assert.Equal(2, r.Row(L1, "SmallMidmarketCloud").Customers);
        Assert.Equal(30, r.Row(L1, "SmallMidmarketCloud").PeakMonthlyActiveUsers, 9);
        Assert.Equal(25, r.Row(L2, "SmallMidmarketCloud").PeakMonthlyActiveUsers, 9);
    }
}

public class OutputTableTests
{
    [Fact]
    public void Every_competency_gets_a_row_for_a_credited_partner_zeros_included()
    {
        var r = new CreditScenario()
            .Dpor(1, 1, 5, "2025-01-01")
            .Use(1, 1, Workload.Azure, "2026-01", 1234, null)
            .Results();
        Assert.Equal(["CloudPlatform", "SmallMidmarketCloud", "Security", "CloudBusinessApplications"],
            r.PartnerCredit.Select(x => x.Credit.Competency).ToArray());
        foreach (var row in r.PartnerCredit.Skip(1))
        {
            var c = row.Credit;
            Assert.Equal((0.0, 0.0, 0), (c.AcrUsdTtm, c.PeakMonthlyActiveUsers, c.Customers));
            Assert.Equal(("None", "Silver", 0.0, ""), (c.Level.Name, c.NextLevel?.Name, c.Progress, c.Sources));
            Assert.Equal(1234, c.IncentiveEligibleAcrUsdTtm, 9);
            Assert.Equal(5, row.GlobalPartnerId.Value);
        }
        Assert.Equal(1234, r.PartnerCredit[0].Credit.AcrUsdTtm, 9);
        Assert.Equal(4, r.GlobalPartnerCredit.Count);
    }

    [Fact]
    public void SubscriptionPartners_isDpor_means_dpor_on_the_last_day_of_asOf()
    {
        var r = new CreditScenario { AsOf = M("2026-06") }
            .Dpor(1, 1, 1, "2026-01-01")
            .Dpor(1, 1, 2, "2026-06-30")                       // takes over on the last day
            .Dpor(2, 1, 3, "2026-01-01")
            .Dpor(2, 1, 3, "2026-06-30", DporAction.Remove)    // removed on the last day: ends June 29
            .Dpor(3, 1, 4, "2026-02-01")
            .Sales(1, 1, "2025-01-01", sub: 1)
            .Use(1, 1, Workload.Azure, "2026-06", 300, null)
            .Use(1, 1, Workload.Teams, "2026-05", 0, 5)
            .Use(1, 2, Workload.Azure, "2026-06", 300, null)
            .Use(1, 3, Workload.Azure, "2026-06", 300, null)
            .Results();

        var sp = r.SubscriptionPartners.ToDictionary(x => (x.SubscriptionId, x.PartnerId.Value));
        Assert.False(sp[(Sub(1), 1)].IsDpor);
        Assert.Equal("dpor;sales", sp[(Sub(1), 1)].Sources);
        Assert.Equal("Azure;Teams", sp[(Sub(1), 1)].Workloads.ToString());
        Assert.True(sp[(Sub(1), 2)].IsDpor);
        Assert.Equal("dpor", sp[(Sub(1), 2)].Sources);
        Assert.Equal("Azure", sp[(Sub(1), 2)].Workloads.ToString());
        Assert.False(sp[(Sub(2), 3)].IsDpor);
        Assert.True(sp[(Sub(3), 4)].IsDpor);
        Assert.Equal(Tenant(1), sp[(Sub(3), 4)].CustomerTenantId);
        Assert.Equal(4, sp.Count);

        Assert.Equal(10, r.Row(2, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9);  // 300 × 1/30
        Assert.Equal(290, r.Row(1, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9); // 300 × 29/30 (+ May's 0)
        Assert.Equal(290, r.Row(3, "CloudPlatform").IncentiveEligibleAcrUsdTtm, 9);
    }

    [Fact]
    public void IncentiveEligibility_row_with_no_revenue_has_acrUsd_zero()
    {
        var r = new CreditScenario()
            .Dpor(1, 1, 8, "2025-01-01")
            .Use(1, 1, Workload.Teams, "2026-01", null, 10)
            .Results();
        var ie = Assert.Single(r.IncentiveEligibility);
        Assert.Equal((8L, "2026-01", 0.0, 31, 31, 0.0), (ie.DporPartnerId.Value, ie.Month.ToString(), ie.AcrUsd, ie.DporDays, ie.DaysInMonth, ie.IncentiveAcrUsd));
        Assert.Equal(10, r.Row(8, "SmallMidmarketCloud").PeakMonthlyActiveUsers);
        Assert.Equal(0, r.Row(8, "SmallMidmarketCloud").IncentiveEligibleAcrUsdTtm);
    }

    [Fact]
    public void Shard_partials_round_trip_through_json_and_merge_like_one_shard()
    {
        // Partner 1 on tenant 1 (shard A) and tenant 2 (shard B); global 50 over partners 1 and 2.
        CreditScenario Build(bool a, bool b)
        {
            var s = new CreditScenario().Global(1, 50).Global(2, 50);
            if (a)
            {
                s.Sales(1, 1, "2025-01-01").Dpor(1, 1, 2, "2025-01-01")
                 .Use(1, 1, Workload.Teams, "2026-01", 10, 30)
                 .Use(1, 1, Workload.Azure, "2026-02", 0.1, null);
            }
            if (b)
            {
                s.Sales(1, 2, "2025-01-01").Csp(2, 2, 2, "2025-06-01")
                 .Use(2, 2, Workload.Teams, "2026-01", 20, 20)
                 .Use(2, 2, Workload.Teams, "2026-02", 0.2, 40);
            }
            return s;
        }
        var shardA = Build(true, false).Shard();
        var shardB = Build(false, true).Shard();
        var rules = CreditRulesLoader.Default;
        var asOf = M("2026-06");

        var json = JsonSerializer.Serialize(new[] { shardA, shardB });
        var back = JsonSerializer.Deserialize<ShardCredit[]>(json)!;
        var merged = CreditEngine.Finish(back, rules, asOf);
        var direct = CreditEngine.Finish([shardA, shardB], rules, asOf);
        Assert.Equal(direct.PartnerCredit, merged.PartnerCredit);
        Assert.Equal(direct.GlobalPartnerCredit, merged.GlobalPartnerCredit);
        Assert.Equal(direct.SubscriptionPartners, merged.SubscriptionPartners);
        Assert.Equal(direct.IncentiveEligibility, merged.IncentiveEligibility);

        var row = merged.Row(1, "SmallMidmarketCloud");
        Assert.Equal(50, row.PeakMonthlyActiveUsers, 9); // Jan 30 + 20 across shards beats Feb 40
        Assert.Equal(2, row.Customers);
        Assert.Equal(30.2, row.AcrUsdTtm, 9);
        var g = merged.GlobalRow(50, "SmallMidmarketCloud");
        Assert.Equal(50, g.PeakMonthlyActiveUsers, 9);
        Assert.Equal(2, g.Customers);
        Assert.Equal("csp;dpor;sales", g.Sources);
        Assert.Equal("1;2", merged.GlobalPartnerRow(50, "SmallMidmarketCloud").Locations);

        var single = Build(true, true).Results();
        foreach (var partnerRow in single.PartnerCredit)
        {
            var x = partnerRow.Credit;
            var y = merged.Row(partnerRow.PartnerId.Value, x.Competency);
            Assert.Equal(x.AcrUsdTtm, y.AcrUsdTtm, 9);
            Assert.Equal((x.PeakMonthlyActiveUsers, x.Customers, x.Level, x.Sources), (y.PeakMonthlyActiveUsers, y.Customers, y.Level, y.Sources));
        }
        Assert.Equal(single.UsageRowsInWindow, merged.UsageRowsInWindow);
    }

    [Fact]
    public void Finish_rejects_a_shard_of_another_asOf()
    {
        var shard = new CreditScenario().Shard();
        Assert.Throws<ArgumentException>(() => CreditEngine.Finish([shard], CreditRulesLoader.Default, M("2026-05")));
    }
}
