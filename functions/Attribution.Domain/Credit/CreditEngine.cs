using Attribution.Domain;
using Attribution.Domain.Rules;
using Attribution.Domain.Scores;

namespace Attribution.Domain.Credit;

/// <summary>
/// The pure credit engine (§3): shards compute additive partials over their tenants' usage rows, <see cref="Finish"/>
/// merges them and applies the levels, <see cref="Explain"/> lists the evidence of one partner's credit through the
/// same per-row walk.
/// </summary>
public static class CreditEngine
{
    /// <summary>Credits every usage row of the shard's window. Deterministic: same input order, same output bits.</summary>
    public static ShardCredit ComputeShard(CreditInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(input.Rules);
        var withScores = input.Rules.Designations.Count > 0;
        var prepared = new PreparedShard(input, withScores);
        var accumulator = new ShardAccumulator(prepared);
        // The scores ride the same walk: one pass over the records credits competencies and designations alike.
        // It also keeps each customer's row of the eligibility view (§7.4), the index explanations read.
        var scores = withScores ? new ScoreAccumulator(input.Rules, input.AsOf, input.GlobalPartnerOf, input.Associations) : null;
        // And the explanation index: each credited row with the associations behind it, as the walk decided them.
        var evidence = new EvidenceIndex.Builder(prepared, accumulator);
        var inWindow = CreditWalker.Walk(prepared, evidence, scores);
        var shard = accumulator.ToShardCredit(inWindow) with { Evidence = evidence.ToChunks() };
        return scores is null ? shard : shard with { Scores = scores.ToPartials(), ScoreCustomers = scores.ToCustomers() };
    }

    /// <summary>Merges the shards' partials (in the given order) and computes levels, next levels and progress.</summary>
    public static CreditResults Finish(IEnumerable<ShardCredit> shards, CreditRules rules, YearMonth asOf) =>
        Finish(shards, rules, asOf, CreditScope.All);

    /// <summary>
    /// The part of a shard's partials a reduce over <paramref name="scope"/> needs: location partials of its
    /// partners, global partials of its global partners, and the partner totals of every location whose own id or
    /// whose global partner is in scope (a global row needs its locations' list and incentive sums). Tenant-level
    /// rows stay with the shard, and the row counts are left to the shard's own summary (each counted once).
    /// </summary>
    public static ShardCredit Slice(ShardCredit shard, CreditScope scope)
    {
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentNullException.ThrowIfNull(scope);
        return shard with
        {
            Locations = [.. shard.Locations.Where(l => scope.Location(l.PartnerId))],
            Globals = [.. shard.Globals.Where(g => scope.Global(g.PartnerId))],
            Partners = [.. shard.Partners.Where(p => scope.Location(p.PartnerId) || scope.Global(p.GlobalPartnerId))],
            SubscriptionPartners = [],
            IncentiveEligibility = [],
            Scores = [.. shard.Scores.Where(p => scope.Global(p.GlobalPartnerId))],
            ScoreCustomers = [.. shard.ScoreCustomers.Where(c => scope.Global(c.GlobalPartnerId))],
            Evidence = [],
            UsageRowsInWindow = 0,
            UsageRowsCredited = 0,
        };
    }

    /// <summary>
    /// <see cref="Finish(IEnumerable{ShardCredit}, CreditRules, YearMonth)"/> restricted to the location partners and
    /// global partners in <paramref name="scope"/>: given every shard's <see cref="Slice"/> for the scope, it returns
    /// exactly the rows the unrestricted Finish returns for them (same merge order, same sums).
    /// </summary>
    public static CreditResults Finish(IEnumerable<ShardCredit> shards, CreditRules rules, YearMonth asOf, CreditScope scope)
    {
        ArgumentNullException.ThrowIfNull(shards);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(scope);
        var competencyCount = rules.Competencies.Count;
        var windowMonths = rules.WindowMonths;

        var locations = new Dictionary<(long Id, int Competency), MetricsAcc>();
        var globals = new Dictionary<(long Id, int Competency), MetricsAcc>();
        var partners = new Dictionary<long, PartnerAcc>();
        var subscriptionPartners = new List<SubscriptionPartnerRow>();
        var incentives = new List<IncentiveEligibilityRow>();
        long rowsInWindow = 0, rowsCredited = 0;

        foreach (var shard in shards)
        {
            ArgumentNullException.ThrowIfNull(shard, nameof(shards));
            Validate(shard, rules, asOf);
            foreach (var l in shard.Locations) Merge(locations, l, windowMonths);
            foreach (var g in shard.Globals) Merge(globals, g, windowMonths);
            foreach (var p in shard.Partners)
            {
                if (!partners.TryGetValue(p.PartnerId, out var acc))
                    partners.Add(p.PartnerId, acc = new PartnerAcc { GlobalPartnerId = p.GlobalPartnerId });
                acc.Incentive += p.IncentiveEligibleNanoUsd;
                acc.Rows += p.UsageRowsCredited;
            }
            subscriptionPartners.AddRange(shard.SubscriptionPartners);
            incentives.AddRange(shard.IncentiveEligibility);
            rowsInWindow += shard.UsageRowsInWindow;
            rowsCredited += shard.UsageRowsCredited;
        }

        var credited = partners.Where(kv => kv.Value.Rows > 0).OrderBy(kv => kv.Key).ToList();
        var partnerRows = new List<PartnerCreditRow>(credited.Count * competencyCount);
        var locationsInScope = 0;
        foreach (var (partnerId, acc) in credited)
        {
            if (!scope.Location(partnerId)) continue;
            locationsInScope++;
            for (var c = 0; c < competencyCount; c++)
            {
                var rule = rules.Competencies[c];
                var m = locations.GetValueOrDefault((partnerId, c));
                var (acr, peak, customers, sources) = Metrics(m);
                partnerRows.Add(new PartnerCreditRow
                {
                    PartnerId = new PartnerId(partnerId),
                    GlobalPartnerId = new PartnerId(acc.GlobalPartnerId),
                    Credit = CompetencyMetrics.Judge(rule, acr, peak, customers, Nano.ToDouble(acc.Incentive), sources),
                });
            }
        }

        var byGlobal = credited.GroupBy(kv => kv.Value.GlobalPartnerId).Where(g => scope.Global(g.Key)).OrderBy(g => g.Key).ToList();
        var globalRows = new List<GlobalPartnerCreditRow>(byGlobal.Count * competencyCount);
        foreach (var group in byGlobal)
        {
            var incentiveNanos = Int128.Zero;
            foreach (var kv in group) incentiveNanos += kv.Value.Incentive;
            var incentive = Nano.ToDouble(incentiveNanos);
            var locationList = string.Join(';', group.Select(kv => kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            for (var c = 0; c < competencyCount; c++)
            {
                var rule = rules.Competencies[c];
                var (acr, peak, customers, sources) = Metrics(globals.GetValueOrDefault((group.Key, c)));
                globalRows.Add(new GlobalPartnerCreditRow
                {
                    GlobalPartnerId = new PartnerId(group.Key),
                    Locations = locationList,
                    Credit = CompetencyMetrics.Judge(rule, acr, peak, customers, incentive, sources),
                });
            }
        }

        return new CreditResults
        {
            AsOf = asOf,
            RulesVersion = rules.RulesVersion,
            PartnerCredit = partnerRows,
            GlobalPartnerCredit = globalRows,
            SubscriptionPartners = subscriptionPartners,
            IncentiveEligibility = incentives,
            Partners = locationsInScope,
            GlobalPartners = byGlobal.Count,
            UsageRowsInWindow = rowsInWindow,
            UsageRowsCredited = rowsCredited,
        };
    }

    /// <summary>
    /// The evidence of <paramref name="partnerId"/>'s credit on <paramref name="competency"/> (case-insensitive):
    /// every credited usage row of the competency in the window, with the covering associations of this partner.
    /// The metrics are ComputeShard + Finish over the same input; the rows' credited revenue, each to the billionth
    /// of a USD as the engine adds it, sums to <see cref="CompetencyMetrics.AcrUsdTtm"/> of its <see cref="PartnerEvidence.Credit"/> exactly.
    /// </summary>
    public static PartnerEvidence Explain(CreditInput input, PartnerId partner, string competency)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrWhiteSpace(competency);
        var partnerId = partner.Value;
        var rules = input.Rules;
        var competencyIndex = -1;
        for (var c = 0; c < rules.Competencies.Count; c++)
        {
            if (!string.Equals(rules.Competencies[c].Name, competency.Trim(), StringComparison.OrdinalIgnoreCase)) continue;
            competencyIndex = c;
            break;
        }
        if (competencyIndex < 0)
            throw new ArgumentException(
                $"Unknown competency '{competency}' (rules {rules.RulesVersion}: {string.Join(' ', rules.Competencies.Select(r => r.Name))}).",
                nameof(competency));

        var prepared = new PreparedShard(input);
        var accumulator = new ShardAccumulator(prepared);
        var collector = new EvidenceCollector(prepared, accumulator, partnerId, rules.Competencies[competencyIndex].Workloads);
        var inWindow = CreditWalker.Walk(prepared, collector);
        var results = Finish([accumulator.ToShardCredit(inWindow)], rules, input.AsOf);

        var rule = rules.Competencies[competencyIndex];
        var row = results.PartnerCredit.FirstOrDefault(r => r.PartnerId == partner && r.Credit.Competency == rule.Name);
        return new PartnerEvidence
        {
            PartnerId = partner,
            GlobalPartnerId = new PartnerId(input.GlobalPartnerOf.TryGetValue(partnerId, out var g) ? g : partnerId),
            AsOf = input.AsOf,
            RulesVersion = rules.RulesVersion,
            CreditPolicy = rules.CreditPolicy,
            Rows = collector.Rows,
            Credit = row?.Credit ?? CompetencyMetrics.Judge(rule, 0, 0, 0, 0, ""),
        };
    }

    private static void Validate(ShardCredit shard, CreditRules rules, YearMonth asOf)
    {
        if (shard.AsOf != asOf)
            throw new ArgumentException($"A shard was computed for {shard.AsOf}, not {asOf}.", nameof(asOf));
        if (shard.WindowMonths != rules.WindowMonths)
            throw new ArgumentException($"A shard has a {shard.WindowMonths}-month window; the rules say {rules.WindowMonths}.", nameof(rules));
        if (!shard.Competencies.SequenceEqual(rules.Competencies.Select(c => c.Name), StringComparer.Ordinal))
            throw new ArgumentException("A shard was computed with other competencies than the rules'.", nameof(rules));
    }

    private static void Merge(Dictionary<(long, int), MetricsAcc> into, CompetencyPartial partial, int windowMonths)
    {
        if (partial.MonthlyActiveNanoUsers.Count != windowMonths)
            throw new ArgumentException($"Partial of partner {partial.PartnerId} has {partial.MonthlyActiveNanoUsers.Count} months, not {windowMonths}.");
        var key = (partial.PartnerId, partial.CompetencyIndex);
        if (!into.TryGetValue(key, out var acc)) into.Add(key, acc = new MetricsAcc(windowMonths));
        acc.Acr += partial.AcrNanoUsd;
        for (var m = 0; m < windowMonths; m++) acc.Users[m] += partial.MonthlyActiveNanoUsers[m];
        acc.Customers += partial.Customers;
        acc.Sources |= partial.SourcesMask;
    }

    private static (double Acr, double Peak, int Customers, string Sources) Metrics(MetricsAcc? m)
    {
        if (m is null) return (0, 0, 0, "");
        var peak = Int128.Zero;
        foreach (var u in m.Users) peak = Int128.Max(peak, u);
        return (Nano.ToDouble(m.Acr), Nano.ToDouble(peak), m.Customers, CreditSources.Names(m.Sources));
    }

    private sealed class MetricsAcc(int windowMonths)
    {
        public Int128 Acr;                                         // billionths of a USD
        public readonly Int128[] Users = new Int128[windowMonths]; // billionths of an active user
        public int Customers;
        public byte Sources;
    }

    private sealed class PartnerAcc
    {
        public long GlobalPartnerId;
        public Int128 Incentive; // billionths of a USD
        public long Rows;
    }
}

/// <summary>Which location partners and global partners a (partial) Finish produces rows for.</summary>
public sealed record CreditScope(Func<long, bool> Location, Func<long, bool> Global)
{
    public static readonly CreditScope All = new(_ => true, _ => true);
}

/// <summary>Explain's sink: forwards every row to the accumulator and records the target partner's credited rows.</summary>
internal sealed class EvidenceCollector(PreparedShard p, ICreditSink inner, long partnerId, WorkloadSet workloads) : ICreditSink
{
    private readonly int _partner = p.TryGetPartner(partnerId, out var i) ? i : -1;
    public readonly List<EvidenceRow> Rows = [];
    private readonly List<EvidenceIndex.Link> _links = [];

    public void OnRow(UsageRecord usage, int monthOffset, TenantState tenant, SubState subscription, ReadOnlySpan<Credited> credited)
    {
        inner.OnRow(usage, monthOffset, tenant, subscription, credited);
        if (_partner < 0 || !workloads.Contains(usage.Workload)) return;
        foreach (ref readonly var e in credited)
        {
            if (e.Partner != _partner) continue;
            Rows.Add(new EvidenceRow
            {
                CustomerTenantId = usage.CustomerTenantId,
                SubscriptionId = usage.SubscriptionId,
                Workload = usage.Workload,
                Month = usage.Month,
                ConsumedRevenueUsd = usage.ConsumedRevenueUsd,
                ActiveUsers = usage.ActiveUsers,
                Share = e.Share,
                // What the accumulator adds, so the rows sum to the published metrics exactly.
                CreditedRevenueUsd = Nano.Credited(usage.ConsumedRevenueUsd, e.Share),
                CreditedActiveUsers = Nano.Credited(usage.ActiveUsers, e.Share),
                DporDays = e.DporDays,
                DaysInMonth = p.DaysInMonth[monthOffset],
                Sources = CreditSources.Names(e.Sources),
                UsageLineage = usage.Lineage,
                Associations = Evidence(usage, tenant, subscription, e),
            });
            return;
        }
    }

    private List<EvidenceAssociation> Evidence(UsageRecord usage, TenantState tenant, SubState subscription, in Credited e)
    {
        _links.Clear();
        EvidenceIndex.Behind(p, usage, tenant, subscription, e, _links);
        var list = new List<EvidenceAssociation>(_links.Count);
        foreach (var link in _links)
        {
            if (link.Association >= 0)
            {
                var source = p.Input.Associations[link.Association];
                list.Add(new EvidenceAssociation
                {
                    Source = source.Source,
                    SourceName = source.Source.Name(),
                    ValidFrom = source.ValidFrom,
                    ValidTo = source.ValidTo,
                    SubscriptionId = source.SubscriptionId,
                    Workloads = source.Workloads,
                    IngestionId = source.Lineage.IngestionId,
                    Line = source.Lineage.Line,
                });
            }
            else
            {
                var seg = link.Subscription!.Segments[link.Segment];
                list.Add(new EvidenceAssociation
                {
                    Source = AssociationSource.Dpor,
                    SourceName = AssociationSource.Dpor.Name(),
                    ValidFrom = seg.From,
                    ValidTo = seg.To,
                    SubscriptionId = link.Subscription.Id,
                    Workloads = WorkloadSet.Empty,
                    IngestionId = seg.SetEvent.Lineage.IngestionId,
                    Line = seg.SetEvent.Lineage.Line,
                });
            }
        }
        return list;
    }
}
