using Attribution.Domain;
using Azure;
using Azure.Storage.Blobs.Models;
using Parquet;

namespace Attribution.Pipeline.Storage;

/// <summary>
/// The canonical records (§2.6), as immutable Parquet segments under a commit log (docs/storage.md). A reader first
/// takes a <see cref="RecordSnapshot"/> — the committed state at one version — and reads everything through it, so a
/// recalculation and the evidence of its run see the same records, even after later ingestions and compactions
/// (until <see cref="RecordStoreOptions.Retention"/> has passed since a compaction removed what it read).
/// </summary>
public sealed class RecordStore
{
    private readonly RecordLog _log;

    // A reader commits nothing, so it has no failure to say: no logger.
    public RecordStore(StorageAccount storage, RecordStoreOptions options, TimeProvider time) =>
        _log = new RecordLog(storage, options, time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    internal RecordLog Log => _log;

    /// <summary>The latest committed state.</summary>
    public async Task<RecordSnapshot> LatestAsync(CancellationToken cancellationToken = default) =>
        await OpenAsync(null, cancellationToken).ConfigureAwait(false);

    /// <summary>The committed state at <paramref name="version"/> (as recorded by a recalculation run).</summary>
    public async Task<RecordSnapshot> AtAsync(long version, CancellationToken cancellationToken = default) =>
        await OpenAsync(version, cancellationToken).ConfigureAwait(false);

    private async Task<RecordSnapshot> OpenAsync(long? version, CancellationToken cancellationToken)
    {
        var metadata = await _log.MetadataAsync(cancellationToken).ConfigureAwait(false);
        var state = await _log.OpenAsync(version, cancellationToken).ConfigureAwait(false);
        return new RecordSnapshot(_log, state, metadata.BucketCount);
    }

    /// <summary>How far compaction is behind: buckets over the threshold and the oldest commit they still hold (the log's state only, no segment read).</summary>
    public Task<RecordStoreHealth> HealthAsync(CancellationToken cancellationToken = default) => RecordStoreHealth.ReadAsync(_log, cancellationToken);

    /// <summary>The buckets a shard of a recalculation reads.</summary>
    public static IEnumerable<int> BucketsOfShard(int shard, int shardCount, int bucketCount) =>
        Enumerable.Range(0, bucketCount).Where(b => b % shardCount == shard);
}

/// <summary>A snapshot names segments that no longer exist: it is older than the retention.</summary>
public sealed class RecordsUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>An immutable view of the committed canonical records at one version.</summary>
public sealed class RecordSnapshot
{
    private const int ParallelSegmentReads = 8;
    private readonly RecordLog _log;
    private readonly RecordState _state;
    private readonly Dictionary<(RecordKind Kind, int Bucket), List<SegmentInfo>> _segments = [];

    internal RecordSnapshot(RecordLog log, RecordState state, int bucketCount)
    {
        _log = log;
        _state = state;
        BucketCount = bucketCount;
        // Ordered by path so a read is deterministic; latest-wins does not depend on it.
        foreach (var s in state.Live.OrderBy(s => s.Path, StringComparer.Ordinal))
        {
            var key = (s.Kind, s.Kind.IsBucketed() ? s.Bucket : -1);
            if (!_segments.TryGetValue(key, out var list)) _segments[key] = list = [];
            list.Add(s);
        }
    }

    /// <summary>The commit version this view reads (recorded by a run so its evidence reads the same records).</summary>
    public long Version => _state.Version;

    /// <summary>How many customer-tenant buckets the records are partitioned into.</summary>
    public int BucketCount { get; }

    public int BucketOf(Guid tenant) => RecordBuckets.Of(tenant, BucketCount);

    internal RecordState State => _state;

    /// <summary>Rows in the live bucketed segments (usage, associations, DPOR events): what sizes a recalculation's fan-out.</summary>
    public long BucketedRows => _state.Live.Where(s => s.Kind.IsBucketed()).Sum(s => s.Rows);

    internal IReadOnlyList<SegmentInfo> Segments(RecordKind kind, int bucket) =>
        _segments.TryGetValue((kind, kind.IsBucketed() ? bucket : -1), out var list) ? list : [];

    /// <summary>The committed ingestions whose records this view contains, in commit order.</summary>
    public Task<IReadOnlyList<string>> IngestionIdsAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<string>>(_state.Ingestions.OrderBy(p => p.Value).Select(p => p.Key).ToList());

    public async Task<Dictionary<long, long>> GlobalPartnerMapAsync(CancellationToken cancellationToken = default)
    {
        var map = new Dictionary<long, long>();
        foreach (var p in await PartnerRowsAsync(cancellationToken).ConfigureAwait(false)) map[p.Partner.PartnerId] = p.Partner.GlobalPartnerId;
        return map;
    }

    public async IAsyncEnumerable<PartnerRecord> PartnersAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var p in await PartnerRowsAsync(cancellationToken).ConfigureAwait(false)) yield return p.Partner;
    }

    /// <summary>Partners with the lineage of the row that set them.</summary>
    internal Task<List<PartnerRow>> PartnerRowsAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(PartnerCodec.Instance, p => p.Partner.PartnerId, Segments(RecordKind.Partners, -1), RowFilter.All, rangeReads: false, cancellationToken);

    /// <summary>
    /// Every certification at this version, latest wins per natural key (partner, person, certification, earned date),
    /// in that key order, so a caller can group by partner as the rows go by. It streams: every segment is sorted by the
    /// key (the writer sorts each part, compaction merges), so the segments are merged a row group at a time and memory
    /// holds one row group per live segment, however many certifications there are.
    /// </summary>
    public IAsyncEnumerable<CertificationRecord> CertificationsAsync(CancellationToken cancellationToken = default) =>
        MergeAsync(CertificationCodec.Instance, CertificationCodec.CompareKey, Segments(RecordKind.Certifications, -1), cancellationToken);

    /// <summary>Usage rows of a bucket within [from, to] months.</summary>
    public Task<List<UsageRecord>> UsageAsync(int bucket, YearMonth from, YearMonth to, CancellationToken cancellationToken = default) =>
        ReadAsync(UsageCodec.Instance, UsageCodec.Key, Segments(RecordKind.Usage, bucket), new RowFilter(null, from, to), rangeReads: false, cancellationToken);

    public Task<List<Association>> AssociationsAsync(int bucket, CancellationToken cancellationToken = default) =>
        ReadAsync(AssociationCodec.Instance, AssociationCodec.Key, Segments(RecordKind.Associations, bucket), RowFilter.All, rangeReads: false, cancellationToken);

    public Task<List<DporEvent>> DporEventsAsync(int bucket, CancellationToken cancellationToken = default) =>
        ReadAsync(DporCodec.Instance, DporCodec.Key, Segments(RecordKind.Dpor, bucket), RowFilter.All, rangeReads: false, cancellationToken);

    /// <summary>
    /// The latest month any usage row has, or null when there is no usage: from the row groups' month statistics
    /// (a footer read per usage segment), so the default month of a recalculation costs no scan of the usage.
    /// </summary>
    public async Task<YearMonth?> LatestUsageMonthAsync(CancellationToken cancellationToken = default)
    {
        YearMonth? latest = null;
        var gate = new object();
        await VisitUsageRowGroupsAsync(async (g, ct) =>
        {
            var max = UsageCodec.MonthRange(g)?.Max ?? (await UsageCodec.ReadMonthsAsync(g, ct).ConfigureAwait(false)).DefaultIfEmpty().Max();
            if (g.RowCount > 0) lock (gate) latest = latest is { } l && l >= max ? l : max;
            return false;
        }, cancellationToken).ConfigureAwait(false);
        return latest;
    }

    /// <summary>
    /// Whether any usage row has a month in [from, to]. Row groups whose month statistics lie outside are skipped and
    /// those with an end inside answer at once; only a group spanning the whole range has its month column read.
    /// </summary>
    public async Task<bool> HasUsageAsync(YearMonth from, YearMonth to, CancellationToken cancellationToken = default)
    {
        var found = false;
        await VisitUsageRowGroupsAsync(async (g, ct) =>
        {
            if (g.RowCount == 0) return false;
            bool hit;
            if (UsageCodec.MonthRange(g) is var (min, max) && (max < from || min > to)) hit = false;
            else if (UsageCodec.MonthRange(g) is var (lo, hi) && ((lo >= from && lo <= to) || (hi >= from && hi <= to))) hit = true;
            else hit = (await UsageCodec.ReadMonthsAsync(g, ct).ConfigureAwait(false)).Any(m => m >= from && m <= to);
            if (hit) found = true;
            return hit;
        }, cancellationToken).ConfigureAwait(false);
        return found;
    }

    /// <summary>Opens every live usage segment (range reads) and visits its row groups until the visitor returns true.</summary>
    private async Task VisitUsageRowGroupsAsync(Func<ParquetRowGroupReader, CancellationToken, Task<bool>> visit, CancellationToken cancellationToken)
    {
        var segments = _state.Live.Where(s => s.Kind == RecordKind.Usage && s.Rows > 0).OrderBy(s => s.Path, StringComparer.Ordinal).ToList();
        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            await Parallel.ForEachAsync(segments, new ParallelOptions { MaxDegreeOfParallelism = ParallelSegmentReads, CancellationToken = done.Token }, async (segment, ct) =>
            {
                var blob = _log.Container.GetBlobClient(segment.Path);
                try
                {
                    var stream = await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = 64 * 1024 }, ct).ConfigureAwait(false);
                    await using var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: false, cancellationToken: ct).ConfigureAwait(false);
                    for (var i = 0; i < reader.RowGroupCount; i++)
                    {
                        using var group = reader.OpenRowGroupReader(i);
                        if (await visit(group, ct).ConfigureAwait(false))
                        {
                            await done.CancelAsync().ConfigureAwait(false);
                            return;
                        }
                    }
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    throw new RecordsUnavailableException($"Records version {Version} can no longer be read: its segment '{segment.Path}' is gone.", e);
                }
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (done.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // A visitor found what it looked for: the other reads were stopped.
        }
    }

    /// <summary>Everything stored for one customer tenant (evidence and the tenant view read a tenant at a time).</summary>
    public async Task<TenantRecords> TenantAsync(Guid tenant, YearMonth from, YearMonth to, CancellationToken cancellationToken = default)
    {
        var bucket = BucketOf(tenant);
        var id = tenant.ToString("D");
        // Range reads: the footer, then only the row groups whose tenant statistics can hold this tenant.
        var usage = ReadAsync(UsageCodec.Instance, UsageCodec.Key, Segments(RecordKind.Usage, bucket), new RowFilter(id, from, to), rangeReads: true, cancellationToken);
        var associations = ReadAsync(AssociationCodec.Instance, AssociationCodec.Key, Segments(RecordKind.Associations, bucket), new RowFilter(id, null, null), rangeReads: true, cancellationToken);
        var dpor = ReadAsync(DporCodec.Instance, DporCodec.Key, Segments(RecordKind.Dpor, bucket), new RowFilter(id, null, null), rangeReads: true, cancellationToken);
        return new TenantRecords(await usage.ConfigureAwait(false), await associations.ConfigureAwait(false), await dpor.ConfigureAwait(false));
    }

    /// <summary>
    /// Reads the segments and applies latest-wins by natural key: the row of the later commit wins, and within one
    /// ingestion the later line. A bucket of one de-duplicated segment (the usual state after compaction) needs no pass.
    /// </summary>
    internal async Task<List<T>> ReadAsync<T, TKey>(SegmentCodec<T> codec, Func<T, TKey> key, IReadOnlyList<SegmentInfo> segments, RowFilter filter, bool rangeReads, CancellationToken cancellationToken)
        where T : class where TKey : notnull
    {
        if (segments.Count == 0) return [];
        var parts = new List<(T Row, long Version)>[segments.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, segments.Count), new ParallelOptions { MaxDegreeOfParallelism = ParallelSegmentReads, CancellationToken = cancellationToken },
            async (i, ct) => parts[i] = await ReadSegmentAsync(codec, segments[i], filter, rangeReads, ct).ConfigureAwait(false)).ConfigureAwait(false);

        if (segments.Count == 1 && segments[0].UniqueKeys) return parts[0].Select(p => p.Row).ToList();
        var rows = new List<T>(parts.Sum(p => p.Count));
        var ranks = new List<(long Version, long Line)>(rows.Capacity);
        var index = new Dictionary<TKey, int>(rows.Capacity);
        foreach (var part in parts)
        {
            foreach (var (row, version) in part)
            {
                var rank = (version, codec.Lineage(row).Line);
                if (index.TryGetValue(key(row), out var at))
                {
                    if (rank.CompareTo(ranks[at]) >= 0)
                    {
                        rows[at] = row;
                        ranks[at] = rank;
                    }
                    continue;
                }
                index[key(row)] = rows.Count;
                rows.Add(row);
                ranks.Add(rank);
            }
        }
        return rows;
    }

    /// <summary>
    /// Latest-wins over segments sorted by <paramref name="compareKey"/>: a k-way merge of their rows. Among the rows of one
    /// key (in several segments, or adjacent in one) the highest (commit version, line) wins, as in <see cref="ReadAsync"/>.
    /// </summary>
    internal async IAsyncEnumerable<T> MergeAsync<T>(SegmentCodec<T> codec, Comparison<T> compareKey, IReadOnlyList<SegmentInfo> segments,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken) where T : class
    {
        var cursors = new List<SegmentCursor<T>>(segments.Count);
        try
        {
            foreach (var segment in segments)
            {
                var cursor = new SegmentCursor<T>(this, codec, segment);
                cursors.Add(cursor);
                if (!await cursor.MoveNextAsync(cancellationToken).ConfigureAwait(false)) cursor.Done = true;
            }
            while (true)
            {
                T? min = null;
                foreach (var c in cursors)
                    if (!c.Done && (min is null || compareKey(c.Row, min) < 0)) min = c.Row;
                if (min is null) yield break;
                T best = min;
                (long Version, long Line) bestRank = (long.MinValue, long.MinValue);
                foreach (var c in cursors)
                {
                    while (!c.Done && compareKey(c.Row, min) == 0)
                    {
                        var rank = (c.Version, codec.Lineage(c.Row).Line);
                        if (rank.CompareTo(bestRank) >= 0) (best, bestRank) = (c.Row, rank);
                        if (!await c.MoveNextAsync(cancellationToken).ConfigureAwait(false)) c.Done = true;
                    }
                }
                yield return best;
            }
        }
        finally
        {
            foreach (var c in cursors) await c.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads one segment a row group at a time (range reads), for <see cref="MergeAsync"/>.</summary>
    private sealed class SegmentCursor<T>(RecordSnapshot snapshot, SegmentCodec<T> codec, SegmentInfo segment) : IAsyncDisposable where T : class
    {
        private readonly List<(T Row, long Version)> _group = [];
        private ParquetReader? _reader;
        private IngestionResolver? _ingestions;
        private int _nextGroup;
        private int _index = -1;

        public bool Done { get; set; }
        public T Row => _group[_index].Row;
        public long Version => _group[_index].Version;

        public async Task<bool> MoveNextAsync(CancellationToken cancellationToken)
        {
            if (++_index < _group.Count) return true;
            try
            {
                if (_reader is null)
                {
                    var blob = snapshot._log.Container.GetBlobClient(segment.Path);
                    var stream = await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = 256 * 1024 }, cancellationToken).ConfigureAwait(false);
                    _reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: false, cancellationToken: cancellationToken).ConfigureAwait(false);
                    _ingestions = new IngestionResolver(snapshot._state.Ingestions);
                }
                while (_nextGroup < _reader.RowGroupCount)
                {
                    _group.Clear();
                    _index = 0;
                    using var group = _reader.OpenRowGroupReader(_nextGroup++);
                    await codec.ReadRowGroupAsync(group, _ingestions!, RowFilter.All, (row, version) => _group.Add((row, version)), cancellationToken).ConfigureAwait(false);
                    if (_group.Count > 0) return true;
                }
                return false;
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw snapshot.Unavailable(segment, e);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_reader is not null) await _reader.DisposeAsync().ConfigureAwait(false);
        }
    }

    private RecordsUnavailableException Unavailable(SegmentInfo segment, Exception inner) => new(
        $"Records version {Version} can no longer be read: its segment '{segment.Path}' is gone. Segments a compaction replaced are kept " +
        $"for {_log.Options.Retention.TotalDays:0.#} days (RecordStoreOptions.Retention); read a later version (recalculate) instead.", inner);

    private async Task<List<(T Row, long Version)>> ReadSegmentAsync<T>(SegmentCodec<T> codec, SegmentInfo segment, RowFilter filter, bool rangeReads, CancellationToken cancellationToken)
        where T : class
    {
        var blob = _log.Container.GetBlobClient(segment.Path);
        var rows = new List<(T, long)>(filter.Tenant is null ? (int)Math.Min(segment.Rows, 1 << 20) : 64);
        try
        {
            Stream stream = rangeReads
                ? await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = 256 * 1024 }, cancellationToken).ConfigureAwait(false)
                : (await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content.ToStream();
            await using var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            var ingestions = new IngestionResolver(_state.Ingestions);
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                await codec.ReadRowGroupAsync(group, ingestions, filter, (row, version) => rows.Add((row, version)), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw Unavailable(segment, e);
        }
        return rows;
    }
}

/// <summary>The records of one customer tenant.</summary>
public sealed record TenantRecords(List<UsageRecord> Usage, List<Association> Associations, List<DporEvent> DporEvents);
