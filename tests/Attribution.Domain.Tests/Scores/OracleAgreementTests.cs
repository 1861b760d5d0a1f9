using System.Globalization;
using Attribution.Domain.Credit;
using Attribution.Domain.Rules;
using Attribution.Domain.Scores;
using Attribution.Testing;

namespace Attribution.Domain.Tests.Scores;

/// <summary>
/// The production path of the capability scores (the credit engine's shard partials → <see cref="CapabilityScores.Merge"/>
/// → <see cref="CapabilityScores.Score"/> over <see cref="CapabilityScores.Population"/>) against the independent
/// <see cref="ScoreOracle"/>, row by row and property by property, on a seeded random dataset: 300 tenants over 24
/// months, every association source, DPOR events (removes and same-day ties among them), locations rolling up to
/// global partners, certifications with expiries and lower-case codes.
/// </summary>
public sealed class OracleAgreementTests
{
    private static readonly YearMonth AsOf = new(2026, 6);

    [Theory]
    [InlineData(20260601, 1)]
    [InlineData(20260601, 3)]
    [InlineData(7, 2)]
    public void The_engine_scores_every_partner_and_designation_as_the_oracle_does(int seed, int shards)
    {
        var rules = CreditRulesLoader.Default;
        var data = RandomDataset.Generate(seed);
        var globalOf = data.Partners.ToDictionary(p => p.PartnerId, p => p.GlobalPartnerId);

        // Production: one ComputeShard per tenant shard, the score partials merged, the population, a Score per row.
        var shardCredits = new List<ShardCredit>();
        for (var s = 0; s < shards; s++)
        {
            bool Mine(Guid tenant) => data.ShardOf(tenant, shards) == s;
            shardCredits.Add(CreditEngine.ComputeShard(new CreditInput
            {
                AsOf = AsOf,
                Rules = rules,
                Usage = [.. data.Usage.Where(u => Mine(u.CustomerTenantId))],
                Associations = [.. data.Associations.Where(a => Mine(a.CustomerTenantId))],
                DporEvents = [.. data.Dpor.Where(e => Mine(e.CustomerTenantId))],
                GlobalPartnerOf = globalOf,
            }));
        }
        var merged = CapabilityScores.Merge(shardCredits.SelectMany(c => c.Scores));
        var results = CreditEngine.Finish(shardCredits, rules, AsOf);
        var withCredit = results.GlobalPartnerCredit.Select(r => r.GlobalPartnerId.Value).ToHashSet();
        var population = CapabilityScores.Population(rules, AsOf, withCredit, data.Certifications, globalOf);
        long GlobalOf(long location) => globalOf.TryGetValue(location, out var g) ? g : location;
        var actual = new List<CapabilityScoreRow>();
        foreach (var g in population)
        {
            var certs = data.Certifications.Where(c => GlobalOf(c.PartnerId) == g).ToList();
            foreach (var d in rules.Designations)
            {
                var partial = merged.SingleOrDefault(p => p.GlobalPartnerId == g && p.Designation == d.Name);
                actual.Add(CapabilityScores.Score(d, rules.WindowMonths, AsOf, g, partial, certs).Row);
            }
        }

        // The oracle, from the plain records. Who has a GlobalPartnerCredit row is the engine's (§4, not §7) and is
        // checked against the oracle's own reading first.
        var oracleCredit = ScoreOracle.GlobalPartnersCredited(rules, AsOf, data.Usage, data.Associations, data.Dpor, data.Partners);
        Assert.Equal(oracleCredit.Order(), withCredit.Order());
        var expected = ScoreOracle.Expected(rules, AsOf, data.Usage, data.Associations, data.Dpor, data.Partners, data.Certifications, withCredit);

        Assert.Equal(expected.Select(r => (r.GlobalPartnerId, r.Designation)), actual.Select(r => (r.GlobalPartnerId.Value, r.Designation)));
        var mismatches = ScoreRowComparison.Mismatches(expected, actual, rules.RulesVersion);
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches:\n{string.Join("\n", mismatches.Take(25))}");

        // The dataset exercises what it is meant to (so a pass says something).
        Assert.True(expected.Count >= 40, $"{expected.Count} rows");
        Assert.Contains(expected, r => r.Qualified);
        Assert.Contains(expected, r => r.Eligible && !r.Qualified);
        Assert.Contains(expected, r => !r.Eligible);
        Assert.Contains(expected, r => r.Track == "SMB");
        Assert.Contains(expected, r => r.Track == "Enterprise");
        Assert.Contains(expected, r => r.UsageGrowthPoints is not null && r.UsageGrowthPercent is null);
        Assert.Contains(expected, r => r.NetCustomerAdds < 0);
        Assert.Contains(expected, r => r.QualifiedMonths.Contains(';', StringComparison.Ordinal));
        Assert.Contains(expected, r => !withCredit.Contains(r.GlobalPartnerId)); // in the population through certifications only
    }
}
