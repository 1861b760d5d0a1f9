namespace Attribution.Domain;

/// <summary>The association feeds: every source that credits a partner on a subscription.</summary>
public enum AssociationSource : byte
{
    Sales = 0,
    Csp = 1,
    FastTrack = 2,
    Dap = 3,
    Dpor = 4,
    Pal = 5,
}

/// <summary>The contract's lower-case names of the association sources (the published `sources` values).</summary>
public static class AssociationSources
{
    public static string Name(this AssociationSource source) => source switch
    {
        AssociationSource.Sales => "sales",
        AssociationSource.Csp => "csp",
        AssociationSource.FastTrack => "fasttrack",
        AssociationSource.Dap => "dap",
        AssociationSource.Dpor => "dpor",
        AssociationSource.Pal => "pal",
        _ => throw new ArgumentOutOfRangeException(nameof(source)),
    };
}

public enum DporAction : byte
{
    Set = 0,
    Remove = 1,
}

public enum SalesProgram : byte
{
    None = 0,
    EA = 1,
    Open = 2,
}

/// <summary>Where a stored record came from: the ingestion that wrote it last and the feed line.</summary>
/// <param name="IngestedAt">When that ingestion started; orders same-day DPOR events (later-ingested wins).</param>
public readonly record struct FeedLineage(string IngestionId, long Line, DateTimeOffset IngestedAt);

/// <summary>A location partner (MPN ID) and the global partner it rolls up to.</summary>
public sealed record PartnerRecord(long PartnerId, long GlobalPartnerId, string? PartnerName, string? Country);

/// <summary>One DPOR designation event for a subscription.</summary>
public sealed record DporEvent(
    Guid SubscriptionId,
    Guid CustomerTenantId,
    long PartnerId,
    DateOnly EffectiveDate,
    DporAction Action,
    FeedLineage Lineage);

/// <summary>
/// A partner's association with a customer from the sales, csp, fasttrack, dap or pal feeds.
/// <see cref="SubscriptionId"/> null = every subscription of the tenant; empty <see cref="Workloads"/> = every workload;
/// <see cref="ValidTo"/> is inclusive, null = open-ended.
/// </summary>
public sealed record Association(
    AssociationSource Source,
    long PartnerId,
    Guid CustomerTenantId,
    Guid? SubscriptionId,
    WorkloadSet Workloads,
    DateOnly ValidFrom,
    DateOnly? ValidTo,
    FeedLineage Lineage)
{
    /// <summary>Sales program (EA/Open), for sales associations.</summary>
    public SalesProgram Program { get; init; }

    public string? AgreementId { get; init; }

    /// <summary>For a csp association of the indirect reseller: the provider partner on the same charge line (and vice versa).</summary>
    public long? RelatedPartnerId { get; init; }
}

/// <summary>Monthly usage of one workload on one subscription. At least one amount is present.</summary>
public sealed record UsageRecord(
    Guid CustomerTenantId,
    Guid SubscriptionId,
    Workload Workload,
    YearMonth Month,
    double? ConsumedRevenueUsd,
    long? ActiveUsers,
    FeedLineage Lineage);

/// <summary>
/// One certification a partner's person earned (`certifications` feed). Natural key: (partner, person, certification,
/// earned date). <see cref="PersonId"/> is opaque and compared exactly; <see cref="Certification"/> is upper-case.
/// <see cref="ExpiresOn"/> is inclusive, null = never expires.
/// </summary>
public sealed record CertificationRecord(
    long PartnerId,
    string PersonId,
    string Certification,
    DateOnly EarnedOn,
    DateOnly? ExpiresOn,
    FeedLineage Lineage)
{
    /// <summary>Whether the certification is held on <paramref name="day"/>: earned by then and not yet expired (the expiry day counts).</summary>
    public bool InForceOn(DateOnly day) => EarnedOn <= day && (ExpiresOn is not { } end || day <= end);
}
