namespace Attribution.Pipeline.Storage;

/// <summary>
/// Bucket helpers for callers that do not hold a <see cref="RecordSnapshot"/> (benchmarks, test harnesses): the default
/// bucket count of a new store. Readers use <see cref="RecordSnapshot.BucketOf"/>, which honours the store's own count.
/// </summary>
public static class RecordEntities
{
    public static int BucketCount => RecordStoreOptions.Default.BucketCount;

    public static int BucketOf(Guid tenant) => RecordBuckets.Of(tenant, BucketCount);
}
