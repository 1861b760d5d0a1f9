using System.Globalization;
using Attribution.Domain;
using Attribution.Pipeline.Storage;

namespace Attribution.Testing;

/// <summary>Reads canonical records the way every consumer does: through the latest <see cref="RecordSnapshot"/>.</summary>
public static class RecordReads
{
    public static readonly YearMonth FirstMonth = new(1, 1);
    public static readonly YearMonth LastMonth = new(9999, 12);

    public static Task<RecordSnapshot> LatestRecordsAsync(this StorageAccount storage) => storage.Get<RecordStore>().LatestAsync();

    public static async Task<List<UsageRecord>> AllUsageAsync(this RecordSnapshot records)
    {
        var all = new List<UsageRecord>();
        for (var b = 0; b < records.BucketCount; b++) all.AddRange(await records.UsageAsync(b, FirstMonth, LastMonth));
        return all;
    }

    public static async Task<List<Association>> AllAssociationsAsync(this RecordSnapshot records)
    {
        var all = new List<Association>();
        for (var b = 0; b < records.BucketCount; b++) all.AddRange(await records.AssociationsAsync(b));
        return all;
    }

    public static async Task<List<DporEvent>> AllDporEventsAsync(this RecordSnapshot records)
    {
        var all = new List<DporEvent>();
        for (var b = 0; b < records.BucketCount; b++) all.AddRange(await records.DporEventsAsync(b));
        return all;
    }

    public static async Task<List<CertificationRecord>> AllCertificationsAsync(this RecordSnapshot records)
    {
        var all = new List<CertificationRecord>();
        await foreach (var c in records.CertificationsAsync()) all.Add(c);
        return all;
    }

    public static async Task<TenantRecords> TenantAsync(this StorageAccount storage, Guid tenant) =>
        await (await storage.LatestRecordsAsync()).TenantAsync(tenant, FirstMonth, LastMonth);

    /// <summary>A record's stored content, for comparisons; lineage's ingestion id and time only when asked.</summary>
    public static string Canonical(UsageRecord u, bool ingestion = true) => string.Create(CultureInfo.InvariantCulture,
        $"usage {u.CustomerTenantId}|{u.SubscriptionId}|{u.Workload}|{u.Month}|{u.ConsumedRevenueUsd:R}|{u.ActiveUsers}|{Lineage(u.Lineage, ingestion)}");

    public static string Canonical(Association a, bool ingestion = true) => string.Create(CultureInfo.InvariantCulture,
        $"association {a.Source}|{a.PartnerId}|{a.CustomerTenantId}|{a.SubscriptionId}|{a.Workloads}|{a.ValidFrom:yyyy-MM-dd}|{a.ValidTo:yyyy-MM-dd}|{a.Program}|{a.AgreementId}|{a.RelatedPartnerId}|{Lineage(a.Lineage, ingestion)}");

    public static string Canonical(DporEvent d, bool ingestion = true) => string.Create(CultureInfo.InvariantCulture,
        $"dpor {d.SubscriptionId}|{d.CustomerTenantId}|{d.PartnerId}|{d.EffectiveDate:yyyy-MM-dd}|{d.Action}|{Lineage(d.Lineage, ingestion)}");

    public static string Canonical(CertificationRecord c, bool ingestion = true) => string.Create(CultureInfo.InvariantCulture,
        $"certification {c.PartnerId}|{c.PersonId}|{c.Certification}|{c.EarnedOn:yyyy-MM-dd}|{c.ExpiresOn:yyyy-MM-dd}|{Lineage(c.Lineage, ingestion)}");

    private static string Lineage(FeedLineage l, bool ingestion) =>
        ingestion ? string.Create(CultureInfo.InvariantCulture, $"{l.IngestionId}|{l.Line}|{l.IngestedAt:O}") : l.Line.ToString(CultureInfo.InvariantCulture);

    /// <summary>Every record of the snapshot, canonical and sorted.</summary>
    public static async Task<List<string>> EverythingAsync(this RecordSnapshot records, bool ingestion = true)
    {
        var all = new List<string>();
        all.AddRange((await records.AllUsageAsync()).Select(u => Canonical(u, ingestion)));
        all.AddRange((await records.AllAssociationsAsync()).Select(a => Canonical(a, ingestion)));
        all.AddRange((await records.AllDporEventsAsync()).Select(d => Canonical(d, ingestion)));
        await foreach (var p in records.PartnersAsync()) all.Add($"partner {p}");
        all.AddRange((await records.AllCertificationsAsync()).Select(c => Canonical(c, ingestion)));
        all.Sort(StringComparer.Ordinal);
        return all;
    }
}
