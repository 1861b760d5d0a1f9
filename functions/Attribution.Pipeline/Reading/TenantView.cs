using System.Globalization;
using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;
using Attribution.Domain.Scores;
using Attribution.Pipeline.Storage;

namespace Attribution.Pipeline.Reading;

/// <summary>The feed record a stored record came from, with the file (or message) its ingestion read.</summary>
public sealed record FeedRecordView(string? File, string IngestionId, long Line);

/// <summary>One credited partner of a usage row.</summary>
public sealed record UsageCreditView(string PartnerId, string Sources, double Share, int DporDays);

/// <summary>A stored usage row of the tenant in the window and who it credits.</summary>
public sealed record TenantUsageView(
    string Month,
    string SubscriptionId,
    string Workload,
    double? ConsumedRevenueUsd,
    long? ActiveUsers,
    IReadOnlyList<UsageCreditView> CreditedPartners,
    FeedRecordView FeedRecord);

/// <summary>
/// An association of the tenant (a sales, csp, fasttrack, dap or pal record, or a DPOR designation period), its scope, when it
/// is in force, and what it did in the window.
/// </summary>
/// <param name="Scope">"tenant-wide" or "subscription".</param>
/// <param name="Workloads">"*" for every workload, else the sorted `;`-separated workloads it is scoped to.</param>
/// <param name="InForceFrom">The first window month it is in force on at least one day (null: never in the window).</param>
/// <param name="CreditedRows">Usage rows in the window it credited its partner on.</param>
/// <param name="Status">Why it credits, or why not, in one sentence.</param>
public sealed record TenantAssociationView(
    string Source,
    string? Program,
    string PartnerId,
    string Scope,
    string? SubscriptionId,
    string Workloads,
    string ValidFrom,
    string? ValidTo,
    string? InForceFrom,
    string? InForceTo,
    bool IncentiveEligible,
    long CreditedRows,
    string Status,
    FeedRecordView FeedRecord,
    string? AgreementId = null,
    string? RelatedPartnerId = null);

/// <summary>A stored DPOR event; <see cref="Counts"/> false when a later-ingested event of the same day overrides it.</summary>
public sealed record DporEventView(string EffectiveDate, string Action, string PartnerId, bool Counts, FeedRecordView FeedRecord);

/// <summary>A period one partner is the subscription's DPOR (To inclusive, null = open), from its `set` event.</summary>
public sealed record DporPeriodView(string PartnerId, string From, string? To, int DaysInWindow, FeedRecordView FeedRecord);

/// <summary>A subscription's DPOR events and the designation periods they make.</summary>
public sealed record DporTimelineView(string SubscriptionId, string? DporOnLastDay, IReadOnlyList<DporEventView> Events, IReadOnlyList<DporPeriodView> Periods);

/// <summary>A subscription of the tenant: the workloads with usage in the window and its published partners.</summary>
/// <param name="Published">The run's SubscriptionPartners rows (null when the view is not of a published run).</param>
public sealed record TenantSubscriptionView(string SubscriptionId, string UsageWorkloads, string? DporOnLastDay, IReadOnlyList<SubscriptionPartnerView>? Published);

/// <summary>A partner associated with the tenant (or asked about): whether it is credited on the tenant, and why or why not.</summary>
public sealed record TenantPartnerView(
    string PartnerId,
    string GlobalPartnerId,
    string? Name,
    bool Credited,
    string Sources,
    string Workloads,
    IReadOnlyList<string> Subscriptions,
    string? CreditedFrom,
    string? CreditedTo,
    long CreditedRows,
    bool IsDpor,
    double IncentiveAcrUsd,
    IReadOnlyList<string> Reasons);

/// <summary>
/// A designation whose metrics the tenant's usage counts toward for one global partner (§7.1): its rows of the
/// designation's workloads that credit a location of the partner through one of the designation's sources (for dpor:
/// DPOR on at least one day of the month), in the months the designation reads for asOf. creditPolicy does not apply.
/// </summary>
/// <param name="Locations">The location partners credited through those sources.</param>
/// <param name="Sources">The designation's sources that credited them (`;`-separated, sorted).</param>
/// <param name="Months">The months with such rows (yyyy-MM, ascending); <paramref name="ReadsFrom"/> is the first month the designation reads.</param>
public sealed record TenantDesignationView(
    string Designation,
    string GlobalPartnerId,
    string? Name,
    IReadOnlyList<string> Locations,
    string Sources,
    IReadOnlyList<string> Months,
    long Rows,
    string ReadsFrom);

/// <summary>A customer's view: what is stored and in force for one customer tenant, and which partners it credits.</summary>
/// <param name="Published">True when read from the published run of <see cref="AsOf"/> (its records and rules).</param>
public sealed record TenantView(
    string CustomerTenantId,
    YearMonth AsOf,
    YearMonth WindowFrom,
    YearMonth WindowTo,
    bool Published,
    string? RunId,
    string RulesVersion,
    string CreditPolicy,
    string? Note,
    IReadOnlyList<TenantPartnerView> Partners,
    IReadOnlyList<TenantAssociationView> Associations,
    IReadOnlyList<DporTimelineView> DporTimelines,
    IReadOnlyList<TenantSubscriptionView> Subscriptions,
    IReadOnlyList<TenantUsageView> Usage,
    IReadOnlyList<TenantDesignationView> Designations);

/// <summary>
/// Reads one customer tenant's records (its bucket only) and walks them with the credit engine's own walker and the
/// run's rules, so "who is credited on this customer, and why not" is answered by the code that computed the credit.
/// The default month is the latest published run's; without one, the default month of a recalculation (the last
/// complete month, or the latest usage month when earlier) over the latest records and the shipped rules.
/// </summary>
public sealed class TenantReader(RecordStore records, CreditReader credit, IngestionStore ingestions, EvidenceService evidence, TimeProvider timeProvider)
{
    private readonly RecordStore _records = records;
    private readonly CreditReader _credit = credit;
    private readonly IngestionStore _ingestions = ingestions;
    private readonly TimeProvider _time = timeProvider;

    /// <summary>Null when nothing is stored for the tenant (no usage in the window, no association, no DPOR event).</summary>
    /// <param name="partnerId">Focus on one partner: only its associations and its entry (present even when unrelated).</param>
    public async Task<TenantView?> ReadAsync(Guid tenantId, YearMonth? asOf, PartnerId? partnerId = null, CancellationToken cancellationToken = default)
    {
        var run = await _credit.ResolveRunAsync(asOf, null, cancellationToken).ConfigureAwait(false);
        RecordSnapshot records;
        CreditRules rules;
        YearMonth month;
        string? note = null;
        if (run is not null)
        {
            CreditReader.RequireSnapshot(run);
            rules = await evidence.RulesOfAsync(run, cancellationToken).ConfigureAwait(false);
            records = await _records.AtAsync(run.RecordsVersion, cancellationToken).ConfigureAwait(false);
            month = run.AsOf;
        }
        else
        {
            records = await _records.LatestAsync(cancellationToken).ConfigureAwait(false);
            rules = CreditRulesLoader.Default;
            month = asOf ?? RecalculationStarter.DefaultAsOf(_time.GetUtcNow(), await records.LatestUsageMonthAsync(cancellationToken).ConfigureAwait(false));
            note = (asOf is null ? "Nothing has been published yet" : $"No recalculation has been published for {month}") +
                   $": computed from the latest stored records with the shipped rules ({rules.RulesVersion}); no published rows to show.";
        }

        var windowStart = rules.WindowStart(month);
        // Designations read further back than the credit window (§7.3); those months feed only the designations.
        var scoreStart = ScoreAccumulator.FirstMonthOf(rules, month);
        var stored = await records.TenantAsync(tenantId, scoreStart < windowStart ? scoreStart : windowStart, month, cancellationToken).ConfigureAwait(false);
        var t = stored with { Usage = [.. stored.Usage.Where(u => u.Month >= windowStart)] };
        if (t.Usage.Count == 0 && t.Associations.Count == 0 && t.DporEvents.Count == 0) return null;

        var directory = new Dictionary<long, PartnerRecord>();
        await foreach (var p in records.PartnersAsync(cancellationToken).ConfigureAwait(false)) directory[p.PartnerId] = p;
        var globalOf = directory.Values.ToDictionary(p => p.PartnerId, p => p.GlobalPartnerId);

        var input = new CreditInput { AsOf = month, Rules = rules, Usage = stored.Usage, Associations = t.Associations, DporEvents = t.DporEvents, GlobalPartnerOf = globalOf };
        var prepared = new PreparedShard(input, withScores: rules.Designations.Count > 0);
        var accumulator = new ShardAccumulator(prepared);
        var collector = new TenantCollector(prepared, accumulator);
        // The walk that credits the window also hands every row of the designations' months to the designation sink.
        var designationSink = new TenantDesignationCollector(rules, month, globalOf);
        var shard = accumulator.ToShardCredit(CreditWalker.Walk(prepared, collector, designationSink));

        var files = await FilesAsync(t, cancellationToken).ConfigureAwait(false);
        FeedRecordView Ref(FeedLineage l) => new(files.GetValueOrDefault(l.IngestionId), l.IngestionId, l.Line);

        var subscriptionIds = t.Usage.Select(u => u.SubscriptionId)
            .Concat(t.Associations.Where(a => a.SubscriptionId.HasValue).Select(a => a.SubscriptionId!.Value))
            .Concat(t.DporEvents.Select(e => e.SubscriptionId)).Distinct().Order().ToList();
        var published = new Dictionary<Guid, IReadOnlyList<SubscriptionPartnerView>>();
        if (run is not null)
        {
            var reads = subscriptionIds.Select(s => (s, read: _credit.SubscriptionAsync(s, run, cancellationToken))).ToList();
            foreach (var (s, read) in reads)
                published[s] = (await read.ConfigureAwait(false))?.Partners.Where(p => p.CustomerTenantId == tenantId.ToString("D")).ToList() ?? [];
        }

        var window = new Window(windowStart, month);
        var lastDay = month.LastDay;
        var policy = PolicyName(rules.CreditPolicy);
        var associations = new List<(long Partner, TenantAssociationView View)>();
        for (var i = 0; i < t.Associations.Count; i++)
        {
            var a = t.Associations[i];
            var credited = collector.AssociationRows.GetValueOrDefault(i);
            var (from, to) = window.InForce(a.ValidFrom, a.ValidTo);
            var status = AssociationStatus(a, credited, from, to, window, rules.CreditPolicy, t.Usage);
            associations.Add((a.PartnerId, new TenantAssociationView(
                a.Source.Name(), a.Source == AssociationSource.Sales && a.Program != SalesProgram.None ? a.Program.ToString() : null,
                Id(a.PartnerId), a.SubscriptionId is null ? "tenant-wide" : "subscription", a.SubscriptionId?.ToString("D"),
                a.Workloads.IsEmpty ? "*" : a.Workloads.ToString(), Day(a.ValidFrom), a.ValidTo is { } vt ? Day(vt) : null,
                from?.ToString(), to?.ToString(), false, credited, status, Ref(a.Lineage), a.AgreementId,
                a.RelatedPartnerId is { } r ? Id(r) : null)));
        }

        var timelines = new List<DporTimelineView>();
        // DPOR events that make no period of their own: a same-day later event overrides them.
        var overridden = new List<(long Partner, string Reason)>();
        foreach (var sub in prepared.Subscriptions.Where(s => s.Segments.Length > 0 || t.DporEvents.Any(e => e.SubscriptionId == s.Id)).OrderBy(s => s.Id))
        {
            var events = t.DporEvents.Where(e => e.SubscriptionId == sub.Id).ToList();
            events.Sort(DporTimeline.Compare);
            var eventViews = events.Select((e, k) => new DporEventView(Day(e.EffectiveDate), e.Action == DporAction.Set ? "set" : "remove", Id(e.PartnerId),
                k + 1 == events.Count || events[k + 1].EffectiveDate != e.EffectiveDate, Ref(e.Lineage))).ToList();
            foreach (var (e, view) in events.Zip(eventViews).Where(x => !x.Second.Counts))
            {
                var winner = eventViews.Last(x => x.EffectiveDate == view.EffectiveDate);
                overridden.Add((e.PartnerId, $"Its DPOR event ({view.Action} {view.EffectiveDate} on subscription {sub.Id:D}, {Where(view.FeedRecord)}) does not count: " +
                    $"a later-ingested event of the same day wins ({winner.Action} {winner.PartnerId}, {Where(winner.FeedRecord)})."));
            }
            var dporNow = sub.Segments.FirstOrDefault(s => s.Contains(lastDay));
            var periods = new List<DporPeriodView>();
            for (var k = 0; k < sub.Segments.Length; k++)
            {
                var seg = sub.Segments[k];
                var days = window.Months().Sum(seg.DaysIn);
                periods.Add(new DporPeriodView(Id(seg.PartnerId), Day(seg.From), seg.To is { } st ? Day(st) : null, days, Ref(seg.SetEvent.Lineage)));
                var rows = collector.DporRows.GetValueOrDefault((sub.Id, k));
                var (from, to) = window.InForce(seg.From, seg.To);
                associations.Add((seg.PartnerId, new TenantAssociationView(
                    AssociationSource.Dpor.Name(), null, Id(seg.PartnerId), "subscription", sub.Id.ToString("D"), "*", Day(seg.From),
                    seg.To is { } st2 ? Day(st2) : null, from?.ToString(), to?.ToString(), true, rows,
                    DporStatus(seg, rows, from, to, window, sub.Id, t.Usage), Ref(seg.SetEvent.Lineage))));
            }
            timelines.Add(new DporTimelineView(sub.Id.ToString("D"), dporNow.SetEvent is null ? null : Id(dporNow.PartnerId), eventViews, periods));
        }

        var dporOnLastDay = timelines.ToDictionary(x => x.SubscriptionId, x => x.DporOnLastDay);
        var subscriptions = subscriptionIds.Select(s => new TenantSubscriptionView(
            s.ToString("D"),
            WorkloadSet.Of(t.Usage.Where(u => u.SubscriptionId == s && window.Contains(u.Month)).Select(u => u.Workload)).ToString(),
            dporOnLastDay.GetValueOrDefault(s.ToString("D")),
            run is null ? null : published.GetValueOrDefault(s, []))).ToList();

        var partnerIds = associations.Select(a => a.Partner).Concat(collector.Partners.Keys).Concat(overridden.Select(o => o.Partner)).ToHashSet();
        if (partnerId is { } focus) partnerIds = [focus.Value];
        var partners = partnerIds.Order().Select(p => Partner(p, collector, shard, associations.Where(a => a.Partner == p).Select(a => a.View).ToList(),
            overridden.Where(o => o.Partner == p).Select(o => o.Reason).ToList(),
            directory.GetValueOrDefault(p), globalOf, rules.CreditPolicy, lastDay, prepared)).ToList();

        var usage = collector.Rows
            .OrderBy(r => r.Usage.Month).ThenBy(r => r.Usage.SubscriptionId).ThenBy(r => r.Usage.Workload)
            .Select(r => new TenantUsageView(r.Usage.Month.ToString(), r.Usage.SubscriptionId.ToString("D"), r.Usage.Workload.ToString(),
                r.Usage.ConsumedRevenueUsd, r.Usage.ActiveUsers, r.Credited, Ref(r.Usage.Lineage))).ToList();

        return new TenantView(
            tenantId.ToString("D"), month, windowStart, month, run is not null, run?.RunId, rules.RulesVersion, policy, note,
            partners,
            [.. associations.Where(a => partnerId is null || a.Partner == partnerId.Value.Value).Select(a => a.View)
                .OrderBy(a => a.Source == "dpor" ? 0 : 1).ThenBy(a => a.Source, StringComparer.Ordinal).ThenBy(a => a.ValidFrom, StringComparer.Ordinal).ThenBy(a => a.PartnerId, StringComparer.Ordinal)],
            timelines, subscriptions, usage,
            designationSink.Views(directory, partnerId));
    }

    private static TenantPartnerView Partner(long partnerId, TenantCollector collector, ShardCredit shard, List<TenantAssociationView> associations, List<string> overridden,
        PartnerRecord? record, Dictionary<long, long> globalOf, CreditPolicy policy, DateOnly lastDay, PreparedShard prepared)
    {
        collector.Partners.TryGetValue(partnerId, out var acc);
        var incentive = shard.IncentiveEligibility.Where(r => r.DporPartnerId.Value == partnerId).Sum(r => r.IncentiveAcrUsd);
        var isDpor = prepared.Subscriptions.Any(s => PreparedShard.IsDporOn(s, partnerId, lastDay));
        var reasons = new List<string>();
        if (associations.Count == 0 && overridden.Count == 0) reasons.Add("No association or DPOR designation with this customer is stored.");
        reasons.AddRange(overridden);
        foreach (var a in associations)
            reasons.Add($"{a.Source}{(a.Program is { } p ? $" ({p})" : "")} {Scope(a)}, {a.ValidFrom} … {a.ValidTo ?? "open"}: {a.Status}");
        if (acc is not null)
        {
            var dporRows = associations.Where(a => a.Source == "dpor").Sum(a => a.CreditedRows);
            reasons.Add(dporRows > 0
                ? $"Incentive eligible as the DPOR: {incentive.ToString("N2", CultureInfo.InvariantCulture)} USD of the tenant's revenue in the window (prorated by DPOR days)."
                : "Recognition only: not incentive eligible (only the DPOR is).");
        }
        if (policy == CreditPolicy.Split && acc is not null) reasons.Add("Credit policy split: each usage row's credit is shared equally among its credited partners.");
        return new TenantPartnerView(
            Id(partnerId), Id(globalOf.TryGetValue(partnerId, out var g) ? g : partnerId), record?.PartnerName, acc is not null,
            CreditSources.Names(acc?.Sources ?? 0), (acc?.Workloads ?? WorkloadSet.Empty).ToString(),
            [.. (acc?.Subscriptions ?? []).Select(s => s.ToString("D"))],
            acc?.From.ToString(), acc?.To.ToString(), acc?.Rows ?? 0, isDpor, incentive, reasons);
    }

    private static string Where(FeedRecordView r) => $"{r.File ?? r.IngestionId} line {r.Line}";

    private static string Scope(TenantAssociationView a) =>
        (a.SubscriptionId is { } s ? $"subscription {s}" : "tenant-wide") + (a.Workloads == "*" ? "" : $", workloads {a.Workloads}");

    private static string AssociationStatus(Association a, long credited, YearMonth? from, YearMonth? to, Window window, CreditPolicy policy, List<UsageRecord> usage)
    {
        if (from is null) return NotInWindow(a.ValidFrom, a.ValidTo, window);
        var inForce = $"in force {from} … {to}{Bounds(a.ValidFrom, a.ValidTo, window)}";
        if (policy == CreditPolicy.DporOnly) return $"{inForce}, but the credit policy is dporOnly: only the DPOR is credited.";
        if (credited > 0) return $"{inForce}; credits {credited} usage row(s).";
        var inMonths = usage.Where(u => u.Month >= from.Value && u.Month <= to!.Value).ToList();
        var onSub = inMonths.Where(u => a.SubscriptionId is null || u.SubscriptionId == a.SubscriptionId).ToList();
        if (onSub.Count == 0)
            return $"{inForce}, but no usage{(a.SubscriptionId is { } s ? $" of subscription {s}" : " of the tenant")} in those months.";
        return $"{inForce}, but no usage of {a.Workloads} in those months (usage: {WorkloadSet.Of(onSub.Select(u => u.Workload))}).";
    }

    private static string DporStatus(DporSegment seg, long credited, YearMonth? from, YearMonth? to, Window window, Guid subscription, List<UsageRecord> usage)
    {
        if (from is null) return NotInWindow(seg.From, seg.To, window);
        var inForce = $"DPOR {from} … {to}{Bounds(seg.From, seg.To, window)} (a month counts when the designation holds on at least one day)";
        if (credited > 0) return $"{inForce}; credits {credited} usage row(s).";
        return usage.Any(u => u.SubscriptionId == subscription && u.Month >= from.Value && u.Month <= to!.Value)
            ? $"{inForce}, but credits no usage row."
            : $"{inForce}, but no usage of the subscription in those months.";
    }

    /// <summary>Why the in-force months are fewer than the window's: it started or ended inside it.</summary>
    private static string Bounds(DateOnly validFrom, DateOnly? validTo, Window window)
    {
        var parts = new List<string>();
        if (YearMonth.Of(validFrom) > window.From) parts.Add($"starts {Day(validFrom)}: nothing before {YearMonth.Of(validFrom)}");
        if (validTo is { } end && YearMonth.Of(end) < window.To) parts.Add($"ended {Day(end)}: nothing after {YearMonth.Of(end)}");
        return parts.Count == 0 ? "" : $" ({string.Join("; ", parts)})";
    }

    private static string NotInWindow(DateOnly validFrom, DateOnly? validTo, Window window) =>
        validTo is { } end && YearMonth.Of(end) < window.From
            ? $"not in force in the window {window.From} … {window.To}: ended {Day(end)}."
            : validTo is { } e2 && e2 < validFrom
                ? "never in force (it ends before it starts)."
                : $"not in force in the window {window.From} … {window.To}: starts {Day(validFrom)}.";

    /// <summary>File names of the ingestions the tenant's records came from (one point read each, by the record's feed).</summary>
    private async Task<Dictionary<string, string>> FilesAsync(TenantRecords t, CancellationToken cancellationToken)
    {
        var wanted = t.Usage.Select(u => (FeedSource.Usage, u.Lineage.IngestionId))
            .Concat(t.DporEvents.Select(e => (FeedSource.Dpor, e.Lineage.IngestionId)))
            .Concat(t.Associations.Select(a => (FeedOf(a.Source), a.Lineage.IngestionId)))
            .Distinct().ToList();
        var reads = wanted.Select(w => (w.IngestionId, read: _ingestions.GetAsync(w.Item1, w.IngestionId, cancellationToken))).ToList();
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, read) in reads)
            if (await read.ConfigureAwait(false) is { } found) files[id] = found.FileName;
        return files;
    }

    private static FeedSource FeedOf(AssociationSource source) => source switch
    {
        AssociationSource.Sales => FeedSource.Sales,
        AssociationSource.Csp => FeedSource.Csp,
        AssociationSource.FastTrack => FeedSource.FastTrack,
        AssociationSource.Dap => FeedSource.Dap,
        AssociationSource.Pal => FeedSource.Pal,
        _ => FeedSource.Dpor,
    };

    internal static string PolicyName(CreditPolicy policy) => policy switch { CreditPolicy.Split => "split", CreditPolicy.DporOnly => "dporOnly", _ => "full" };

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private readonly record struct Window(YearMonth From, YearMonth To)
    {
        public bool Contains(YearMonth m) => m >= From && m <= To;

        public IEnumerable<YearMonth> Months()
        {
            for (var m = From; m <= To; m = m.AddMonths(1)) yield return m;
        }

        /// <summary>The window months an association is in force on at least one day of (§3), or nulls.</summary>
        public (YearMonth? From, YearMonth? To) InForce(DateOnly validFrom, DateOnly? validTo)
        {
            var from = YearMonth.Of(validFrom);
            var to = validTo is { } v ? YearMonth.Of(v) : To;
            if (to < from) return (null, null);
            var a = from > From ? from : From;
            var b = to < To ? to : To;
            return a <= b ? (a, b) : (null, null);
        }
    }
}

/// <summary>The tenant view's sink: forwards every row to the accumulator and notes who each row credited, through which association.</summary>
internal sealed class TenantCollector(PreparedShard p, ICreditSink inner) : ICreditSink
{
    public sealed class PartnerAcc
    {
        public long Rows;
        public YearMonth From;
        public YearMonth To;
        public byte Sources;
        public WorkloadSet Workloads;
        public readonly SortedSet<Guid> Subscriptions = [];
    }

    public readonly List<(UsageRecord Usage, IReadOnlyList<UsageCreditView> Credited)> Rows = [];

    /// <summary>Credited rows per association (index into the input's associations).</summary>
    public readonly Dictionary<int, long> AssociationRows = [];

    /// <summary>Credited rows per DPOR period (subscription, index of its segment).</summary>
    public readonly Dictionary<(Guid Subscription, int Segment), long> DporRows = [];

    public readonly Dictionary<long, PartnerAcc> Partners = [];

    public void OnRow(UsageRecord usage, int monthOffset, TenantState tenant, SubState subscription, ReadOnlySpan<Credited> credited)
    {
        inner.OnRow(usage, monthOffset, tenant, subscription, credited);
        var list = new List<UsageCreditView>(credited.Length);
        var workloadBit = 1 << (int)usage.Workload;
        foreach (ref readonly var e in credited)
        {
            var partnerId = p.PartnerIds[e.Partner];
            list.Add(new UsageCreditView(partnerId.ToString(CultureInfo.InvariantCulture), CreditSources.Names(e.Sources), e.Share, e.DporDays));
            if (!Partners.TryGetValue(partnerId, out var acc)) Partners.Add(partnerId, acc = new PartnerAcc { From = usage.Month, To = usage.Month });
            acc.Rows++;
            acc.Sources |= e.Sources;
            acc.Workloads = acc.Workloads.Union(WorkloadSet.Of(usage.Workload));
            acc.Subscriptions.Add(usage.SubscriptionId);
            if (usage.Month < acc.From) acc.From = usage.Month;
            if (usage.Month > acc.To) acc.To = usage.Month;
            if (p.Policy != CreditPolicy.DporOnly)
            {
                foreach (ref readonly var a in tenant.Assocs.AsSpan())
                    if (a.Partner == e.Partner && a.Covers(usage.Month.Index, workloadBit, usage.SubscriptionId))
                        AssociationRows[a.InputIndex] = AssociationRows.GetValueOrDefault(a.InputIndex) + 1;
            }
            if (e.DporDays <= 0) continue;
            for (var k = 0; k < subscription.Segments.Length; k++)
            {
                var seg = subscription.Segments[k];
                if (seg.PartnerId != partnerId || seg.DaysIn(usage.Month) == 0) continue;
                DporRows[(subscription.Id, k)] = DporRows.GetValueOrDefault((subscription.Id, k)) + 1;
            }
        }
        Rows.Add((usage, list.OrderBy(c => c.PartnerId, StringComparer.Ordinal).ToList()));
    }
}

/// <summary>
/// The tenant view's designation sink: for each walked row and designation of its workload and months, the global
/// partners whose locations the row credits through one of the designation's sources — the rule the score accumulator
/// applies (§7.1), kept per partner instead of summed.
/// </summary>
internal sealed class TenantDesignationCollector(CreditRules rules, YearMonth asOf, IReadOnlyDictionary<long, long> globalOf) : IScoreSink
{
    private sealed class Found
    {
        public byte Sources;
        public long Rows;
        public readonly SortedSet<long> Locations = [];
        public readonly SortedSet<YearMonth> Months = [];
    }

    private readonly int[] _firstMonth = [.. rules.Designations.Select(d => ScoreWindow.Of(d, rules.WindowMonths, asOf).FirstValue)];
    private readonly SortedDictionary<(int Designation, long Global), Found> _found = [];

    public void Add(UsageRecord usage, ReadOnlySpan<ScoreCredit> credited)
    {
        var month = usage.Month.Index;
        for (var d = 0; d < rules.Designations.Count; d++)
        {
            var rule = rules.Designations[d];
            if (month < _firstMonth[d] || month > asOf.Index || !rule.Workloads.Contains(usage.Workload)) continue;
            var counted = new HashSet<long>(); // a row counts once per global partner, however many of its locations it credits
            foreach (var c in credited)
            {
                var sources = (byte)(c.SourcesMask & rule.SourcesMask);
                if (sources == 0) continue;
                var global = globalOf.TryGetValue(c.PartnerId, out var g) ? g : c.PartnerId;
                if (!_found.TryGetValue((d, global), out var f)) _found.Add((d, global), f = new Found());
                f.Sources |= sources;
                f.Locations.Add(c.PartnerId);
                f.Months.Add(usage.Month);
                if (counted.Add(global)) f.Rows++;
            }
        }
    }

    /// <summary>In the rules' designation order, then by global partner; with a focus, only entries it is the global partner or a location of.</summary>
    public List<TenantDesignationView> Views(Dictionary<long, PartnerRecord> directory, PartnerId? focus) =>
    [
        .. _found.Where(x => focus is not { } p || x.Key.Global == p.Value || x.Value.Locations.Contains(p.Value))
            .Select(x => new TenantDesignationView(
                rules.Designations[x.Key.Designation].Name, Id(x.Key.Global), directory.GetValueOrDefault(x.Key.Global)?.PartnerName,
                [.. x.Value.Locations.Select(Id)], CreditSources.Names(x.Value.Sources), [.. x.Value.Months.Select(m => m.ToString())],
                x.Value.Rows, new YearMonth(_firstMonth[x.Key.Designation]).ToString())),
    ];

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);
}
