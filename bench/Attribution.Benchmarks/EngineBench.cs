using System.Diagnostics;
using System.Globalization;
using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Domain.Rules;

namespace Attribution.Benchmarks;

/// <summary>
/// Single-threaded throughput of <see cref="CreditEngine.ComputeShard"/> on in-memory data.
/// Args: [rows (default 2,000,000)] [runs (default 5)] [--shuffle] [--policy full|split|dporOnly].
/// Data (seeded, deterministic): tenants with 1–3 subscriptions of 3–6 workloads over 14 months (12 in the window),
/// ~3 associations per tenant (sales tenant-wide, csp per subscription, fasttrack/dap per workload),
/// one DPOR `set` per subscription (a fifth change DPOR mid-window), 3,000 partners rolling up to 1,000 globals.
/// </summary>
public static class EngineBench
{
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rows = 2_000_000;
        var runs = 5;
        var shuffle = false;
        var policy = CreditPolicy.Full;
        var positional = 0;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--shuffle": shuffle = true; break;
                case "--policy" when i + 1 < args.Length:
                    policy = Enum.Parse<CreditPolicy>(args[++i], ignoreCase: true);
                    break;
                default:
                    if (!int.TryParse(args[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n <= 0)
                    {
                        Console.Error.WriteLine($"engine bench: unexpected argument '{args[i]}'");
                        return 2;
                    }
                    if (positional++ == 0) rows = n;
                    else runs = n;
                    break;
            }
        }

        var asOf = new YearMonth(2026, 10);
        var rules = CreditRulesLoader.Default with { CreditPolicy = policy };
        var sw = Stopwatch.StartNew();
        var input = Generate(rows, asOf, rules, shuffle, seed: 42);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"generated {input.Usage.Count:N0} usage rows, {input.Associations.Count:N0} associations, {input.DporEvents.Count:N0} DPOR events in {sw.Elapsed.TotalSeconds:F1}s (policy {policy}, {(shuffle ? "shuffled" : "grouped by tenant")})"));

        double best = 0;
        ShardCredit? last = null;
        for (var r = 0; r < runs; r++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            sw.Restart();
            last = CreditEngine.ComputeShard(input);
            sw.Stop();
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            var rate = input.Usage.Count / sw.Elapsed.TotalSeconds;
            best = Math.Max(best, rate);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {r + 1}: {sw.Elapsed.TotalMilliseconds,8:F0} ms  {rate,12:N0} rows/s  allocated {allocated / 1048576.0,8:F1} MiB"));
        }
        // Side by side: the same input with the rules' designations off (competencies only), as the baseline of the
        // capability scores' cost.
        var bare = new CreditInput { AsOf = input.AsOf, Rules = rules with { Designations = [] }, Usage = input.Usage, Associations = input.Associations, DporEvents = input.DporEvents, GlobalPartnerOf = input.GlobalPartnerOf };
        double bestBare = 0;
        for (var r = 0; r < runs; r++)
        {
            sw.Restart();
            CreditEngine.ComputeShard(bare);
            sw.Stop();
            bestBare = Math.Max(bestBare, input.Usage.Count / sw.Elapsed.TotalSeconds);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"without designations: best {bestBare:N0} rows/s; with them {best:N0} rows/s ({bestBare / best:F2}x the time); {last!.Scores.Count:N0} score partials, {last.ScoreCustomers.Count:N0} customer rows"));
        sw.Restart();
        var results = CreditEngine.Finish([last!], rules, asOf);
        sw.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"best {best:N0} rows/s; {last!.UsageRowsInWindow:N0} rows in window, {last.UsageRowsCredited:N0} credited; " +
            $"{results.Partners:N0} partners, {results.GlobalPartners:N0} globals, {last.SubscriptionPartners.Count:N0} subscription-partner rows, " +
            $"{last.IncentiveEligibility.Count:N0} incentive rows; Finish {sw.Elapsed.TotalMilliseconds:F0} ms"));
        return 0;
    }

    /// <summary>Deterministic synthetic shard of about <paramref name="rows"/> usage rows.</summary>
    public static CreditInput Generate(int rows, YearMonth asOf, CreditRules rules, bool shuffle, int seed)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var random = new Random(seed);
        const int partners = 3000;
        var usage = new List<UsageRecord>(rows + 256);
        var associations = new List<Association>();
        var dpor = new List<DporEvent>();
        var global = new Dictionary<long, long>();
        for (var p = 0; p < partners; p++)
            if (p % 3 != 0) global[1_000_000 + p] = 1_000_000 + p - p % 3;
        long Partner() => 1_000_000 + random.Next(partners);

        var firstMonth = asOf.AddMonths(-13); // 14 months: 2 before the window
        var ingestedAt = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var lineage = new FeedLineage("bench", 0, ingestedAt);
        var workloads = Enum.GetValues<Workload>();
        long line = 0;

        while (usage.Count < rows)
        {
            var tenant = NewGuid(random);
            var subCount = 1 + random.Next(3);
            var subs = new Guid[subCount];
            for (var s = 0; s < subCount; s++)
            {
                subs[s] = NewGuid(random);
                var start = firstMonth.AddMonths(random.Next(6)).FirstDay.AddDays(random.Next(28));
                dpor.Add(new DporEvent(subs[s], tenant, Partner(), start, DporAction.Set, lineage with { Line = ++line }));
                if (random.Next(5) == 0)
                    dpor.Add(new DporEvent(subs[s], tenant, Partner(), start.AddDays(60 + random.Next(200)), DporAction.Set, lineage with { Line = ++line }));
            }

            // ~3 associations per tenant, one of each shape most of the time.
            var from = firstMonth.FirstDay.AddDays(random.Next(200));
            DateOnly? to = random.Next(4) == 0 ? from.AddDays(120 + random.Next(300)) : null;
            associations.Add(new Association(AssociationSource.Sales, Partner(), tenant, null, WorkloadSet.Empty, from, to, lineage with { Line = ++line }));
            associations.Add(new Association(AssociationSource.Csp, Partner(), tenant, subs[random.Next(subCount)], WorkloadSet.Empty,
                firstMonth.FirstDay.AddDays(random.Next(300)), null, lineage with { Line = ++line }));
            var scoped = WorkloadSet.Of(workloads[random.Next(workloads.Length)]).Union(WorkloadSet.Of(workloads[random.Next(workloads.Length)]));
            associations.Add(new Association(random.Next(2) == 0 ? AssociationSource.FastTrack : AssociationSource.Dap, Partner(), tenant, null, scoped,
                firstMonth.FirstDay.AddDays(random.Next(300)), null, lineage with { Line = ++line }));

            foreach (var sub in subs)
            {
                var n = 3 + random.Next(4);
                var first = random.Next(workloads.Length);
                for (var w = 0; w < n; w++)
                {
                    var workload = workloads[(first + w) % workloads.Length];
                    var baseRevenue = random.NextDouble() * 2000;
                    var baseUsers = random.Next(500);
                    for (var m = 0; m < 14; m++)
                    {
                        usage.Add(new UsageRecord(tenant, sub, workload, firstMonth.AddMonths(m),
                            random.Next(20) == 0 ? null : Math.Round(baseRevenue * (0.8 + random.NextDouble() * 0.4), 2),
                            random.Next(20) == 0 ? null : baseUsers + random.Next(20),
                            lineage with { Line = ++line }));
                    }
                }
            }
        }

        if (shuffle)
        {
            for (var i = usage.Count - 1; i > 0; i--)
            {
                var j = random.Next(i + 1);
                (usage[i], usage[j]) = (usage[j], usage[i]);
            }
        }

        return new CreditInput
        {
            AsOf = asOf,
            Rules = rules,
            Usage = usage,
            Associations = associations,
            DporEvents = dpor,
            GlobalPartnerOf = global,
        };
    }

    private static Guid NewGuid(Random random)
    {
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes);
    }
}
