using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Domain.Rules;
using static Attribution.Domain.Tests.Credit.CreditScenario;

namespace Attribution.Domain.Tests.Credit;

/// <summary>
/// A reduce per partner range (Slice + Finish with a scope) gives exactly the rows of one Finish over every shard:
/// the globals included, whose locations fall in other ranges.
/// </summary>
public class RangeFinishTests
{
    /// <summary>Three shards (tenants never cross shards); locations of two globals spread over the ranges.</summary>
    private static List<ShardCredit> Shards(CreditPolicy policy)
    {
        var shards = new List<ShardCredit>();
        for (var s = 0; s < 3; s++)
        {
            var scenario = new CreditScenario().WithPolicy(policy)
                .Global(11, 900).Global(12, 900).Global(13, 900).Global(21, 800).Global(22, 800);
            for (var t = s * 4; t < s * 4 + 4; t++)
            {
                var sub = 100 + t;
                scenario.Sales(11 + t % 3, t, "2025-01-01")
                    .Csp(21 + t % 2, t, sub, "2025-06-01", t % 2 == 0 ? "2026-03-31" : null)
                    .Dap(30 + t % 4, t, W(Workload.Teams, Workload.Exchange), "2025-09-01")
                    .Dpor(sub, t, 12 + t % 2, "2025-03-01")
                    .Dpor(sub, t, 22, "2026-02-15")
                    .Use(t, sub, Workload.Azure, "2026-01", 1000 + t, null)
                    .Use(t, sub, Workload.Azure, "2026-03", 700.25 * t, null)
                    .Use(t, sub, Workload.Teams, "2026-02", 0, 10 + t)
                    .Use(t, sub, Workload.Exchange, "2026-04", 5 * t, 3 + t);
            }
            shards.Add(scenario.Shard());
        }
        return shards;
    }

    [Theory]
    [InlineData(CreditPolicy.Full, 1)]
    [InlineData(CreditPolicy.Full, 3)]
    [InlineData(CreditPolicy.Split, 4)]
    [InlineData(CreditPolicy.DporOnly, 5)]
    public void Reducing_each_partner_range_apart_gives_the_rows_of_one_finish(CreditPolicy policy, int ranges)
    {
        var shards = Shards(policy);
        var rules = new CreditScenario().WithPolicy(policy).Rules;
        var asOf = new CreditScenario().AsOf;
        var whole = CreditEngine.Finish(shards, rules, asOf);

        var partnerRows = new List<PartnerCreditRow>();
        var globalRows = new List<GlobalPartnerCreditRow>();
        int partners = 0, globals = 0;
        for (var k = 0; k < ranges; k++)
        {
            var range = k;
            var scope = new CreditScope(p => p % ranges == range, g => g % ranges == range);
            var part = CreditEngine.Finish(shards.Select(s => CreditEngine.Slice(s, scope)), rules, asOf, scope);
            Assert.Empty(part.SubscriptionPartners);
            Assert.All(part.PartnerCredit, r => Assert.Equal(range, (int)(r.PartnerId.Value % ranges)));
            Assert.All(part.GlobalPartnerCredit, r => Assert.Equal(range, (int)(r.GlobalPartnerId.Value % ranges)));
            partnerRows.AddRange(part.PartnerCredit);
            globalRows.AddRange(part.GlobalPartnerCredit);
            partners += part.Partners;
            globals += part.GlobalPartners;
        }

        Assert.True(whole.GlobalPartnerCredit.Count > 0 && whole.PartnerCredit.Count > 0);
        Assert.Equal(whole.PartnerCredit.OrderBy(r => r.PartnerId).ThenBy(r => r.Credit.Competency, StringComparer.Ordinal),
            partnerRows.OrderBy(r => r.PartnerId).ThenBy(r => r.Credit.Competency, StringComparer.Ordinal));
        Assert.Equal(whole.GlobalPartnerCredit.OrderBy(r => r.GlobalPartnerId).ThenBy(r => r.Credit.Competency, StringComparer.Ordinal),
            globalRows.OrderBy(r => r.GlobalPartnerId).ThenBy(r => r.Credit.Competency, StringComparer.Ordinal));
        Assert.Equal((whole.Partners, whole.GlobalPartners), (partners, globals));
    }

    [Fact]
    public void A_slice_keeps_what_its_range_needs_and_no_tenant_rows()
    {
        var shard = Shards(CreditPolicy.Full)[0];
        var scope = new CreditScope(p => p == 11, g => g == 800);
        var slice = CreditEngine.Slice(shard, scope);

        Assert.All(slice.Locations, l => Assert.Equal(11, l.PartnerId));
        Assert.All(slice.Globals, g => Assert.Equal(800, g.PartnerId));
        // 11 for its own rows; 21 and 22 because their global (800) is in scope.
        Assert.Equal(shard.Partners.Where(p => p.PartnerId == 11 || p.GlobalPartnerId == 800).Select(p => p.PartnerId), slice.Partners.Select(p => p.PartnerId));
        Assert.Empty(slice.SubscriptionPartners);
        Assert.Empty(slice.IncentiveEligibility);
        Assert.Equal(0, slice.UsageRowsInWindow);
    }
}
