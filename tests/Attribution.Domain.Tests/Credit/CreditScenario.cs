using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Domain.Rules;

namespace Attribution.Domain.Tests.Credit;

/// <summary>A small hand-built shard: usage, associations, DPOR events, partner directory.</summary>
internal sealed class CreditScenario
{
    public static readonly DateTimeOffset BaseIngest = new(2026, 7, 1, 8, 0, 0, TimeSpan.Zero);

    public YearMonth AsOf { get; set; } = new(2026, 6);
    public CreditRules Rules { get; set; } = CreditRulesLoader.Default;
    public List<UsageRecord> Usage { get; } = [];
    public List<Association> Associations { get; } = [];
    public List<DporEvent> DporEvents { get; } = [];
    public Dictionary<long, long> Globals { get; } = [];
    private long _line;

    public CreditScenario WithPolicy(CreditPolicy policy)
    {
        Rules = Rules with { CreditPolicy = policy };
        return this;
    }

    public static Guid Tenant(int n) => new($"10000000-0000-0000-0000-{n:D12}");
    public static Guid Sub(int n) => new($"20000000-0000-0000-0000-{n:D12}");
    public static YearMonth M(string month) => YearMonth.Parse(month);
    public static DateOnly D(string date) => DateOnly.Parse(date, System.Globalization.CultureInfo.InvariantCulture);

    public FeedLineage Lineage(string ingestion = "ing-1", DateTimeOffset? at = null) => new(ingestion, ++_line, at ?? BaseIngest);

    public CreditScenario Use(int tenant, int sub, Workload workload, string month, double? revenue, long? users)
    {
        Usage.Add(new UsageRecord(Tenant(tenant), Sub(sub), workload, M(month), revenue, users, Lineage("usage-1")));
        return this;
    }

    public CreditScenario Assoc(AssociationSource source, long partner, int tenant, int? sub, WorkloadSet workloads,
        string from, string? to = null, string ingestion = "assoc-1")
    {
        Associations.Add(new Association(source, partner, Tenant(tenant), sub is { } s ? Sub(s) : null, workloads,
            D(from), to is null ? null : D(to), Lineage(ingestion)));
        return this;
    }

    public CreditScenario Sales(long partner, int tenant, string from, string? to = null, int? sub = null) =>
        Assoc(AssociationSource.Sales, partner, tenant, sub, WorkloadSet.Empty, from, to);

    public CreditScenario Csp(long partner, int tenant, int sub, string from, string? to = null) =>
        Assoc(AssociationSource.Csp, partner, tenant, sub, WorkloadSet.Empty, from, to);

    public CreditScenario FastTrack(long partner, int tenant, WorkloadSet workloads, string from, string? to = null) =>
        Assoc(AssociationSource.FastTrack, partner, tenant, null, workloads, from, to);

    public CreditScenario Dap(long partner, int tenant, WorkloadSet workloads, string from, string? to = null) =>
        Assoc(AssociationSource.Dap, partner, tenant, null, workloads, from, to);

    public CreditScenario Pal(long partner, int tenant, string from, string? to = null, int? sub = null, WorkloadSet workloads = default) =>
        Assoc(AssociationSource.Pal, partner, tenant, sub, workloads, from, to);

    public CreditScenario Dpor(int sub, int tenant, long partner, string date, DporAction action = DporAction.Set,
        DateTimeOffset? ingestedAt = null, string ingestion = "dpor-1")
    {
        DporEvents.Add(new DporEvent(Sub(sub), Tenant(tenant), partner, D(date), action, Lineage(ingestion, ingestedAt)));
        return this;
    }

    public CreditScenario Global(long location, long global)
    {
        Globals[location] = global;
        return this;
    }

    public CreditInput Input() => new()
    {
        AsOf = AsOf,
        Rules = Rules,
        Usage = Usage,
        Associations = Associations,
        DporEvents = DporEvents,
        GlobalPartnerOf = Globals,
    };

    public ShardCredit Shard() => CreditEngine.ComputeShard(Input());

    public CreditResults Results() => CreditEngine.Finish([Shard()], Rules, AsOf);

    public static WorkloadSet W(params Workload[] workloads) => WorkloadSet.Of(workloads);
}

internal static class CreditResultsExtensions
{
    /// <summary>The partner's credit on the competency (its one PartnerCredit row's metrics).</summary>
    public static CompetencyMetrics Row(this CreditResults r, long partner, string competency) => PartnerRow(r, partner, competency).Credit;

    public static PartnerCreditRow PartnerRow(this CreditResults r, long partner, string competency) =>
        Assert.Single(r.PartnerCredit, x => x.PartnerId.Value == partner && x.Credit.Competency == competency);

    /// <summary>The global partner's credit on the competency.</summary>
    public static CompetencyMetrics GlobalRow(this CreditResults r, long global, string competency) => GlobalPartnerRow(r, global, competency).Credit;

    public static GlobalPartnerCreditRow GlobalPartnerRow(this CreditResults r, long global, string competency) =>
        Assert.Single(r.GlobalPartnerCredit, x => x.GlobalPartnerId.Value == global && x.Credit.Competency == competency);

    public static bool Has(this CreditResults r, long partner) => r.PartnerCredit.Any(x => x.PartnerId.Value == partner);
}
