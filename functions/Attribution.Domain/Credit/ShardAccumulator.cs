using Attribution.Domain;

namespace Attribution.Domain.Credit;

/// <summary>
/// Amounts in billionths (of a USD, of an active user), summed as 128-bit integers: a total is then the same in any
/// order, so the results do not depend on how the recalculation is split into shards and ranges (double addition is
/// not associative, and a different split would rewrite rows that differ in the last bit). Each row's contribution
/// moves by at most 5 × 10⁻¹⁰; no total can overflow.
/// </summary>
internal static class Nano
{
    public const double PerUnit = 1e9;

    public static Int128 Of(double value) => (Int128)Math.Round(value * PerUnit);

    public static double ToDouble(Int128 nanos) => (double)nanos / PerUnit;

    /// <summary>A row's value × the partner's share as the accumulator adds it (to the billionth): what evidence shows.</summary>
    public static double Credited(double? value, double share) => ToDouble(Of((value ?? 0) * share));
}

/// <summary>
/// Additive metrics per (partner, competency) slot, allocated on first credit. Slots hold revenue, per-month
/// active users, sources and distinct-tenant customers (counted by tenant change: rows come grouped by tenant).
/// </summary>
internal sealed class SlotTable
{
    private readonly int _competencies;
    private readonly int _windowMonths;
    private int[] _slotOf;

    public int Count;
    public int[] Owner = new int[64];     // owner * competencies + competency
    public Int128[] Acr = new Int128[64];     // billionths of a USD
    public Int128[] Users;                    // billionths of an active user, per window month
    public byte[] Sources = new byte[64];
    public int[] Customers = new int[64];
    private int[] _lastTenant = new int[64];

    public SlotTable(int owners, int competencies, int windowMonths)
    {
        _competencies = competencies;
        _windowMonths = windowMonths;
        _slotOf = new int[Math.Max(1, owners * competencies)];
        Array.Fill(_slotOf, -1);
        Users = new Int128[64 * windowMonths];
    }

    public void Credit(int owner, int competency, int monthOffset, double revenue, double users, double share,
        byte sources, bool positive, int tenantIndex)
    {
        var key = owner * _competencies + competency;
        if (key >= _slotOf.Length) GrowOwners(key);
        var slot = _slotOf[key];
        if (slot < 0) slot = _slotOf[key] = NewSlot(key);
        Acr[slot] += Nano.Of(revenue * share);
        Users[slot * _windowMonths + monthOffset] += Nano.Of(users * share);
        Sources[slot] |= sources;
        // Rows arrive grouped by tenant (CreditWalker), so a tenant never comes back to a slot once another followed.
        if (positive && _lastTenant[slot] != tenantIndex)
        {
            _lastTenant[slot] = tenantIndex;
            Customers[slot]++;
        }
    }

    private void GrowOwners(int key)
    {
        var old = _slotOf.Length;
        Array.Resize(ref _slotOf, Math.Max(key + 1, old * 2));
        Array.Fill(_slotOf, -1, old, _slotOf.Length - old);
    }

    private int NewSlot(int key)
    {
        if (Count == Owner.Length)
        {
            var n = Count * 2;
            Array.Resize(ref Owner, n);
            Array.Resize(ref Acr, n);
            Array.Resize(ref Users, n * _windowMonths);
            Array.Resize(ref Sources, n);
            Array.Resize(ref Customers, n);
            Array.Resize(ref _lastTenant, n);
        }
        var slot = Count++;
        Owner[slot] = key;
        _lastTenant[slot] = -1;
        return slot;
    }

    public Int128[] MonthlyUsers(int slot) => Users.AsSpan(slot * _windowMonths, _windowMonths).ToArray();
}

/// <summary>ComputeShard's sink: accumulates location, global, partner, subscription and incentive partials.</summary>
internal sealed class ShardAccumulator : ICreditSink
{
    private readonly PreparedShard _p;
    private readonly int[][] _competenciesOf;
    private readonly int[] _daysInMonth;
    private readonly int[] _partnerGlobal;
    private readonly SlotTable _locations;
    private readonly SlotTable _globals;
    private readonly Int128[] _incentive; // billionths of a USD
    private readonly long[] _rowsCredited;

    // Per-row scratch for the global rollup.
    private int[] _gIndex = new int[8];
    private double[] _gShare = new double[8];
    private byte[] _gSources = new byte[8];

    public long UsageRowsCredited;

    public ShardAccumulator(PreparedShard p)
    {
        _p = p;
        _competenciesOf = p.CompetenciesOf;
        _daysInMonth = p.DaysInMonth;
        _partnerGlobal = [.. p.PartnerGlobal];
        _locations = new SlotTable(p.PartnerCount, p.CompetencyCount, p.WindowMonths);
        _globals = new SlotTable(p.GlobalIds.Count, p.CompetencyCount, p.WindowMonths);
        _incentive = new Int128[p.PartnerCount];
        _rowsCredited = new long[p.PartnerCount];
    }

    public void OnRow(UsageRecord usage, int monthOffset, TenantState tenant, SubState subscription, ReadOnlySpan<Credited> credited)
    {
        var revenue = usage.ConsumedRevenueUsd ?? 0;
        var users = (double)(usage.ActiveUsers ?? 0);
        if (subscription.DporMonthStart is { } starts && starts[monthOffset + _p.Lead] != starts[monthOffset + _p.Lead + 1])
        {
            var rev = subscription.MonthRevenue ??= new double[_p.WindowMonths];
            var has = subscription.MonthHasRows ??= new bool[_p.WindowMonths];
            rev[monthOffset] += revenue;
            has[monthOffset] = true;
        }
        if (credited.IsEmpty) return;
        UsageRowsCredited++;

        var positive = revenue > 0 || users > 0;
        var competencies = _competenciesOf[(int)usage.Workload];
        var workloadBit = (ushort)(1 << (int)usage.Workload);
        var daysInMonth = _daysInMonth[monthOffset];
        var tenantIndex = tenant.Index;
        var gk = 0;

        foreach (ref readonly var e in credited)
        {
            _rowsCredited[e.Partner]++;
            if (e.DporDays > 0) _incentive[e.Partner] += Nano.Of(revenue * e.DporDays / daysInMonth);
            NoteSubscriptionPartner(subscription, e.Partner, e.Sources, workloadBit);
            foreach (var c in competencies)
                _locations.Credit(e.Partner, c, monthOffset, revenue, users, e.Share, e.Sources, positive, tenantIndex);

            var g = _partnerGlobal[e.Partner];
            var found = false;
            for (var j = 0; j < gk; j++)
            {
                if (_gIndex[j] != g) continue;
                _gShare[j] += e.Share;
                _gSources[j] |= e.Sources;
                found = true;
                break;
            }
            if (found) continue;
            if (gk == _gIndex.Length)
            {
                Array.Resize(ref _gIndex, gk * 2);
                Array.Resize(ref _gShare, gk * 2);
                Array.Resize(ref _gSources, gk * 2);
            }
            _gIndex[gk] = g;
            _gShare[gk] = e.Share;
            _gSources[gk] = e.Sources;
            gk++;
        }

        foreach (var c in competencies)
            for (var j = 0; j < gk; j++)
                _globals.Credit(_gIndex[j], c, monthOffset, revenue, users, Math.Min(1.0, _gShare[j]), _gSources[j], positive, tenantIndex);
    }

    private static void NoteSubscriptionPartner(SubState s, int partner, byte sources, ushort workloadBit)
    {
        var list = s.Partners;
        for (var j = 0; j < s.PartnerCount; j++)
        {
            ref var sp = ref list[j];
            if (sp.Partner != partner) continue;
            sp.Sources |= sources;
            sp.Workloads |= workloadBit;
            return;
        }
        if (s.PartnerCount == list.Length) Array.Resize(ref s.Partners, Math.Max(4, list.Length * 2));
        s.Partners[s.PartnerCount++] = new SubPartnerAcc { Partner = partner, Sources = sources, Workloads = workloadBit };
    }

    public ShardCredit ToShardCredit(long usageRowsInWindow)
    {
        var p = _p;
        var c = p.CompetencyCount;

        var partners = new List<PartnerPartial>();
        for (var i = 0; i < p.PartnerCount; i++)
        {
            if (_rowsCredited[i] == 0) continue;
            partners.Add(new PartnerPartial
            {
                PartnerId = p.PartnerIds[i],
                GlobalPartnerId = p.GlobalIds[_partnerGlobal[i]],
                IncentiveEligibleNanoUsd = _incentive[i],
                UsageRowsCredited = _rowsCredited[i],
            });
        }
        partners.Sort((a, b) => a.PartnerId.CompareTo(b.PartnerId));

        var locations = new List<CompetencyPartial>(_locations.Count);
        for (var s = 0; s < _locations.Count; s++)
        {
            var owner = _locations.Owner[s] / c;
            locations.Add(Partial(_locations, s, p.PartnerIds[owner], p.GlobalIds[_partnerGlobal[owner]], _locations.Owner[s] % c));
        }
        locations.Sort(ByPartnerThenCompetency);

        var globals = new List<CompetencyPartial>(_globals.Count);
        for (var s = 0; s < _globals.Count; s++)
        {
            var id = p.GlobalIds[_globals.Owner[s] / c];
            globals.Add(Partial(_globals, s, id, id, _globals.Owner[s] % c));
        }
        globals.Sort(ByPartnerThenCompetency);

        var lastDay = p.AsOf.LastDay;
        var subscriptionPartners = new List<SubscriptionPartnerRow>();
        var incentives = new List<IncentiveEligibilityRow>();
        foreach (var s in p.Subscriptions)
        {
            for (var j = 0; j < s.PartnerCount; j++)
            {
                var sp = s.Partners[j];
                var partnerId = p.PartnerIds[sp.Partner];
                subscriptionPartners.Add(new SubscriptionPartnerRow
                {
                    SubscriptionId = s.Id,
                    CustomerTenantId = s.TenantId,
                    PartnerId = new PartnerId(partnerId),
                    Sources = CreditSources.Names(sp.Sources),
                    IsDpor = PreparedShard.IsDporOn(s, partnerId, lastDay),
                    Workloads = new WorkloadSet(sp.Workloads),
                });
            }
            if (s.MonthHasRows is not { } has || s.DporMonthStart is not { } starts) continue;
            for (var m = 0; m < p.WindowMonths; m++)
            {
                if (!has[m]) continue;
                var acr = s.MonthRevenue![m];
                var dim = p.DaysInMonth[m];
                for (var j = starts[m + p.Lead]; j < starts[m + p.Lead + 1]; j++)
                {
                    var d = s.DporMonth[j];
                    incentives.Add(new IncentiveEligibilityRow
                    {
                        DporPartnerId = new PartnerId(p.PartnerIds[d.Partner]),
                        Month = new YearMonth(p.WindowStart + m),
                        SubscriptionId = s.Id,
                        CustomerTenantId = s.TenantId,
                        AcrUsd = acr,
                        DporDays = d.Days,
                        DaysInMonth = dim,
                        IncentiveAcrUsd = acr * d.Days / dim,
                    });
                }
            }
        }
        subscriptionPartners.Sort((a, b) =>
        {
            var x = a.SubscriptionId.CompareTo(b.SubscriptionId);
            return x != 0 ? x : a.PartnerId.CompareTo(b.PartnerId);
        });
        incentives.Sort((a, b) =>
        {
            var x = a.DporPartnerId.CompareTo(b.DporPartnerId);
            if (x != 0) return x;
            x = a.Month.CompareTo(b.Month);
            return x != 0 ? x : a.SubscriptionId.CompareTo(b.SubscriptionId);
        });

        return new ShardCredit
        {
            AsOf = p.AsOf,
            RulesVersion = p.Rules.RulesVersion,
            WindowMonths = p.WindowMonths,
            Competencies = [.. p.Rules.Competencies.Select(r => r.Name)],
            Locations = locations,
            Globals = globals,
            Partners = partners,
            SubscriptionPartners = subscriptionPartners,
            IncentiveEligibility = incentives,
            UsageRowsInWindow = usageRowsInWindow,
            UsageRowsCredited = UsageRowsCredited,
        };
    }

    private static CompetencyPartial Partial(SlotTable t, int slot, long id, long globalId, int competency) => new()
    {
        PartnerId = id,
        GlobalPartnerId = globalId,
        CompetencyIndex = competency,
        AcrNanoUsd = t.Acr[slot],
        MonthlyActiveNanoUsers = t.MonthlyUsers(slot),
        Customers = t.Customers[slot],
        SourcesMask = t.Sources[slot],
    };

    private static int ByPartnerThenCompetency(CompetencyPartial a, CompetencyPartial b)
    {
        var x = a.PartnerId.CompareTo(b.PartnerId);
        return x != 0 ? x : a.CompetencyIndex.CompareTo(b.CompetencyIndex);
    }
}

/// <summary>Source masks ↔ the published `sources` strings.</summary>
internal static class CreditSources
{
    private static readonly string[] ByMask = Build();

    private static string[] Build()
    {
        var all = Enum.GetValues<AssociationSource>();
        var names = new string[1 << all.Length];
        for (var mask = 0; mask < names.Length; mask++)
            names[mask] = string.Join(';', all.Where(s => (mask & (1 << (int)s)) != 0).Select(s => s.Name()).Order(StringComparer.Ordinal));
        return names;
    }

    public static string Names(byte mask) => mask < ByMask.Length ? ByMask[mask] : throw new ArgumentOutOfRangeException(nameof(mask));
}
