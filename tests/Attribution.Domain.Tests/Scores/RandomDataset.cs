namespace Attribution.Domain.Tests.Scores;

/// <summary>A seeded random dataset of plain records: 300 tenants, 24 months ending 2026-06.</summary>
internal sealed class RandomDataset
{
    public List<UsageRecord> Usage { get; } = [];
    public List<Association> Associations { get; } = [];
    public List<DporEvent> Dpor { get; } = [];
    public List<PartnerRecord> Partners { get; } = [];
    public List<CertificationRecord> Certifications { get; } = [];
    private readonly Dictionary<Guid, int> _tenantIndex = [];

    public int ShardOf(Guid tenant, int shards) => _tenantIndex[tenant] % shards;

    private static readonly DateTimeOffset Ingested = new(2026, 7, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly YearMonth FirstMonth = new(2024, 7);
    private const int Months = 24;

    // Every code the default designations list, one no designation lists, and lower-case spellings.
    private static readonly string[] Codes =
    [
        "AZ-104", "AZ-700", "AZ-800", "AZ-305", "AZ-400", "MS-102", "MD-102", "MS-700", "MS-721", "SC-200", "SC-300", "AZ-500",
        "PL-200", "MB-210", "MB-230", "PL-600", "MB-335", "AZ-900", "az-104", "ms-721", "sc-300",
    ];

    public static RandomDataset Generate(int seed)
    {
        var rnd = new Random(seed);
        var data = new RandomDataset();
        long line = 0;
        FeedLineage Lineage(int minutes = 0) => new("gen", ++line, Ingested.AddMinutes(minutes));
        DateOnly Day(DateOnly from, int maxDays) => from.AddDays(rnd.Next(maxDays + 1));

        // 40 locations 1001..1040: 1..30 roll up to 12 globals (901..912), 31..35 are their own global in the directory,
        // 36..40 are not in the directory (their own global too).
        var locations = Enumerable.Range(1, 40).Select(i => 1000L + i).ToList();
        for (var i = 1; i <= 35; i++)
            data.Partners.Add(new PartnerRecord(1000 + i, i <= 30 ? 901 + i % 12 : 1000 + i, $"Partner {i}", "US"));
        // A few busy partners get most of the associations, so some qualify and others do not.
        long Partner() => rnd.NextDouble() < 0.5 ? locations[rnd.Next(8)] : locations[rnd.Next(locations.Count)];

        var allWorkloads = Enum.GetValues<Workload>();
        for (var t = 1; t <= 300; t++)
        {
            var tenant = new Guid($"10000000-0000-0000-0000-{t:D12}");
            data._tenantIndex[tenant] = t;
            var subs = Enumerable.Range(1, 1 + rnd.Next(3)).Select(s => new Guid($"20000000-0000-0000-{s:D4}-{t:D12}")).ToList();
            var workloads = allWorkloads.OrderBy(_ => rnd.Next()).Take(2 + rnd.Next(4)).ToList();
            double[] revenueScales = [50, 400, 1500, 6000, 20000];
            long[] userScales = [15, 60, 250, 800, 3000];
            var revenueScale = revenueScales[rnd.Next(revenueScales.Length)];
            var userScale = userScales[rnd.Next(userScales.Length)];
            var trend = rnd.NextDouble() * 0.08 - 0.03; // per month: shrinking to growing
            var start = rnd.Next(Months);               // the tenant starts using at some month
            var stop = rnd.NextDouble() < 0.2 ? start + rnd.Next(Months - start) : Months;

            // Usage: each subscription, some of the tenant's workloads, most months from start to stop.
            foreach (var sub in subs)
            {
                foreach (var w in workloads.Where(_ => rnd.NextDouble() < 0.7))
                {
                    for (var i = start; i < stop; i++)
                    {
                        if (rnd.NextDouble() < 0.15) continue;
                        var growth = Math.Max(0.05, 1 + trend * i);
                        double? revenue = rnd.NextDouble() < 0.1 ? null : Math.Round(revenueScale * growth * rnd.NextDouble() * 2, 2);
                        long? users = rnd.NextDouble() < 0.1 ? null : (long)(userScale * growth * rnd.NextDouble() * 2);
                        if (revenue is null && users is null) revenue = 0;
                        data.Usage.Add(new UsageRecord(tenant, sub, w, FirstMonth.AddMonths(i), revenue, users, Lineage()));
                    }
                }
            }

            // Associations of every source, tenant- or subscription-wide, scoped to workloads or not, open or ended.
            for (var a = rnd.Next(1, 5); a > 0; a--)
            {
                var source = (AssociationSource)new[] { 0, 1, 1, 2, 3, 5, 5 }[rnd.Next(7)];
                Guid? sub = source == AssociationSource.Csp || rnd.NextDouble() < 0.3 ? subs[rnd.Next(subs.Count)] : null;
                if (source is AssociationSource.FastTrack or AssociationSource.Dap) sub = null;
                var scope = source is AssociationSource.FastTrack or AssociationSource.Dap || rnd.NextDouble() < 0.4
                    ? WorkloadSet.Of(allWorkloads.Where(_ => rnd.NextDouble() < 0.4).DefaultIfEmpty(workloads[0]))
                    : WorkloadSet.Empty;
                if (source == AssociationSource.Sales) scope = WorkloadSet.Empty;
                var from = Day(new DateOnly(2023, 6, 1), 1100);
                DateOnly? to = rnd.NextDouble() < 0.5 ? null : Day(from, 500);
                data.Associations.Add(new Association(source, Partner(), tenant, sub, scope, from, to, Lineage()));
            }

            // DPOR events: sets and removes over the period, now and then two on one day told apart by ingestion time.
            foreach (var sub in subs.Where(_ => rnd.NextDouble() < 0.6))
            {
                for (var e = rnd.Next(1, 4); e > 0; e--)
                {
                    var date = Day(new DateOnly(2023, 10, 1), 1020);
                    var action = rnd.NextDouble() < 0.2 ? DporAction.Remove : DporAction.Set;
                    data.Dpor.Add(new DporEvent(sub, tenant, Partner(), date, action, Lineage(rnd.Next(0, 1000))));
                    if (rnd.NextDouble() < 0.1)
                        data.Dpor.Add(new DporEvent(sub, tenant, Partner(), date, rnd.NextDouble() < 0.5 ? DporAction.Remove : DporAction.Set,
                            Lineage(1000 + rnd.Next(0, 1000))));
                }
            }
        }

        // Certifications: 60 persons over the locations (a person may appear at several locations of one global).
        for (var i = 0; i < 400; i++)
        {
            var earned = Day(new DateOnly(2023, 1, 1), 1300);
            DateOnly? expires = rnd.NextDouble() < 0.4 ? null : Day(earned, 900);
            data.Certifications.Add(new CertificationRecord(Partner(), $"person-{rnd.Next(60)}", Codes[rnd.Next(Codes.Length)],
                earned, expires, Lineage()));
        }
        // Whole-month edges: expiring on a month's last day, earned on it.
        data.Certifications.Add(new CertificationRecord(1036, "edge-1", "AZ-104", new DateOnly(2025, 1, 1), new DateOnly(2026, 3, 31), Lineage()));
        data.Certifications.Add(new CertificationRecord(1037, "edge-2", "MS-102", new DateOnly(2026, 4, 30), null, Lineage()));
        // A partner no association names: in the population through its certification alone.
        data.Certifications.Add(new CertificationRecord(1999, "edge-3", "SC-200", new DateOnly(2025, 1, 1), null, Lineage()));
        return data;
    }
}
