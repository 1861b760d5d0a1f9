namespace Attribution.Pipeline.Recalculation.Snapshots;

/// <summary>
/// Splits table partition keys (and partner ids) into ranges by a stable hash, so a run's snapshot, its reduce
/// and its publish can each be fanned out over ranges that every step computes the same way. The hash is
/// FNV-1a over the key's UTF-16 code units: stable across processes, platforms and versions (unlike
/// string.GetHashCode). With the same hash, range r of N ranges is the union of ranges r, r+M, … of M = k·N ranges,
/// so a partner's reduce range and publish range line up when the publish ranges are a multiple of the reduce ranges.
/// </summary>
internal static class PartitionRanges
{
    public static uint Hash(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var h = 2166136261u;
        foreach (var c in key)
        {
            h = (h ^ (uint)(c & 0xFF)) * 16777619u;
            h = (h ^ (uint)(c >> 8)) * 16777619u;
        }
        return h;
    }

    /// <summary>The range (0 … <paramref name="ranges"/> − 1) of a table partition key.</summary>
    public static int Of(string partitionKey, int ranges)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ranges, 1);
        return (int)(Hash(partitionKey) % (uint)ranges);
    }

    /// <summary>The range of a partner id, as its PartitionKey (the decimal id) would fall.</summary>
    public static int OfPartner(long partnerId, int ranges) =>
        Of(partnerId.ToString(System.Globalization.CultureInfo.InvariantCulture), ranges);
}
