using System.Globalization;
using Attribution.Domain.Rules;
using Attribution.Domain.Scores;
using Attribution.Testing;

namespace Attribution.Domain.Tests.Scores;

/// <summary>
/// The scoring half of the engine (<see cref="ScoreAccumulator"/> per tenant shard → <see cref="CapabilityScores.Merge"/>
/// → <see cref="CapabilityScores.Population"/> and <see cref="CapabilityScores.Score"/>) against the independent
/// <see cref="ScoreOracle"/> on a seeded random dataset, row by row. Who is credited on each usage row comes from the
/// oracle's brute-force crediting (§3), so this checks §7.1's per-designation sources, the roll-up and §7.2–7.4; the
/// whole path from the credit walker on is OracleAgreementTests'.
/// </summary>
public sealed class ScoringAgreementTests
{
    private static readonly YearMonth AsOf = new(2026, 6);

    [Theory]
    [InlineData(20260601, 1)]
    [InlineData(20260601, 3)]
    [InlineData(7, 2)]
    public void The_score_accumulator_and_finish_score_every_partner_and_designation_as_the_oracle_does(int seed, int shards)
    {
        var rules = CreditRulesLoader.Default;
        var data = RandomDataset.Generate(seed);
        var globalOf = data.Partners.ToDictionary(p => p.PartnerId, p => p.GlobalPartnerId);
        var crediting = new ScoreOracle.Crediting(data.Partners, data.Associations, data.Dpor);

        var accumulators = Enumerable.Range(0, shards).Select(_ => new ScoreAccumulator(rules, AsOf, globalOf)).ToList();
        foreach (var u in data.Usage)
        {
            var credited = crediting.CreditedLocations(u)
                .GroupBy(x => x.Location)
                .Select(g => ScoreCredit.Of(g.Key, [.. g.Select(x => x.Source).Distinct()]))
                .ToArray();
            if (credited.Length > 0) accumulators[data.ShardOf(u.CustomerTenantId, shards)].Add(u, credited);
        }
        var merged = CapabilityScores.Merge(accumulators.SelectMany(a => a.ToPartials()));
        var withCredit = ScoreOracle.GlobalPartnersCredited(rules, AsOf, data.Usage, data.Associations, data.Dpor, data.Partners);
        var population = CapabilityScores.Population(rules, AsOf, withCredit, data.Certifications, globalOf);
        var actual = new List<CapabilityScoreRow>();
        foreach (var g in population)
        {
            var certs = data.Certifications.Where(c => crediting.GlobalOf(c.PartnerId) == g).ToList();
            foreach (var d in rules.Designations)
            {
                var partial = merged.SingleOrDefault(p => p.GlobalPartnerId == g && p.Designation == d.Name);
                actual.Add(CapabilityScores.Score(d, rules.WindowMonths, AsOf, g, partial, certs).Row);
            }
        }

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

/// <summary>An engine row against the oracle's, property by property (doubles to <see cref="ScoreOracle.Close(double, double)"/>).</summary>
internal static class ScoreRowComparison
{
    public static List<string> Mismatches(IReadOnlyList<ExpectedScoreRow> expected, IReadOnlyList<CapabilityScoreRow> actual, string rulesVersion)
    {
        var mismatches = new List<string>();
        for (var i = 0; i < expected.Count; i++)
        {
            var got = Properties(actual[i], rulesVersion);
            foreach (var (name, value) in expected[i].ToProperties())
            {
                var other = got[name];
                var same = value is double x && other is double y ? ScoreOracle.Close(x, y) : Equals(value, other);
                if (!same)
                    mismatches.Add($"{expected[i].PartitionKey}/{expected[i].Designation} {name}: oracle {Show(value)}, engine {Show(other)}; oracle months " +
                        string.Join(", ", expected[i].Months.Select(m => $"{m.Month} {m.Track} {m.Score.ToString(CultureInfo.InvariantCulture)}{(m.Qualified ? " Q" : "")}")));
            }
        }
        return mismatches;
    }

    public static Dictionary<string, object?> Properties(CapabilityScoreRow r, string rulesVersion) => new(StringComparer.Ordinal)
    {
        ["globalPartnerId"] = r.GlobalPartnerId.Value.ToString(CultureInfo.InvariantCulture),
        ["designation"] = r.Designation,
        ["asOf"] = r.AsOf.ToString(),
        ["track"] = r.Track,
        ["score"] = r.Score,
        ["qualified"] = r.Qualified,
        ["eligible"] = r.Eligible,
        ["qualifiedMonths"] = r.QualifiedMonths,
        ["pointsToQualify"] = r.PointsToQualify,
        ["zeroMetrics"] = r.ZeroMetrics,
        ["rulesVersion"] = rulesVersion, // the run's, published beside the row
        ["netCustomerAdds"] = r.NetCustomerAdds,
        ["netCustomerAddsPoints"] = r.NetCustomerAddsPoints,
        ["usageGrowthPercent"] = r.UsageGrowthPercent,
        ["usageGrowthPoints"] = r.UsageGrowthPoints,
        ["deployments"] = r.Deployments,
        ["deploymentsPoints"] = r.DeploymentsPoints,
        ["intermediateCertifications"] = r.IntermediateCertifications,
        ["intermediateCertificationsPoints"] = r.IntermediateCertificationsPoints,
        ["advancedCertifications"] = r.AdvancedCertifications,
        ["advancedCertificationsPoints"] = r.AdvancedCertificationsPoints,
    };

    private static string Show(object? v) => v switch
    {
        null => "null",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        string s => $"'{s}'",
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };
}
