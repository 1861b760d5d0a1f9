using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Domain.Rules;
using static Attribution.Domain.Tests.Credit.CreditScenario;

namespace Attribution.Domain.Tests.Credit;

public class ExplainTests
{
    private static CreditScenario Scenario(CreditPolicy policy) => new CreditScenario().WithPolicy(policy)
        .Sales(1, 1, "2025-01-01", "2026-02-01")           // line 1
        .Dap(1, 1, W(Workload.Azure), "2025-06-01")         // line 2
        .Csp(2, 1, 1, "2025-01-01")                          // line 3
        .Dpor(1, 1, 3, "2026-01-20")                         // line 4
        .Use(1, 1, Workload.Azure, "2025-12", 0.1, null)
        .Use(1, 1, Workload.Azure, "2026-01", 0.7, null)
        .Use(1, 1, Workload.Teams, "2026-01", 1234.567, 9)
        .Use(1, 1, Workload.Azure, "2026-02", 1234.567, null)
        .Use(2, 2, Workload.Azure, "2026-02", 99, null)      // another tenant, nobody credited
        .Use(1, 1, Workload.Azure, "2026-03", 1.1, null);

    [Theory]
    [InlineData(CreditPolicy.Full)]
    [InlineData(CreditPolicy.Split)]
    [InlineData(CreditPolicy.DporOnly)]
    public void Credited_revenue_of_the_evidence_sums_exactly_to_the_published_acr(CreditPolicy policy)
    {
        var s = Scenario(policy);
        var results = s.Results();
        foreach (var partner in new long[] { 1, 2, 3 })
        {
            var e = CreditEngine.Explain(s.Input(), new PartnerId(partner), "cloudplatform");
            // Exact in billionths of a USD, the unit the engine adds in (so any order gives the same total).
            var nanos = Int128.Zero;
            foreach (var row in e.Rows) nanos += (Int128)Math.Round(row.CreditedRevenueUsd * 1e9);
            Assert.Equal(e.Credit.AcrUsdTtm, (double)nanos / 1e9);
            var published = results.PartnerCredit.SingleOrDefault(x => x.PartnerId.Value == partner && x.Credit.Competency == "CloudPlatform");
            Assert.Equal(published?.Credit.AcrUsdTtm ?? 0, e.Credit.AcrUsdTtm); // exact
            Assert.Equal(published?.Credit.Level ?? CompetencyLevel.None, e.Credit.Level);
        }
    }

    [Fact]
    public void Evidence_lists_each_credited_row_with_share_and_this_partners_associations()
    {
        var s = Scenario(CreditPolicy.Split);
        var e = CreditEngine.Explain(s.Input(), new PartnerId(1), "CloudPlatform");
        Assert.Equal("CloudPlatform", e.Credit.Competency);
        Assert.Equal(["2025-12", "2026-01", "2026-02", "2026-03"], e.Rows.Select(r => r.Month.ToString()).ToArray());

        // Dec: partners 1 (sales+dap) and 2 (csp): k = 2.
        var dec = e.Rows[0];
        Assert.Equal(0.5, dec.Share);
        Assert.Equal(0.05, dec.CreditedRevenueUsd, 9); // the engine adds billionths of a USD
        Assert.Equal("dap;sales", dec.Sources);
        Assert.Equal([("sales", 1L), ("dap", 2L)], dec.Associations.Select(a => (a.SourceName, a.Line)).ToArray());
        Assert.Equal("assoc-1", dec.Associations[0].IngestionId);
        Assert.Null(dec.Associations[0].SubscriptionId);
        Assert.Equal(D("2026-02-01"), dec.Associations[0].ValidTo);
        Assert.Equal("Azure", dec.Associations[1].Workloads.ToString());
        Assert.Equal(0, dec.DporDays);

        // Jan: + DPOR 3 from the 20th: k = 3. Feb: sales still in force on Feb 1: k = 3. Mar: dap, csp, dpor: k = 3.
        Assert.Equal(1.0 / 3, e.Rows[1].Share);
        Assert.Equal(0.7 / 3, e.Rows[1].CreditedRevenueUsd, 9);
        Assert.Equal(1.0 / 3, e.Rows[2].Share);
        Assert.Equal(["dap"], e.Rows[3].Associations.Select(a => a.SourceName).ToArray());
        Assert.Equal((Tenant(1), Sub(1), Workload.Azure), (dec.CustomerTenantId, dec.SubscriptionId, dec.Workload));
        Assert.Equal("usage-1", dec.UsageLineage.IngestionId);

        Assert.Equal(0.05 + 0.7 / 3 + 1234.567 / 3 + 1.1 / 3, e.Credit.AcrUsdTtm, 9);
        Assert.Equal("dap;sales", e.Credit.Sources);
    }

    [Fact]
    public void Evidence_of_a_dpor_shows_its_days_and_the_set_event()
    {
        var e = CreditEngine.Explain(Scenario(CreditPolicy.Full).Input(), new PartnerId(3), "CloudPlatform");
        Assert.Equal(["2026-01", "2026-02", "2026-03"], e.Rows.Select(r => r.Month.ToString()).ToArray());
        var jan = e.Rows[0];
        Assert.Equal((12, 31, 1.0, "dpor"), (jan.DporDays, jan.DaysInMonth, jan.Share, jan.Sources));
        var a = Assert.Single(jan.Associations);
        Assert.Equal((AssociationSource.Dpor, D("2026-01-20"), (DateOnly?)null, "dpor-1", 4L), (a.Source, a.ValidFrom, a.ValidTo, a.IngestionId, a.Line));
        Assert.Equal(Sub(1), a.SubscriptionId);
        Assert.Equal(28, e.Rows[1].DporDays);
        Assert.Equal(0.7 * 12 / 31 + 1234.567 * 12 / 31 + 1234.567 + 1.1, e.Credit.IncentiveEligibleAcrUsdTtm, 9);
    }

    [Fact]
    public void Evidence_is_limited_to_the_competencys_workloads()
    {
        var e = CreditEngine.Explain(Scenario(CreditPolicy.Full).Input(), new PartnerId(2), "SmallMidmarketCloud");
        var row = Assert.Single(e.Rows);
        Assert.Equal((Workload.Teams, 9.0), (row.Workload, row.CreditedActiveUsers));
        Assert.Equal(9, e.Credit.PeakMonthlyActiveUsers);
        Assert.Equal(1, e.Credit.Customers);
    }

    [Fact]
    public void A_partner_with_no_credit_has_empty_evidence()
    {
        var e = CreditEngine.Explain(Scenario(CreditPolicy.Full).Input(), new PartnerId(424242), "Security");
        Assert.Empty(e.Rows);
        Assert.Equal((0.0, 0.0, 0, "None", "Silver", 0.0), (e.Credit.AcrUsdTtm, e.Credit.PeakMonthlyActiveUsers, e.Credit.Customers, e.Credit.Level.Name, e.Credit.NextLevel?.Name, e.Credit.Progress));
        Assert.Equal(424242, e.GlobalPartnerId.Value);
    }

    [Fact]
    public void Unknown_competency_is_an_argument_error()
    {
        var ex = Assert.Throws<ArgumentException>(() => CreditEngine.Explain(Scenario(CreditPolicy.Full).Input(), new PartnerId(1), "Gardening"));
        Assert.Contains("Gardening", ex.Message, StringComparison.Ordinal);
    }
}
