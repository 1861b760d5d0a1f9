using System.Globalization;
using Attribution.Core.Domain;
using Attribution.Core.Feeds;
using Azure.Data.Tables;

namespace Attribution.Core.Storage;

/// <summary>
/// How canonical records are stored. Records of one customer tenant share a bucket partition, so a
/// recalculation shard reads whole partitions; row keys are the natural keys of §2.4, so re-sending a record
/// replaces it in place.
/// </summary>
public static class RecordEntities
{
    public const int BucketCount = 32;
    public const string PartnersPartition = "partners";

    public static int BucketOf(Guid tenant)
    {
        Span<byte> bytes = stackalloc byte[16];
        tenant.TryWriteBytes(bytes);
        var x = 0;
        foreach (var b in bytes) x ^= b;
        return x % BucketCount;
    }

    public static string BucketKey(int bucket) => "b" + bucket.ToString("D2", CultureInfo.InvariantCulture);

    private static string Id(Guid g) => g.ToString("D");
    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    private static string Pid(long p) => p.ToString(CultureInfo.InvariantCulture);

    private static void AddLineage(TableEntity e, FeedLineage lineage)
    {
        e["ingestionId"] = lineage.IngestionId;
        e["line"] = lineage.Line;
        e["ingestedAt"] = lineage.IngestedAt;
    }

    private static FeedLineage Lineage(TableEntity e) =>
        new(e.GetString("ingestionId") ?? "", e.GetInt64("line") ?? 0, e.GetDateTimeOffset("ingestedAt") ?? DateTimeOffset.MinValue);

    public static TableEntity ToEntity(PartnerRecord p, FeedLineage lineage)
    {
        var e = new TableEntity(PartnersPartition, Pid(p.PartnerId))
        {
            ["partnerId"] = Pid(p.PartnerId),
            ["globalPartnerId"] = Pid(p.GlobalPartnerId),
            ["partnerName"] = p.PartnerName,
            ["country"] = p.Country,
        };
        AddLineage(e, lineage);
        return e;
    }

    public static PartnerRecord ToPartner(TableEntity e) => new(
        long.Parse(e.GetString("partnerId")!, CultureInfo.InvariantCulture),
        long.Parse(e.GetString("globalPartnerId")!, CultureInfo.InvariantCulture),
        e.GetString("partnerName"),
        e.GetString("country"));

    public static string UsageRowKey(Guid tenant, Guid subscription, Workload workload, YearMonth month) =>
        $"{Id(tenant)}|{Id(subscription)}|{workload}|{month}";

    public static TableEntity ToEntity(UsageRecord u)
    {
        var e = new TableEntity(BucketKey(BucketOf(u.CustomerTenantId)), UsageRowKey(u.CustomerTenantId, u.SubscriptionId, u.Workload, u.Month))
        {
            ["customerTenantId"] = Id(u.CustomerTenantId),
            ["subscriptionId"] = Id(u.SubscriptionId),
            ["workload"] = u.Workload.ToString(),
            ["month"] = u.Month.ToString(),
            ["consumedRevenueUsd"] = u.ConsumedRevenueUsd,
            ["activeUsers"] = u.ActiveUsers,
        };
        AddLineage(e, u.Lineage);
        return e;
    }

    public static UsageRecord ToUsage(TableEntity e) => new(
        Guid.Parse(e.GetString("customerTenantId")!),
        Guid.Parse(e.GetString("subscriptionId")!),
        Enum.Parse<Workload>(e.GetString("workload")!),
        YearMonth.Parse(e.GetString("month")!),
        e.GetDouble("consumedRevenueUsd"),
        e.GetInt64("activeUsers"),
        Lineage(e));

    /// <summary>The natural key (source, partner, tenant, subscription, workloads, start date).</summary>
    public static string AssociationRowKey(Association a) =>
        $"{Id(a.CustomerTenantId)}|{a.Source.Name()}|{Pid(a.PartnerId)}|{(a.SubscriptionId is { } s ? Id(s) : "*")}|{(a.Workloads.IsEmpty ? "*" : a.Workloads.ToString())}|{Day(a.ValidFrom)}";

    public static TableEntity ToEntity(Association a)
    {
        var e = new TableEntity(BucketKey(BucketOf(a.CustomerTenantId)), AssociationRowKey(a))
        {
            ["source"] = a.Source.Name(),
            ["partnerId"] = Pid(a.PartnerId),
            ["customerTenantId"] = Id(a.CustomerTenantId),
            ["subscriptionId"] = a.SubscriptionId is { } s ? Id(s) : null,
            ["workloads"] = a.Workloads.ToString(),
            ["validFrom"] = Day(a.ValidFrom),
            ["validTo"] = a.ValidTo is { } t ? Day(t) : null,
            ["program"] = a.Program == SalesProgram.None ? null : a.Program.ToString(),
            ["agreementId"] = a.AgreementId,
            ["relatedPartnerId"] = a.RelatedPartnerId is { } r ? Pid(r) : null,
        };
        AddLineage(e, a.Lineage);
        return e;
    }

    public static Association ToAssociation(TableEntity e)
    {
        var source = e.GetString("source") switch
        {
            "sales" => AssociationSource.Sales,
            "csp" => AssociationSource.Csp,
            "fasttrack" => AssociationSource.FastTrack,
            "dap" => AssociationSource.Dap,
            var other => throw new InvalidDataException($"Association {e.RowKey} has unknown source '{other}'."),
        };
        if (!WorkloadNames.TryParseList(e.GetString("workloads") ?? "", out var workloads, out var unknown))
            throw new InvalidDataException($"Association {e.RowKey} has unknown workload '{unknown}'.");
        return new Association(
            source,
            long.Parse(e.GetString("partnerId")!, CultureInfo.InvariantCulture),
            Guid.Parse(e.GetString("customerTenantId")!),
            e.GetString("subscriptionId") is { } s ? Guid.Parse(s) : null,
            workloads,
            DateOnly.ParseExact(e.GetString("validFrom")!, "yyyy-MM-dd", CultureInfo.InvariantCulture),
            e.GetString("validTo") is { } t ? DateOnly.ParseExact(t, "yyyy-MM-dd", CultureInfo.InvariantCulture) : null,
            Lineage(e))
        {
            Program = e.GetString("program") is { } p ? Enum.Parse<SalesProgram>(p) : SalesProgram.None,
            AgreementId = e.GetString("agreementId"),
            RelatedPartnerId = e.GetString("relatedPartnerId") is { } r ? long.Parse(r, CultureInfo.InvariantCulture) : null,
        };
    }

    /// <summary>The natural key (subscription, effective date, partner, action), behind the tenant for locality.</summary>
    public static string DporRowKey(DporEvent d) =>
        $"{Id(d.CustomerTenantId)}|{Id(d.SubscriptionId)}|{Day(d.EffectiveDate)}|{Pid(d.PartnerId)}|{(d.Action == DporAction.Set ? "set" : "remove")}";

    public static TableEntity ToEntity(DporEvent d)
    {
        var e = new TableEntity(BucketKey(BucketOf(d.CustomerTenantId)), DporRowKey(d))
        {
            ["subscriptionId"] = Id(d.SubscriptionId),
            ["customerTenantId"] = Id(d.CustomerTenantId),
            ["partnerId"] = Pid(d.PartnerId),
            ["effectiveDate"] = Day(d.EffectiveDate),
            ["action"] = d.Action == DporAction.Set ? "set" : "remove",
        };
        AddLineage(e, d.Lineage);
        return e;
    }

    public static DporEvent ToDporEvent(TableEntity e) => new(
        Guid.Parse(e.GetString("subscriptionId")!),
        Guid.Parse(e.GetString("customerTenantId")!),
        long.Parse(e.GetString("partnerId")!, CultureInfo.InvariantCulture),
        DateOnly.ParseExact(e.GetString("effectiveDate")!, "yyyy-MM-dd", CultureInfo.InvariantCulture),
        e.GetString("action") == "remove" ? DporAction.Remove : DporAction.Set,
        Lineage(e));
}
