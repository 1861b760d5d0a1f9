using System.Globalization;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Azure;
using Azure.Storage.Blobs.Models;
using Parquet;

namespace Attribution.Pipeline.Storage;

/// <summary>
/// What an ingestion writes its records through: the normalizer adds a row's records, the ingestor then accepts or
/// discards them (a row may turn out rejected), flushes, and commits once. Nothing is visible before the commit.
/// </summary>
internal interface IRecordBatch : IFeedRecordSink, IAsyncDisposable
{
    /// <summary>The records added since the last call belong to an accepted row.</summary>
    ValueTask AcceptAsync(CancellationToken cancellationToken);

    /// <summary>Drops the records added since the last call (the row was rejected).</summary>
    void Discard();

    /// <summary>Writes every buffered record out as segments; nothing is visible yet.</summary>
    Task<IReadOnlyList<SegmentInfo>> FlushAsync(CancellationToken cancellationToken);

    /// <summary>Makes every segment visible at once, as one commit naming the ingestion.</summary>
    Task<RecordCommit> CommitAsync(FeedSource source, CommitRows rows, CancellationToken cancellationToken);
}

/// <summary>A committed ingestion: its version, the state right after it, and the segments it added.</summary>
internal sealed record RecordCommit(long Version, RecordState State, IReadOnlyList<SegmentInfo> Added);

/// <summary>
/// Buffers records per (kind, bucket) and writes each buffer as a Parquet segment part, sorted by tenant and natural key
/// and de-duplicated within the part (the later line wins). Memory stays flat for files larger than memory: when more
/// than <see cref="RecordStoreOptions.MaxBufferedRows"/> are held, the largest buffers are written out as further parts
/// until half the cap is left. Parts encode and upload on the thread pool, a bounded number at a time, while the
/// caller keeps parsing.
/// </summary>
internal sealed class SegmentWriter : IRecordBatch
{
    private readonly RecordLog _log;
    private readonly string _ingestionId;
    private readonly string _attempt = Guid.NewGuid().ToString("N")[..8];
    private readonly int _bucketCount;
    private readonly KindBuffer<UsageRecord> _usage;
    private readonly KindBuffer<Association> _associations;
    private readonly KindBuffer<DporEvent> _dpor;
    private readonly KindBuffer<PartnerRow> _partners;
    private readonly KindBuffer<CertificationRecord> _certifications;
    private readonly List<object> _pending = new(4);
    private readonly List<Task<SegmentInfo>> _inFlight = [];
    private readonly List<SegmentInfo> _written = [];
    private long _buffered;

    private SegmentWriter(RecordLog log, string ingestionId, int bucketCount)
    {
        _log = log;
        _ingestionId = ingestionId;
        _bucketCount = bucketCount;
        _usage = new(UsageCodec.Instance, bucketCount);
        _associations = new(AssociationCodec.Instance, bucketCount);
        _dpor = new(DporCodec.Instance, bucketCount);
        _partners = new(PartnerCodec.Instance, 1);
        _certifications = new(CertificationCodec.Instance, 1);
    }

    public static async Task<SegmentWriter> CreateAsync(RecordLog log, string ingestionId, CancellationToken cancellationToken)
    {
        var metadata = await log.MetadataAsync(cancellationToken).ConfigureAwait(false);
        return new SegmentWriter(log, ingestionId, metadata.BucketCount);
    }

    public void Add(PartnerRecord partner, FeedLineage lineage) => _pending.Add(new PartnerRow(partner, lineage));
    public void Add(DporEvent dporEvent) => _pending.Add(dporEvent);
    public void Add(Association association) => _pending.Add(association);
    public void Add(UsageRecord usage) => _pending.Add(usage);
    public void Add(CertificationRecord certification) => _pending.Add(certification);

    public void Discard() => _pending.Clear();

    public ValueTask AcceptAsync(CancellationToken cancellationToken)
    {
        foreach (var record in _pending)
        {
            switch (record)
            {
                case UsageRecord u: _usage.Add(u, RecordBuckets.Of(u.CustomerTenantId, _bucketCount)); break;
                case Association a: _associations.Add(a, RecordBuckets.Of(a.CustomerTenantId, _bucketCount)); break;
                case DporEvent d: _dpor.Add(d, RecordBuckets.Of(d.CustomerTenantId, _bucketCount)); break;
                case PartnerRow p: _partners.Add(p, 0); break;
                case CertificationRecord c: _certifications.Add(c, 0); break;
            }
        }
        _buffered += _pending.Count;
        _pending.Clear();
        return _buffered > _log.Options.MaxBufferedRows ? new ValueTask(SpillAsync(cancellationToken)) : ValueTask.CompletedTask;
    }

    /// <summary>Writes out the largest buffers until half the cap is left: few, large parts rather than many small ones.</summary>
    private async Task SpillAsync(CancellationToken cancellationToken)
    {
        var sizes = new List<(IKindBuffer Buffer, int Bucket, int Count)>();
        foreach (var buffer in Buffers())
            for (var b = 0; b < buffer.BucketCount; b++)
                if (buffer.CountOf(b) > 0) sizes.Add((buffer, b, buffer.CountOf(b)));
        foreach (var (buffer, bucket, _) in sizes.OrderByDescending(s => s.Count))
        {
            if (_buffered <= _log.Options.MaxBufferedRows / 2) break;
            await StartPartAsync(buffer, bucket, cancellationToken).ConfigureAwait(false);
        }
    }

    private IEnumerable<IKindBuffer> Buffers() => [_usage, _associations, _dpor, _partners, _certifications];

    private async Task StartPartAsync(IKindBuffer buffer, int bucket, CancellationToken cancellationToken)
    {
        while (_inFlight.Count >= _log.Options.MaxUploadsInFlight)
        {
            var done = await Task.WhenAny(_inFlight).ConfigureAwait(false);
            _inFlight.Remove(done);
            _written.Add(await done.ConfigureAwait(false)); // a failed upload surfaces now
        }
        _buffered -= buffer.CountOf(bucket);
        var path = SegmentPath(buffer.Kind, bucket, _ingestionId + "-" + _attempt + "-" + buffer.NextPart(bucket).ToString(CultureInfo.InvariantCulture));
        var part = buffer.Take(bucket);
        _inFlight.Add(Task.Run(() => part(_log, path, cancellationToken), cancellationToken));
    }

    /// <summary>`{kind}/b{bucket:D4}/{name}.parquet`, or `{kind}/{name}.parquet` for the partner-level kinds.</summary>
    public static string SegmentPath(RecordKind kind, int bucket, string name) =>
        kind.IsBucketed()
            ? string.Create(CultureInfo.InvariantCulture, $"{kind.Folder()}/b{bucket:D4}/{name}.parquet")
            : $"{kind.Folder()}/{name}.parquet";

    public async Task<IReadOnlyList<SegmentInfo>> FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var buffer in Buffers())
            for (var b = 0; b < buffer.BucketCount; b++)
                if (buffer.CountOf(b) > 0) await StartPartAsync(buffer, b, cancellationToken).ConfigureAwait(false);
        var all = _inFlight.ToArray();
        _inFlight.Clear();
        _written.AddRange(await Task.WhenAll(all).ConfigureAwait(false));
        return _written;
    }

    public async Task<RecordCommit> CommitAsync(FeedSource source, CommitRows rows, CancellationToken cancellationToken)
    {
        var draft = new CommitEntry
        {
            Operation = CommitEntry.Ingest,
            IngestionId = _ingestionId,
            Source = source.Name(),
            Rows = rows,
            Add = [.. _written.OrderBy(s => s.Path, StringComparer.Ordinal)],
        };
        // An ingestion id commits once (a message redelivered after its commit must not add its records again).
        var (version, state) = await _log.CommitAsync(draft,
            state => state.Ingestions.ContainsKey(_ingestionId) ? $"Ingestion {_ingestionId} is already committed." : null,
            cancellationToken).ConfigureAwait(false);
        return new RecordCommit(version, state, draft.Add);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Task.WhenAll(_inFlight).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Observed by FlushAsync when the caller got that far; an unfinished part is invisible garbage either way.
        }
    }

    private interface IKindBuffer
    {
        RecordKind Kind { get; }
        int BucketCount { get; }
        int CountOf(int bucket);
        int NextPart(int bucket);

        /// <summary>Hands the bucket's rows to a part writer and starts a new buffer.</summary>
        Func<RecordLog, string, CancellationToken, Task<SegmentInfo>> Take(int bucket);
    }

    private sealed class KindBuffer<T>(SegmentCodec<T> codec, int buckets) : IKindBuffer where T : class
    {
        private readonly List<T>?[] _rows = new List<T>?[buckets];
        private readonly int[] _parts = new int[buckets];

        public RecordKind Kind => codec.Kind;
        public int BucketCount => buckets;
        public int CountOf(int bucket) => _rows[bucket]?.Count ?? 0;
        public int NextPart(int bucket) => _parts[bucket]++;

        public void Add(T record, int bucket) => (_rows[bucket] ??= []).Add(record);

        public Func<RecordLog, string, CancellationToken, Task<SegmentInfo>> Take(int bucket)
        {
            var rows = _rows[bucket]!;
            _rows[bucket] = null;
            var b = Kind.IsBucketed() ? bucket : -1;
            return (log, path, ct) => SegmentFiles.WriteAsync(log, codec, rows, path, b, dedupe: true, ct);
        }
    }
}

/// <summary>Encoding and uploading one segment; shared by ingestion parts and compaction.</summary>
internal static class SegmentFiles
{
    public static async Task<SegmentInfo> WriteAsync<T>(RecordLog log, SegmentCodec<T> codec, List<T> rows, string path, int bucket, bool dedupe, CancellationToken cancellationToken)
        where T : class
    {
        if (dedupe)
        {
            rows.Sort(codec.Compare);
            // Equal keys are adjacent, the later line last: keep the last of each run (today's upsert semantics).
            var kept = 0;
            for (var i = 0; i < rows.Count; i++)
            {
                if (i + 1 < rows.Count && codec.SameKey(rows[i], rows[i + 1])) continue;
                rows[kept++] = rows[i];
            }
            rows.RemoveRange(kept, rows.Count - kept);
        }
        var groupRows = log.Options.RowGroupRows;
        var stream = new MemoryStream(capacity: Math.Max(4096, rows.Count * 48));
        var buffers = new ColumnBuffers(Math.Min(groupRows, Math.Max(1, rows.Count)));
        await using (var writer = await ParquetWriter.CreateAsync(codec.Schema, stream, new ParquetOptions { CompressionMethod = CompressionMethod.Snappy }, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            writer.CustomMetadata = new Dictionary<string, string> { ["attribution.kind"] = codec.Kind.Folder(), ["attribution.format"] = "1" };
            for (var offset = 0; offset < rows.Count; offset += groupRows)
            {
                using var group = writer.CreateRowGroup();
                await codec.WriteRowGroupAsync(group, rows, offset, Math.Min(groupRows, rows.Count - offset), buffers, cancellationToken).ConfigureAwait(false);
                group.CompleteValidate();
            }
        }
        var length = stream.Length;
        // The name is new (attempt token): If-None-Match:* only guards against a bug ever overwriting a committed segment.
        await log.Container.GetBlobClient(path).UploadAsync(new BinaryData(stream.GetBuffer().AsMemory(0, (int)length)),
            new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken).ConfigureAwait(false);
        return new SegmentInfo(path, codec.Kind, bucket, rows.Count, length, UniqueKeys: dedupe || rows.Count <= 1);
    }
}
