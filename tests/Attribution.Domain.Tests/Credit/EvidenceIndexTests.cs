using System.Buffers.Binary;
using System.Globalization;
using Attribution.Domain.Credit;
using Attribution.Domain.Rules;
using Attribution.Domain.Tests.Scores;

namespace Attribution.Domain.Tests.Credit;

/// <summary>
/// The explanation index the shards write (<see cref="EvidenceIndex"/>) against the engine's own Explain over the whole
/// input: for every credited partner and competency, the same rows in the same order with the same associations, under
/// every credit policy and however the tenants are split into shards.
/// </summary>
public sealed class EvidenceIndexTests
{
    private static readonly YearMonth AsOf = new(2026, 6);

    [Theory]
    [InlineData(CreditPolicy.Full, 20260601, 1)]
    [InlineData(CreditPolicy.Split, 20260601, 3)]
    [InlineData(CreditPolicy.DporOnly, 7, 2)]
    [InlineData(CreditPolicy.Split, 11, 4)]
    public void The_index_lists_every_credited_row_as_Explain_does(CreditPolicy policy, int seed, int shards)
    {
        var rules = CreditRulesLoader.Default with { CreditPolicy = policy };
        var data = RandomDataset.Generate(seed);
        var globalOf = data.Partners.ToDictionary(p => p.PartnerId, p => p.GlobalPartnerId);
        var whole = new CreditInput { AsOf = AsOf, Rules = rules, Usage = data.Usage, Associations = data.Associations, DporEvents = data.Dpor, GlobalPartnerOf = globalOf };

        var shardCredits = Enumerable.Range(0, shards).Select(s =>
        {
            bool Mine(Guid tenant) => data.ShardOf(tenant, shards) == s;
            return CreditEngine.ComputeShard(new CreditInput
            {
                AsOf = AsOf,
                Rules = rules,
                GlobalPartnerOf = globalOf,
                Usage = [.. data.Usage.Where(u => Mine(u.CustomerTenantId))],
                Associations = [.. data.Associations.Where(a => Mine(a.CustomerTenantId))],
                DporEvents = [.. data.Dpor.Where(e => Mine(e.CustomerTenantId))],
            });
        }).ToList();
        var results = CreditEngine.Finish(shardCredits, rules, AsOf);
        Assert.NotEmpty(results.PartnerCredit);

        // A partner's section: its chunks from every shard, in reverse shard order (the reader orders by tenant).
        var sections = shardCredits.AsEnumerable().Reverse().SelectMany(c => c.Evidence).GroupBy(c => c.PartnerId)
            .ToDictionary(g => g.Key, g => Section(g.Select(c => c.Bytes)));
        Assert.Equal(results.PartnerCredit.Select(r => r.PartnerId.Value).Distinct().Order(), sections.Keys.Order());

        var compared = 0;
        foreach (var row in results.PartnerCredit)
        {
            var competency = rules.Competencies.Single(c => c.Name == row.Credit.Competency);
            var expected = CreditEngine.Explain(whole, row.PartnerId, competency.Name).Rows
                .OrderBy(r => r.CustomerTenantId).Select(Text).ToList(); // stable: walk order within a tenant
            var (total, page) = EvidenceIndex.Read(sections[row.PartnerId.Value], competency.Workloads);
            Assert.Equal(expected.Count, total);
            Assert.Equal(expected, page.Select(Text).ToList());
            // The rows add up to the published ACR, to the billionth.
            var nanos = Int128.Zero;
            foreach (var r in page) nanos += (Int128)Math.Round(r.CreditedRevenueUsd * 1e9);
            Assert.Equal(row.Credit.AcrUsdTtm, (double)nanos / 1e9);
            compared += total;
        }
        Assert.True(compared > 1000, $"only {compared} rows compared");
    }

    [Fact]
    public void A_page_is_the_slice_of_the_whole_list()
    {
        var data = RandomDataset.Generate(3);
        var rules = CreditRulesLoader.Default;
        var shard = CreditEngine.ComputeShard(new CreditInput
        {
            AsOf = AsOf, Rules = rules, Usage = data.Usage, Associations = data.Associations, DporEvents = data.Dpor,
            GlobalPartnerOf = data.Partners.ToDictionary(p => p.PartnerId, p => p.GlobalPartnerId),
        });
        var busiest = shard.Evidence.MaxBy(c => c.Rows)!;
        var section = Section([busiest.Bytes]);
        var (total, all) = EvidenceIndex.Read(section, WorkloadSet.All);
        Assert.Equal(busiest.Rows, total);
        Assert.True(total > 40);
        var (pagedTotal, page) = EvidenceIndex.Read(section, WorkloadSet.All, offset: 17, take: 10);
        Assert.Equal(total, pagedTotal);
        Assert.Equal(all.Skip(17).Take(10).Select(Text), page.Select(Text));
        Assert.Empty(EvidenceIndex.Read(section, WorkloadSet.All, offset: total).Page);
    }

    [Fact]
    public void A_damaged_section_is_refused_as_invalid_data_not_misread()
    {
        var data = RandomDataset.Generate(5);
        var shard = CreditEngine.ComputeShard(new CreditInput
        {
            AsOf = AsOf, Rules = CreditRulesLoader.Default, Usage = data.Usage, Associations = data.Associations, DporEvents = data.Dpor,
            GlobalPartnerOf = new Dictionary<long, long>(),
        });
        var section = Section([shard.Evidence[0].Bytes]);
        Assert.Throws<InvalidDataException>(() => EvidenceIndex.Read(section.AsMemory(0, section.Length - 3), WorkloadSet.All));
        var lying = section.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(lying, lying.Length);
        Assert.Throws<InvalidDataException>(() => EvidenceIndex.Read(lying, WorkloadSet.All));

        // Any byte flipped: the read either still parses or fails as invalid data, never with another exception.
        var refused = 0;
        for (var at = 4; at < section.Length; at += Math.Max(1, section.Length / 300))
        {
            var damaged = section.ToArray();
            damaged[at] ^= 0xFF;
            try
            {
                EvidenceIndex.Read(damaged, WorkloadSet.All);
            }
            catch (InvalidDataException)
            {
                refused++;
            }
        }
        Assert.True(refused > 0);
    }

    private static byte[] Section(IEnumerable<byte[]> chunks)
    {
        var list = chunks.ToList();
        var bytes = new byte[list.Sum(c => c.Length + 4)];
        var at = 0;
        foreach (var c in list)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), c.Length);
            c.CopyTo(bytes, at + 4);
            at += c.Length + 4;
        }
        return bytes;
    }

    private static string Text(EvidenceRow r) => string.Join('|',
        r.CustomerTenantId, r.SubscriptionId, r.Workload, r.Month, r.ConsumedRevenueUsd?.ToString("R", CultureInfo.InvariantCulture), r.ActiveUsers,
        r.Share.ToString("R", CultureInfo.InvariantCulture), r.CreditedRevenueUsd.ToString("R", CultureInfo.InvariantCulture),
        r.CreditedActiveUsers.ToString("R", CultureInfo.InvariantCulture), r.DporDays, r.DaysInMonth, r.Sources, r.UsageLineage.IngestionId, r.UsageLineage.Line,
        string.Join(',', r.Associations.Select(a => $"{a.SourceName}/{a.ValidFrom}/{a.ValidTo}/{a.SubscriptionId}/{a.Workloads.Bits}/{a.IngestionId}/{a.Line}")));
}
