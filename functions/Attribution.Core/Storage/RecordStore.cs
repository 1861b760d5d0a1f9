using Attribution.Core.Domain;
using Azure.Data.Tables;

namespace Attribution.Core.Storage;

/// <summary>
/// The canonical records (§2.6). A reader first takes a <see cref="RecordSnapshot"/> — the committed state at one
/// version — and reads everything through it, so a recalculation and the evidence of its run see the same records.
/// </summary>
public sealed class RecordStore(StorageAccount storage)
{
    /// <summary>The latest committed state.</summary>
    public Task<RecordSnapshot> LatestAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new RecordSnapshot(storage, version: 0, RecordEntities.BucketCount));

    /// <summary>The committed state at <paramref name="version"/> (as recorded by a recalculation run).</summary>
    public Task<RecordSnapshot> AtAsync(long version, CancellationToken cancellationToken = default) =>
        Task.FromResult(new RecordSnapshot(storage, version, RecordEntities.BucketCount));

    /// <summary>The buckets a shard of a recalculation reads.</summary>
    public static IEnumerable<int> BucketsOfShard(int shard, int shardCount, int bucketCount) =>
        Enumerable.Range(0, bucketCount).Where(b => b % shardCount == shard);
}

/// <summary>An immutable view of the committed canonical records at one version.</summary>
public sealed class RecordSnapshot
{
    private readonly StorageAccount _storage;

    internal RecordSnapshot(StorageAccount storage, long version, int bucketCount)
    {
        _storage = storage;
        Version = version;
        BucketCount = bucketCount;
    }

    /// <summary>The commit version this view reads (recorded by a run so its evidence reads the same records).</summary>
    public long Version { get; }

    /// <summary>How many customer-tenant buckets the records are partitioned into.</summary>
    public int BucketCount { get; }

    public int BucketOf(Guid tenant) => RecordEntities.BucketOf(tenant) % BucketCount;

    /// <summary>The committed ingestions whose records this view contains.</summary>
    public Task<IReadOnlyList<string>> IngestionIdsAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<string>>(Version == 0 ? [] : throw new NotSupportedException("Versioned records arrive with segment storage."));

    public async Task<Dictionary<long, long>> GlobalPartnerMapAsync(CancellationToken cancellationToken = default)
    {
        var map = new Dictionary<long, long>();
        await foreach (var p in PartnersAsync(cancellationToken).ConfigureAwait(false)) map[p.PartnerId] = p.GlobalPartnerId;
        return map;
    }

    public async IAsyncEnumerable<PartnerRecord> PartnersAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {RecordEntities.PartnersPartition}");
        await foreach (var e in _storage.Table(TableNames.Partners).QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
            yield return RecordEntities.ToPartner(e);
    }

    /// <summary>Usage rows of a bucket within [from, to] months.</summary>
    public Task<List<UsageRecord>> UsageAsync(int bucket, YearMonth from, YearMonth to, CancellationToken cancellationToken = default) =>
        ReadAsync(TableNames.UsageRecords,
            TableClient.CreateQueryFilter($"PartitionKey eq {RecordEntities.BucketKey(bucket)} and month ge {from.ToString()} and month le {to.ToString()}"),
            RecordEntities.ToUsage, cancellationToken);

    public Task<List<Association>> AssociationsAsync(int bucket, CancellationToken cancellationToken = default) =>
        ReadAsync(TableNames.Associations, BucketFilter(bucket), RecordEntities.ToAssociation, cancellationToken);

    public Task<List<DporEvent>> DporEventsAsync(int bucket, CancellationToken cancellationToken = default) =>
        ReadAsync(TableNames.DporEvents, BucketFilter(bucket), RecordEntities.ToDporEvent, cancellationToken);

    private static string BucketFilter(int bucket) => TableClient.CreateQueryFilter($"PartitionKey eq {RecordEntities.BucketKey(bucket)}");

    private async Task<List<T>> ReadAsync<T>(string table, string filter, Func<TableEntity, T> map, CancellationToken cancellationToken)
    {
        var list = new List<T>();
        await foreach (var e in _storage.Table(table).QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
            list.Add(map(e));
        return list;
    }

    /// <summary>Everything stored for one customer tenant (evidence and the tenant view read a tenant at a time).</summary>
    public async Task<TenantRecords> TenantAsync(Guid tenant, YearMonth from, YearMonth to, CancellationToken cancellationToken = default)
    {
        var prefix = tenant.ToString("D") + "|";
        var pk = RecordEntities.BucketKey(BucketOf(tenant));
        var range = TableClient.CreateQueryFilter($"PartitionKey eq {pk} and RowKey ge {prefix} and RowKey lt {prefix + "~"}");
        var usage = (await ReadAsync(TableNames.UsageRecords, range, RecordEntities.ToUsage, cancellationToken).ConfigureAwait(false))
            .Where(u => u.Month >= from && u.Month <= to).ToList();
        var associations = await ReadAsync(TableNames.Associations, range, RecordEntities.ToAssociation, cancellationToken).ConfigureAwait(false);
        var dpor = await ReadAsync(TableNames.DporEvents, range, RecordEntities.ToDporEvent, cancellationToken).ConfigureAwait(false);
        return new TenantRecords(usage, associations, dpor);
    }
}

/// <summary>The records of one customer tenant.</summary>
public sealed record TenantRecords(List<UsageRecord> Usage, List<Association> Associations, List<DporEvent> DporEvents);
