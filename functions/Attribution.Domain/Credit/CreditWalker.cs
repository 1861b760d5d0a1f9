using System.Runtime.InteropServices;
using Attribution.Domain;
using Attribution.Domain.Rules;

namespace Attribution.Domain.Credit;

/// <summary>An association reduced to what the per-row coverage check needs.</summary>
[StructLayout(LayoutKind.Auto)]
internal struct AssocEntry
{
    public int Partner;
    public int MonthFrom;
    public int MonthTo;
    public int InputIndex;
    public ushort Workloads;
    public byte SourceBit;
    public bool HasSubscription;
    public Guid Subscription;

    /// <summary>§3 coverage: tenant already matched; in force on ≥1 day of the month, workload and subscription in scope.</summary>
    public readonly bool Covers(int monthIndex, int workloadBit, Guid subscription) =>
        MonthFrom <= monthIndex && monthIndex <= MonthTo
        && (Workloads == 0 || (Workloads & workloadBit) != 0)
        && (!HasSubscription || Subscription == subscription);
}

internal sealed class TenantState(int index, Guid id, AssocEntry[] assocs)
{
    public readonly int Index = index;
    public readonly Guid Id = id;
    public readonly AssocEntry[] Assocs = assocs;

    /// <summary>Seen while checking whether the usage rows arrive grouped by tenant.</summary>
    public bool Visited;
}

[StructLayout(LayoutKind.Auto)]
internal struct DporMonthEntry
{
    public int Partner;
    public int Days;
}

[StructLayout(LayoutKind.Auto)]
internal struct SubPartnerAcc
{
    public int Partner;
    public ushort Workloads;
    public byte Sources;
}

/// <summary>A subscription: its DPOR timeline, precomputed per window month, and the accumulators of the shard computation.</summary>
internal sealed class SubState(int index, Guid id, Guid tenantId)
{
    public readonly int Index = index;
    public readonly Guid Id = id;
    public Guid TenantId = tenantId;
    public DporSegment[] Segments = [];

    /// <summary>Offsets into <see cref="DporMonth"/> per walked month (length walkMonths + 1); null when no DPOR in them.</summary>
    public int[]? DporMonthStart;

    public DporMonthEntry[] DporMonth = [];

    // Accumulators (ComputeShard only).
    public double[]? MonthRevenue;
    public bool[]? MonthHasRows;
    public SubPartnerAcc[] Partners = [];
    public int PartnerCount;
}

/// <summary>One credited partner of a usage row.</summary>
[StructLayout(LayoutKind.Auto)]
internal struct Credited
{
    public int Partner;
    public int DporDays;
    public double Share;
    public byte Sources;
}

/// <summary>
/// Receives every usage row in the window with its credited partners (possibly none). Rows arrive grouped by
/// tenant (all of a tenant's rows consecutively, in input order within the tenant).
/// </summary>
internal interface ICreditSink
{
    void OnRow(UsageRecord usage, int monthOffset, TenantState tenant, SubState subscription, ReadOnlySpan<Credited> credited);
}

/// <summary>
/// The input indexed for the per-row walk: partner ids interned, associations grouped by tenant and reduced to
/// month ranges, DPOR days per subscription and window month. Single use (subscriptions carry accumulators).
/// </summary>
internal sealed class PreparedShard
{
    public const byte DporBit = 1 << (int)AssociationSource.Dpor;

    public readonly CreditInput Input;
    public readonly CreditRules Rules;
    public readonly CreditPolicy Policy;
    public readonly YearMonth AsOf;
    public readonly int WindowStart;
    public readonly int WindowMonths;

    /// <summary>
    /// The first month walked: the credit window's start, or earlier when the capability scores read further back
    /// (§7.3). Rows before the window reach only the scores.
    /// </summary>
    public readonly int WalkStart;

    /// <summary>Walked months before the credit window (0 without scores): walk offset = window offset + Lead.</summary>
    public readonly int Lead;

    public readonly int WalkMonths;
    public readonly int CompetencyCount;

    /// <summary>Per workload, the indexes of the competencies that count it.</summary>
    public readonly int[][] CompetenciesOf = new int[WorkloadSet.Count][];

    /// <summary>Days in each window month.</summary>
    public readonly int[] DaysInMonth;

    public readonly List<long> PartnerIds = [];
    public readonly List<int> PartnerGlobal = [];
    public readonly List<long> GlobalIds = [];
    private readonly Dictionary<long, int> _partnerIndex = [];
    private readonly Dictionary<long, int> _globalIndex = [];

    private readonly Dictionary<Guid, TenantState> _tenants = [];
    private readonly Dictionary<Guid, SubState> _subs = [];
    public readonly List<SubState> Subscriptions = [];

    public PreparedShard(CreditInput input, bool withScores = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(input.Rules);
        ArgumentNullException.ThrowIfNull(input.Usage);
        ArgumentNullException.ThrowIfNull(input.Associations);
        ArgumentNullException.ThrowIfNull(input.DporEvents);
        ArgumentNullException.ThrowIfNull(input.GlobalPartnerOf);
        Input = input;
        Rules = input.Rules;
        Policy = Rules.CreditPolicy;
        AsOf = input.AsOf;
        WindowMonths = Rules.WindowMonths;
        WindowStart = Rules.WindowStart(AsOf).Index;
        WalkStart = withScores ? Math.Min(WindowStart, Scores.ScoreAccumulator.FirstMonthOf(Rules, AsOf).Index) : WindowStart;
        Lead = WindowStart - WalkStart;
        WalkMonths = WindowMonths + Lead;
        CompetencyCount = Rules.Competencies.Count;

        for (var w = 0; w < WorkloadSet.Count; w++)
        {
            var list = new List<int>();
            for (var c = 0; c < CompetencyCount; c++)
                if (Rules.Competencies[c].Workloads.Contains((Workload)w)) list.Add(c);
            CompetenciesOf[w] = [.. list];
        }
        DaysInMonth = new int[WindowMonths];
        for (var m = 0; m < WindowMonths; m++) DaysInMonth[m] = new YearMonth(WindowStart + m).DaysInMonth;

        IndexAssociations(input.Associations);
        IndexDpor(input.DporEvents);
    }

    public int PartnerCount => PartnerIds.Count;

    public int InternPartner(long partnerId)
    {
        if (_partnerIndex.TryGetValue(partnerId, out var i)) return i;
        i = PartnerIds.Count;
        _partnerIndex.Add(partnerId, i);
        PartnerIds.Add(partnerId);
        var global = Input.GlobalPartnerOf.TryGetValue(partnerId, out var g) ? g : partnerId;
        if (!_globalIndex.TryGetValue(global, out var gi))
        {
            gi = GlobalIds.Count;
            _globalIndex.Add(global, gi);
            GlobalIds.Add(global);
        }
        PartnerGlobal.Add(gi);
        return i;
    }

    public bool TryGetPartner(long partnerId, out int index) => _partnerIndex.TryGetValue(partnerId, out index);

    private void IndexAssociations(IReadOnlyList<Association> associations)
    {
        var windowEnd = AsOf.Index;
        var byTenant = new Dictionary<Guid, List<AssocEntry>>();
        for (var i = 0; i < associations.Count; i++)
        {
            var a = associations[i];
            var from = YearMonth.Of(a.ValidFrom).Index;
            var to = a.ValidTo is { } t ? YearMonth.Of(t).Index : int.MaxValue;
            if (to < WalkStart || from > windowEnd || to < from) continue; // never in force in the walked months
            if (!byTenant.TryGetValue(a.CustomerTenantId, out var list))
                byTenant.Add(a.CustomerTenantId, list = []);
            list.Add(new AssocEntry
            {
                Partner = InternPartner(a.PartnerId),
                MonthFrom = from,
                MonthTo = to,
                InputIndex = i,
                Workloads = a.Workloads.Bits,
                SourceBit = (byte)(1 << (int)a.Source),
                HasSubscription = a.SubscriptionId.HasValue,
                Subscription = a.SubscriptionId ?? Guid.Empty,
            });
        }
        foreach (var (tenant, list) in byTenant)
            _tenants.Add(tenant, new TenantState(_tenants.Count, tenant, [.. list]));
    }

    private void IndexDpor(IReadOnlyList<DporEvent> events)
    {
        var bySub = new Dictionary<Guid, List<DporEvent>>();
        foreach (var e in events)
        {
            if (!bySub.TryGetValue(e.SubscriptionId, out var list)) bySub.Add(e.SubscriptionId, list = []);
            list.Add(e);
        }
        var month = new List<DporMonthEntry>();
        foreach (var (subId, list) in bySub)
        {
            var sub = GetSubscription(subId, list[0].CustomerTenantId);
            sub.Segments = DporTimeline.Build(list);
            var starts = new int[WalkMonths + 1];
            month.Clear();
            for (var m = 0; m < WalkMonths; m++)
            {
                starts[m] = month.Count;
                var ym = new YearMonth(WalkStart + m);
                foreach (var seg in sub.Segments)
                {
                    var days = seg.DaysIn(ym);
                    if (days == 0) continue;
                    var p = InternPartner(seg.PartnerId);
                    var merged = false;
                    for (var j = starts[m]; j < month.Count; j++)
                    {
                        if (month[j].Partner != p) continue;
                        month[j] = new DporMonthEntry { Partner = p, Days = month[j].Days + days };
                        merged = true;
                    }
                    if (!merged) month.Add(new DporMonthEntry { Partner = p, Days = days });
                }
            }
            starts[WalkMonths] = month.Count;
            if (month.Count == 0) continue;
            sub.DporMonthStart = starts;
            sub.DporMonth = [.. month];
        }
    }

    public int TenantCount => _tenants.Count;

    public TenantState GetTenant(Guid tenantId)
    {
        if (_tenants.TryGetValue(tenantId, out var t)) return t;
        t = new TenantState(_tenants.Count, tenantId, []);
        _tenants.Add(tenantId, t);
        return t;
    }

    public SubState GetSubscription(Guid subscriptionId, Guid tenantId)
    {
        if (_subs.TryGetValue(subscriptionId, out var s)) return s;
        s = new SubState(Subscriptions.Count, subscriptionId, tenantId);
        _subs.Add(subscriptionId, s);
        Subscriptions.Add(s);
        return s;
    }

    /// <summary>The partner is the subscription's DPOR on <paramref name="day"/>.</summary>
    public static bool IsDporOn(SubState sub, long partnerId, DateOnly day)
    {
        foreach (var seg in sub.Segments)
            if (seg.PartnerId == partnerId && seg.Contains(day)) return true;
        return false;
    }
}

/// <summary>
/// The one routine that decides who is credited on each usage row, and with what share. ComputeShard and Explain
/// both consume it, so the published numbers and the evidence cannot diverge.
/// </summary>
internal static class CreditWalker
{
    /// <summary>
    /// Walks the usage rows of the walked months grouped by tenant (input order when the input already is, else a
    /// stable reorder): the credit window's rows to <paramref name="sink"/>, and every walked row with the location
    /// partners it credits under any policy to <paramref name="scores"/> (designations ignore creditPolicy, §7.1).
    /// Returns the number of rows in the credit window.
    /// </summary>
    public static long Walk(PreparedShard p, ICreditSink sink, Scores.IScoreSink? scores = null)
    {
        var usage = p.Input.Usage;
        var walkStart = p.WalkStart;
        var walkMonths = (uint)p.WalkMonths;
        var lead = p.Lead;
        var policyAssociations = p.Policy != CreditPolicy.DporOnly;
        var useAssociations = policyAssociations || scores is not null;
        var split = p.Policy == CreditPolicy.Split;
        var buffer = new Credited[16];
        var scoreBuffer = scores is null ? [] : new Scores.ScoreCredit[16];
        var customers = scores?.TracksCustomers == true;
        var links = new List<Scores.ScoreLink>();
        long inWindow = 0;

        var order = TenantOrder(p);
        TenantState? tenant = null;
        SubState? sub = null;
        var count = order?.Length ?? usage.Count;
        for (var pos = 0; pos < count; pos++)
        {
            var u = usage[order is null ? pos : order[pos]];
            var monthIndex = u.Month.Index;
            var wi = monthIndex - walkStart;
            if ((uint)wi >= walkMonths) continue;
            var mi = wi - lead; // < 0: before the credit window, for the scores only

            if (tenant is null || tenant.Id != u.CustomerTenantId) tenant = p.GetTenant(u.CustomerTenantId);
            if (sub is null || sub.Id != u.SubscriptionId) sub = p.GetSubscription(u.SubscriptionId, u.CustomerTenantId);

            var k = 0;
            if (useAssociations)
            {
                var assocs = tenant.Assocs;
                var workloadBit = 1 << (int)u.Workload;
                for (var j = 0; j < assocs.Length; j++)
                {
                    ref readonly var a = ref assocs[j];
                    if (a.Covers(monthIndex, workloadBit, u.SubscriptionId))
                        k = Add(ref buffer, k, a.Partner, a.SourceBit, 0);
                }
            }
            if (sub.DporMonthStart is { } starts)
            {
                var dpor = sub.DporMonth;
                for (int j = starts[wi], end = starts[wi + 1]; j < end; j++)
                    k = Add(ref buffer, k, dpor[j].Partner, PreparedShard.DporBit, dpor[j].Days);
            }
            if (scores is not null)
            {
                if (scoreBuffer.Length < k) scoreBuffer = new Scores.ScoreCredit[k * 2];
                for (var j = 0; j < k; j++)
                {
                    var partner = buffer[j].Partner;
                    scoreBuffer[j] = new Scores.ScoreCredit(p.PartnerIds[partner], buffer[j].Sources) { GlobalPartnerId = p.GlobalIds[p.PartnerGlobal[partner]] };
                }
                if (customers && k > 0) Links(p, u, tenant, sub, wi, buffer, k, links);
                scores.Add(u, new ReadOnlySpan<Scores.ScoreCredit>(scoreBuffer, 0, k), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(links));
                links.Clear();
            }
            if (mi < 0) continue;
            inWindow++;
            if (!policyAssociations && k > 0) k = DporOnly(buffer, k);
            if (k > 0)
            {
                var share = split ? 1.0 / k : 1.0;
                for (var j = 0; j < k; j++) buffer[j].Share = share;
            }
            sink.OnRow(u, mi, tenant, sub, new ReadOnlySpan<Credited>(buffer, 0, k));
        }
        return inWindow;
    }

    /// <summary>
    /// The associations behind a row's credited partners, for the customer eligibility view: each association that
    /// covers the row, and each DPOR designation period of a credited DPOR partner that overlaps the row's month.
    /// </summary>
    private static void Links(PreparedShard p, UsageRecord u, TenantState tenant, SubState sub, int walkMonth, Credited[] credited, int k, List<Scores.ScoreLink> links)
    {
        int IndexOf(int partner)
        {
            for (var j = 0; j < k; j++) if (credited[j].Partner == partner) return j;
            return -1;
        }
        var workloadBit = 1 << (int)u.Workload;
        var monthIndex = u.Month.Index;
        foreach (ref readonly var a in tenant.Assocs.AsSpan())
            if (a.Covers(monthIndex, workloadBit, u.SubscriptionId))
                links.Add(new Scores.ScoreLink(IndexOf(a.Partner), a.SourceBit, a.InputIndex, null, 0));
        if (sub.DporMonthStart is not { } starts || starts[walkMonth] == starts[walkMonth + 1]) return;
        for (var j = starts[walkMonth]; j < starts[walkMonth + 1]; j++)
        {
            var partner = sub.DporMonth[j].Partner;
            var partnerId = p.PartnerIds[partner];
            for (var s = 0; s < sub.Segments.Length; s++)
                if (sub.Segments[s].PartnerId == partnerId && sub.Segments[s].DaysIn(u.Month) > 0)
                    links.Add(new Scores.ScoreLink(IndexOf(partner), PreparedShard.DporBit, -1, sub, s));
        }
    }

    /// <summary>Under dporOnly the credit keeps only the DPOR entries (the scores saw every association first).</summary>
    private static int DporOnly(Credited[] buffer, int count)
    {
        var kept = 0;
        for (var j = 0; j < count; j++)
        {
            if (buffer[j].DporDays == 0) continue;
            buffer[kept] = buffer[j];
            buffer[kept].Sources = PreparedShard.DporBit;
            kept++;
        }
        return kept;
    }

    /// <summary>
    /// Null when the in-window rows already come grouped by tenant (the usual storage order: no allocation);
    /// else the in-window row indexes, stably grouped by tenant (counting sort).
    /// </summary>
    private static int[]? TenantOrder(PreparedShard p)
    {
        var usage = p.Input.Usage;
        var walkStart = p.WalkStart;
        var walkMonths = (uint)p.WalkMonths;
        var count = usage.Count;
        TenantState? tenant = null;
        var grouped = true;
        for (var i = 0; i < count && grouped; i++)
        {
            var u = usage[i];
            if ((uint)(u.Month.Index - walkStart) >= walkMonths) continue;
            if (tenant is not null && tenant.Id == u.CustomerTenantId) continue;
            tenant = p.GetTenant(u.CustomerTenantId);
            grouped = !tenant.Visited;
            tenant.Visited = true;
        }
        if (grouped) return null;

        var tenantOf = new int[count];
        var inWindow = 0;
        for (var i = 0; i < count; i++)
        {
            var u = usage[i];
            if ((uint)(u.Month.Index - walkStart) >= walkMonths)
            {
                tenantOf[i] = -1;
                continue;
            }
            if (tenant is null || tenant.Id != u.CustomerTenantId) tenant = p.GetTenant(u.CustomerTenantId);
            tenantOf[i] = tenant.Index;
            inWindow++;
        }
        var next = new int[p.TenantCount + 1];
        foreach (var t in tenantOf)
            if (t >= 0) next[t + 1]++;
        for (var t = 1; t < next.Length; t++) next[t] += next[t - 1];
        var order = new int[inWindow];
        for (var i = 0; i < count; i++)
            if (tenantOf[i] is var t and >= 0) order[next[t]++] = i;
        return order;
    }

    /// <summary>Each partner once per row: a second source of the same partner only adds its bit (and DPOR days).</summary>
    private static int Add(ref Credited[] buffer, int count, int partner, byte sourceBit, int dporDays)
    {
        for (var j = 0; j < count; j++)
        {
            ref var e = ref buffer[j];
            if (e.Partner != partner) continue;
            e.Sources |= sourceBit;
            e.DporDays += dporDays;
            return count;
        }
        if (count == buffer.Length) Array.Resize(ref buffer, count * 2);
        buffer[count] = new Credited { Partner = partner, Sources = sourceBit, DporDays = dporDays };
        return count + 1;
    }
}
