namespace Attribution.Domain.Feeds;

/// <summary>Every canonical column of every feed (§2.3), plus the reconciliation export's product name.</summary>
public enum FeedColumn
{
    PartnerId,
    GlobalPartnerId,
    PartnerName,
    Country,
    SubscriptionId,
    CustomerTenantId,
    EffectiveDate,
    Action,
    Program,
    ValidFrom,
    ValidTo,
    AgreementId,
    ResellerPartnerId,
    Workloads,
    EngagementStart,
    EngagementEnd,
    GrantedOn,
    RevokedOn,
    Workload,
    Month,
    ConsumedRevenueUsd,
    ActiveUsers,
    LinkedOn,
    UnlinkedOn,
    PersonId,
    Certification,
    EarnedOn,
    ExpiresOn,
    ProductName,
}

/// <summary>The columns a source's file has, which are required, and the names that select them.</summary>
public sealed class FeedSchema
{
    public const int ColumnCount = (int)FeedColumn.ProductName + 1;

    private FeedSchema(FeedSource source, bool isReconciliationExport, (FeedColumn Column, string Name, bool Required)[] columns)
    {
        Source = source;
        IsReconciliationExport = isReconciliationExport;
        Columns = columns;
    }

    public FeedSource Source { get; }

    /// <summary>A Partner Center billing reconciliation export read as a `csp` file.</summary>
    public bool IsReconciliationExport { get; }

    public IReadOnlyList<(FeedColumn Column, string Name, bool Required)> Columns { get; }

    /// <summary>Header matching ignores case, spaces, `_` and `-` (and a stray BOM).</summary>
    public static string NormalizeName(ReadOnlySpan<char> name)
    {
        Span<char> buffer = name.Length <= 256 ? stackalloc char[name.Length] : new char[name.Length];
        var n = 0;
        foreach (var c in name)
        {
            if (c is ' ' or '_' or '-' or '\uFEFF' or '\t') continue;
            buffer[n++] = char.ToLowerInvariant(c);
        }
        return new string(buffer[..n]);
    }

    public static FeedSchema For(FeedSource source) => source switch
    {
        FeedSource.Partners => new(source, false,
        [
            (FeedColumn.PartnerId, "partnerId", true), (FeedColumn.GlobalPartnerId, "globalPartnerId", false),
            (FeedColumn.PartnerName, "partnerName", false), (FeedColumn.Country, "country", false),
        ]),
        FeedSource.Dpor => new(source, false,
        [
            (FeedColumn.SubscriptionId, "subscriptionId", true), (FeedColumn.CustomerTenantId, "customerTenantId", true),
            (FeedColumn.PartnerId, "partnerId", true), (FeedColumn.EffectiveDate, "effectiveDate", true),
            (FeedColumn.Action, "action", false),
        ]),
        FeedSource.Sales => new(source, false,
        [
            (FeedColumn.CustomerTenantId, "customerTenantId", true), (FeedColumn.PartnerId, "partnerId", true),
            (FeedColumn.Program, "program", true), (FeedColumn.ValidFrom, "validFrom", true),
            (FeedColumn.ValidTo, "validTo", false), (FeedColumn.SubscriptionId, "subscriptionId", false),
            (FeedColumn.AgreementId, "agreementId", false),
        ]),
        FeedSource.Csp => new(source, false,
        [
            (FeedColumn.CustomerTenantId, "customerTenantId", true), (FeedColumn.SubscriptionId, "subscriptionId", true),
            (FeedColumn.PartnerId, "partnerId", true), (FeedColumn.ValidFrom, "validFrom", true),
            (FeedColumn.ValidTo, "validTo", false), (FeedColumn.ResellerPartnerId, "resellerPartnerId", false),
            (FeedColumn.Workloads, "workloads", false),
        ]),
        FeedSource.FastTrack => new(source, false,
        [
            (FeedColumn.CustomerTenantId, "customerTenantId", true), (FeedColumn.PartnerId, "partnerId", true),
            (FeedColumn.Workloads, "workloads", true), (FeedColumn.EngagementStart, "engagementStart", true),
            (FeedColumn.EngagementEnd, "engagementEnd", false),
        ]),
        FeedSource.Dap => new(source, false,
        [
            (FeedColumn.CustomerTenantId, "customerTenantId", true), (FeedColumn.PartnerId, "partnerId", true),
            (FeedColumn.Workloads, "workloads", true), (FeedColumn.GrantedOn, "grantedOn", true),
            (FeedColumn.RevokedOn, "revokedOn", false),
        ]),
        FeedSource.Pal => new(source, false,
        [
            (FeedColumn.CustomerTenantId, "customerTenantId", true), (FeedColumn.PartnerId, "partnerId", true),
            (FeedColumn.LinkedOn, "linkedOn", true), (FeedColumn.UnlinkedOn, "unlinkedOn", false),
            (FeedColumn.SubscriptionId, "subscriptionId", false), (FeedColumn.Workloads, "workloads", false),
        ]),
        FeedSource.Certifications => new(source, false,
        [
            (FeedColumn.PartnerId, "partnerId", true), (FeedColumn.PersonId, "personId", true),
            (FeedColumn.Certification, "certification", true), (FeedColumn.EarnedOn, "earnedOn", true),
            (FeedColumn.ExpiresOn, "expiresOn", false),
        ]),
        FeedSource.Usage => new(source, false,
        [
            (FeedColumn.CustomerTenantId, "customerTenantId", true), (FeedColumn.SubscriptionId, "subscriptionId", true),
            (FeedColumn.Workload, "workload", true), (FeedColumn.Month, "month", true),
            (FeedColumn.ConsumedRevenueUsd, "consumedRevenueUsd", false), (FeedColumn.ActiveUsers, "activeUsers", false),
        ]),
        _ => throw new ArgumentOutOfRangeException(nameof(source)),
    };

    /// <summary>The Partner Center billing reconciliation export, mapped onto the csp columns (§2.3).</summary>
    public static FeedSchema CspReconciliationExport { get; } = new(FeedSource.Csp, true,
    [
        (FeedColumn.CustomerTenantId, "CustomerId", true), (FeedColumn.SubscriptionId, "SubscriptionId", true),
        // The export's own PartnerId column is the partner's Partner Center GUID, not its MPN ID: MpnId is.
        (FeedColumn.PartnerId, "MpnId", true), (FeedColumn.ResellerPartnerId, "ResellerMpnId", false),
        (FeedColumn.ValidFrom, "ChargeStartDate", true), (FeedColumn.ValidTo, "ChargeEndDate", false),
        (FeedColumn.ProductName, "ProductName", true),
    ]);

    /// <summary>Picks the schema a header describes: for csp, the reconciliation export when it has an MpnId column.</summary>
    public static FeedSchema ForHeader(FeedSource source, IEnumerable<string> normalizedHeader) =>
        source == FeedSource.Csp && normalizedHeader.Contains("mpnid") ? CspReconciliationExport : For(source);
}

/// <summary>A file that cannot be ingested at all (e.g. required columns missing); nothing from it is stored.</summary>
public sealed class FeedFormatException(string message) : Exception(message);
