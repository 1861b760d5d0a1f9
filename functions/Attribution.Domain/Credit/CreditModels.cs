using Attribution.Domain;
using Attribution.Domain.Rules;

namespace Attribution.Domain.Credit;

/// <summary>
/// One shard's data: every usage row, association and DPOR event of a set of customer tenants
/// (tenants never cross shards), plus the partner directory's location → global map.
/// </summary>
public sealed class CreditInput
{
    public required YearMonth AsOf { get; init; }
    public required CreditRules Rules { get; init; }
    public required IReadOnlyList<UsageRecord> Usage { get; init; }

    /// <summary>Associations from the sales, csp, fasttrack, dap and pal feeds.</summary>
    public required IReadOnlyList<Association> Associations { get; init; }

    public required IReadOnlyList<DporEvent> DporEvents { get; init; }

    /// <summary>Location partner id → global partner id; a missing location rolls up to itself.</summary>
    public required IReadOnlyDictionary<long, long> GlobalPartnerOf { get; init; }
}

/// <summary>
/// Metrics of one (partner, competency) over one shard's credited rows, kept additive so shards merge:
/// revenue and customers add, monthly active users add per month (the peak is taken after merging).
/// </summary>
public sealed record CompetencyPartial
{
    /// <summary>The location partner id (location partials) or the global partner id (global partials).</summary>
    public long PartnerId { get; init; }

    /// <summary>The global partner the location rolls up to; equals <see cref="PartnerId"/> in global partials.</summary>
    public long GlobalPartnerId { get; init; }

    /// <summary>Index into <see cref="CreditRules.Competencies"/> (and <see cref="ShardCredit.Competencies"/>).</summary>
    public int CompetencyIndex { get; init; }

    /// <summary>Credited revenue in billionths of a USD (integers, so partials add up the same in any order).</summary>
    public Int128 AcrNanoUsd { get; init; }

    /// <summary>Credited active users per window month, in billionths, oldest first; length = windowMonths.</summary>
    public IReadOnlyList<Int128> MonthlyActiveNanoUsers { get; init; } = [];

    /// <summary>Distinct tenants of this shard with a credited row of the competency whose usage is &gt; 0.</summary>
    public int Customers { get; init; }

    /// <summary>Bit (1 &lt;&lt; <see cref="AssociationSource"/>) per source that credited the partner on the competency's rows.</summary>
    public byte SourcesMask { get; init; }
}

/// <summary>Per location partner totals over one shard (all workloads).</summary>
public sealed record PartnerPartial
{
    public long PartnerId { get; init; }
    public long GlobalPartnerId { get; init; }

    /// <summary>Sum over the window of revenue × DPOR days / days in month, for rows where the partner was DPOR (billionths of a USD).</summary>
    public Int128 IncentiveEligibleNanoUsd { get; init; }

    /// <summary>Usage rows in the window that credited the partner (any workload).</summary>
    public long UsageRowsCredited { get; init; }
}

/// <summary>A row of the `SubscriptionPartners` table.</summary>
public sealed record SubscriptionPartnerRow
{
    public Guid SubscriptionId { get; init; }
    public Guid CustomerTenantId { get; init; }
    public PartnerId PartnerId { get; init; }

    /// <summary>Sorted, `;`-separated source names that credited the partner on the subscription.</summary>
    public string Sources { get; init; } = "";

    /// <summary>The partner is the subscription's DPOR on the last day of asOf.</summary>
    public bool IsDpor { get; init; }

    /// <summary>The workloads the partner was credited on (ToString() gives the published form).</summary>
    public WorkloadSet Workloads { get; init; }
}

/// <summary>A row of the `IncentiveEligibility` table: one per DPOR, month and subscription with usage rows in the window.</summary>
public sealed record IncentiveEligibilityRow
{
    public PartnerId DporPartnerId { get; init; }
    public YearMonth Month { get; init; }
    public Guid SubscriptionId { get; init; }
    public Guid CustomerTenantId { get; init; }

    /// <summary>The subscription's revenue that month over all workloads (may be 0).</summary>
    public double AcrUsd { get; init; }

    public int DporDays { get; init; }
    public int DaysInMonth { get; init; }

    /// <summary>acrUsd × dporDays / daysInMonth.</summary>
    public double IncentiveAcrUsd { get; init; }
}

/// <summary>
/// One shard's partial results. Plain public init properties and lists only, so it round-trips through
/// System.Text.Json between durable activities.
/// </summary>
public sealed record ShardCredit
{
    public YearMonth AsOf { get; init; }
    public string RulesVersion { get; init; } = "";
    public int WindowMonths { get; init; }

    /// <summary>Competency names in rules order; <see cref="CompetencyPartial.CompetencyIndex"/> indexes this list.</summary>
    public IReadOnlyList<string> Competencies { get; init; } = [];

    /// <summary>Location partials, sorted by partner id then competency index; only competencies the partner was credited on.</summary>
    public IReadOnlyList<CompetencyPartial> Locations { get; init; } = [];

    /// <summary>Global partials (each usage row counted once per global), sorted like <see cref="Locations"/>.</summary>
    public IReadOnlyList<CompetencyPartial> Globals { get; init; } = [];

    /// <summary>Every location partner credited on at least one usage row of the shard in the window, sorted by id.</summary>
    public IReadOnlyList<PartnerPartial> Partners { get; init; } = [];

    /// <summary>Complete (tenants do not cross shards); sorted by subscription then partner.</summary>
    public IReadOnlyList<SubscriptionPartnerRow> SubscriptionPartners { get; init; } = [];

    /// <summary>Complete; sorted by DPOR partner, month, subscription.</summary>
    public IReadOnlyList<IncentiveEligibilityRow> IncentiveEligibility { get; init; } = [];

    /// <summary>Capability-score partials (§7) per (global partner, designation), sorted; additive across shards.</summary>
    public IReadOnlyList<Scores.ScorePartial> Scores { get; init; } = [];

    /// <summary>
    /// The customers' rows of the eligibility view (§7.4), complete (tenants do not cross shards). They travel to the
    /// reduce of their global partner with the partials, which writes them by publish range: the run's files then grow
    /// with ranges, not shards × ranges.
    /// </summary>
    public IReadOnlyList<Scores.ScoreCustomerRow> ScoreCustomers { get; init; } = [];

    /// <summary>
    /// The explanation index's chunks of this shard, one per credited location partner, sorted by partner. Binary, so
    /// not part of the JSON partial: the pipeline carries them beside it to the reduce of each partner's partition.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<EvidenceChunk> Evidence { get; init; } = [];

    public long UsageRowsInWindow { get; init; }

    /// <summary>Usage rows in the window that credited at least one partner.</summary>
    public long UsageRowsCredited { get; init; }
}

/// <summary>
/// A competency's figures (§3) and the level they reach: the one shape a location partner's row, a global partner's
/// row and a partner's evidence share, so each is judged and published by the same code.
/// </summary>
public sealed record CompetencyMetrics
{
    public string Competency { get; init; } = "";
    public double AcrUsdTtm { get; init; }
    public double PeakMonthlyActiveUsers { get; init; }
    public int Customers { get; init; }
    public CompetencyLevel Level { get; init; }
    public CompetencyLevel? NextLevel { get; init; }
    public double Progress { get; init; }

    /// <summary>The DPOR-earned part of the revenue (for a global partner: the sum of its locations').</summary>
    public double IncentiveEligibleAcrUsdTtm { get; init; }

    /// <summary>Sorted, `;`-separated association sources that credited the partner on the competency.</summary>
    public string Sources { get; init; } = "";

    /// <summary>The figures judged against <paramref name="rule"/>'s levels.</summary>
    public static CompetencyMetrics Judge(CompetencyRule rule, double acrUsdTtm, double peakMonthlyActiveUsers, int customers,
        double incentiveEligibleAcrUsdTtm, string sources)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var status = CreditLevels.Evaluate(rule, acrUsdTtm, peakMonthlyActiveUsers, customers);
        return new CompetencyMetrics
        {
            Competency = rule.Name,
            AcrUsdTtm = acrUsdTtm,
            PeakMonthlyActiveUsers = peakMonthlyActiveUsers,
            Customers = customers,
            Level = status.Level,
            NextLevel = status.NextLevel,
            Progress = status.Progress,
            IncentiveEligibleAcrUsdTtm = incentiveEligibleAcrUsdTtm,
            Sources = sources,
        };
    }
}

/// <summary>A row of the `PartnerCredit` table (without asOf/rulesVersion/runId, which the publisher adds).</summary>
public sealed record PartnerCreditRow
{
    public PartnerId PartnerId { get; init; }
    public PartnerId GlobalPartnerId { get; init; }
    public CompetencyMetrics Credit { get; init; } = new();
}

/// <summary>A row of the `GlobalPartnerCredit` table.</summary>
public sealed record GlobalPartnerCreditRow
{
    public PartnerId GlobalPartnerId { get; init; }

    /// <summary>Sorted, `;`-separated ids of its location partners credited in the window (any competency).</summary>
    public string Locations { get; init; } = "";

    public CompetencyMetrics Credit { get; init; } = new();
}

/// <summary>The merged results of a recalculation.</summary>
public sealed record CreditResults
{
    public YearMonth AsOf { get; init; }
    public string RulesVersion { get; init; } = "";

    /// <summary>One row per credited location partner and competency in the rules; sorted by partner, then rules order.</summary>
    public IReadOnlyList<PartnerCreditRow> PartnerCredit { get; init; } = [];

    /// <summary>One row per global partner (of a credited location) and competency; sorted like <see cref="PartnerCredit"/>.</summary>
    public IReadOnlyList<GlobalPartnerCreditRow> GlobalPartnerCredit { get; init; } = [];

    /// <summary>The shards' rows, concatenated in shard order.</summary>
    public IReadOnlyList<SubscriptionPartnerRow> SubscriptionPartners { get; init; } = [];

    /// <summary>The shards' rows, concatenated in shard order.</summary>
    public IReadOnlyList<IncentiveEligibilityRow> IncentiveEligibility { get; init; } = [];

    /// <summary>Location partners credited on at least one usage row in the window.</summary>
    public int Partners { get; init; }

    public int GlobalPartners { get; init; }
    public long UsageRowsInWindow { get; init; }
    public long UsageRowsCredited { get; init; }
}

/// <summary>Why a partner has its credit on a competency: every credited usage row and its evidence.</summary>
public sealed record PartnerEvidence
{
    public PartnerId PartnerId { get; init; }
    public PartnerId GlobalPartnerId { get; init; }
    public YearMonth AsOf { get; init; }
    public string RulesVersion { get; init; } = "";
    public CreditPolicy CreditPolicy { get; init; }

    /// <summary>Credited usage rows in the window of the competency's workloads, grouped by tenant, else in input order.</summary>
    public IReadOnlyList<EvidenceRow> Rows { get; init; } = [];

    /// <summary>The partner's figures and level on the competency, as its PartnerCredit row publishes them.</summary>
    public CompetencyMetrics Credit { get; init; } = new();
}

/// <summary>One usage row that credited the partner.</summary>
public sealed record EvidenceRow
{
    public Guid CustomerTenantId { get; init; }
    public Guid SubscriptionId { get; init; }
    public Workload Workload { get; init; }
    public YearMonth Month { get; init; }
    public double? ConsumedRevenueUsd { get; init; }
    public long? ActiveUsers { get; init; }

    /// <summary>The fraction of the row credited to the partner (1 under full and dporOnly, 1/k under split).</summary>
    public double Share { get; init; }

    /// <summary>Revenue × share, to the billionth of a USD as the engine adds it.</summary>
    public double CreditedRevenueUsd { get; init; }
    public double CreditedActiveUsers { get; init; }

    /// <summary>Days of the month the partner was the subscription's DPOR (0 when not credited as DPOR).</summary>
    public int DporDays { get; init; }

    public int DaysInMonth { get; init; }

    /// <summary>Sorted, `;`-separated sources that credited the partner on this row.</summary>
    public string Sources { get; init; } = "";

    /// <summary>The feed record of the usage row.</summary>
    public FeedLineage UsageLineage { get; init; }

    /// <summary>The covering associations of this partner (and its DPOR designation, as source dpor).</summary>
    public IReadOnlyList<EvidenceAssociation> Associations { get; init; } = [];
}

/// <summary>An association (or a DPOR designation period) that credited the partner on a row.</summary>
public sealed record EvidenceAssociation
{
    public AssociationSource Source { get; init; }
    public string SourceName { get; init; } = "";

    /// <summary>For dpor: the first day of the designation period (the winning `set` event's date).</summary>
    public DateOnly ValidFrom { get; init; }

    /// <summary>Inclusive; null = open-ended. For dpor: the day before the next event.</summary>
    public DateOnly? ValidTo { get; init; }

    public Guid? SubscriptionId { get; init; }
    public WorkloadSet Workloads { get; init; }

    /// <summary>The ingestion and feed line of the association (for dpor: of the `set` event).</summary>
    public string IngestionId { get; init; } = "";

    public long Line { get; init; }
}
