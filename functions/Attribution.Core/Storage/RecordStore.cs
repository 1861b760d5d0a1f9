using Attribution.Core.Domain;
using Azure.Data.Tables;

namespace Attribution.Core.Storage;

/// <summary>Reads the canonical records back for the engine: the partner directory, and a shard's buckets.</summary>
public sealed class RecordStore(StorageAccount storage)
{
    public async Task<Dictionary<long, long>> GlobalPartnerMapAsync(CancellationToken cancellationToken = default)
    {
        var map = new Dictionary<long, long>();
        await foreach (var p in PartnersAsync(cancellationToken).ConfigureAwait(false)) map[p.PartnerId] = p.GlobalPartnerId;
        return map;
    }

    public async IAsyncEnumerable<PartnerRecord> PartnersAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {RecordEntities.PartnersPartition}");
        await foreach (var e in storage.Table(TableNames.Partners).QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
            yield return RecordEntities.ToPartner(e);
    }

    public static IEnumerable<int> BucketsOfShard(int shard, int shardCount) =>
        Enumerable.Range(0, RecordEntities.BucketCount).Where(b => b % shardCount == shard);

    /// <summary>Usage rows of a bucket within [from, to] months (the filter runs in storage).</summary>
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
        await foreach (var e in storage.Table(table).QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
            list.Add(map(e));
        return list;
    }

    /// <summary>Everything stored for one customer tenant (evidence reads a tenant at a time).</summary>
    public async Task<(List<UsageRecord> Usage, List<Association> Associations, List<DporEvent> Dpor)> TenantAsync(
        Guid tenant, YearMonth from, YearMonth to, CancellationToken cancellationToken = default)
    {
        var bucket = RecordEntities.BucketOf(tenant);
        var prefix = tenant.ToString("D") + "|";
        var pk = RecordEntities.BucketKey(bucket);
        var range = TableClient.CreateQueryFilter($"PartitionKey eq {pk} and RowKey ge {prefix} and RowKey lt {prefix + "~"}");
        var usage = (await ReadAsync(TableNames.UsageRecords, range, RecordEntities.ToUsage, cancellationToken).ConfigureAwait(false))
            .Where(u => u.Month >= from && u.Month <= to).ToList();
        var associations = await ReadAsync(TableNames.Associations, range, RecordEntities.ToAssociation, cancellationToken).ConfigureAwait(false);
        var dpor = await ReadAsync(TableNames.DporEvents, range, RecordEntities.ToDporEvent, cancellationToken).ConfigureAwait(false);
        return (usage, associations, dpor);
    }
}
