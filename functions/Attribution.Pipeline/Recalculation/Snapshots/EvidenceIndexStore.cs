using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using Attribution.Domain.Credit;
using Attribution.Pipeline.Storage;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Attribution.Pipeline.Recalculation.Snapshots;

/// <summary>What the explanation index holds for a partner.</summary>
internal abstract record EvidenceLookup
{
    /// <summary>The run has no explanation index (begun before it existed): explain from the records.</summary>
    public sealed record NoIndex : EvidenceLookup;

    /// <summary>The run credited the partner on nothing.</summary>
    public sealed record NotCredited : EvidenceLookup;

    /// <summary>The partner's section: its chunks from every shard, each prefixed by its int32 length.</summary>
    public sealed record Found(ReadOnlyMemory<byte> Section, int Rows) : EvidenceLookup;
}

/// <summary>
/// The run's explanation index in blob storage: one file per (publish range, reduce range) of the partners' partition
/// keys, written whole by the reduce that owns the partners (so a run's files grow with ranges, not shards × ranges):
/// <code>
/// {runId}/snapshot/evidence/r{publishRange:000}/k{reduceRange:000}.bin
///   "AXE1" · header length (int32) · header: partnerCount · per partner (by id): id · offset · length · rows (varints)
///   · sections: per partner, its shards' chunks (<see cref="EvidenceIndex"/>), each prefixed by its int32 length
/// </code>
/// A reader fetches the file's first 64 KiB (the header, and the whole file when it is small), then the partner's
/// section by range: one partner range, no records, nothing re-run. Files of a run never change, so headers are cached.
/// </summary>
internal sealed class EvidenceIndexStore(StorageAccount storage)
{
    private static ReadOnlySpan<byte> Magic => "AXE1"u8;
    private const int FirstRead = 64 * 1024;
    private const int CachedHeaders = 512;

    // Headers of immutable files, by blob name; cleared when it grows past the cap (a reader's working set is small).
    private static readonly ConcurrentDictionary<string, Header> Headers = new(StringComparer.Ordinal);

    private BlobContainerClient Container => storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer);

    public static string Prefix(string runId) => $"{runId}/snapshot/evidence/";

    public static string Blob(string runId, int publishRange, int reduceRange) =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix(runId)}r{publishRange:D3}/k{reduceRange:D3}.bin");

    /// <summary>Figures of what a reduce wrote.</summary>
    public readonly record struct Written(int Files, long Bytes, int Partners, long Rows);

    /// <summary>
    /// Writes a reduce range's index: its partners' chunks (given in shard order, which each section keeps) grouped by
    /// partner, one file per publish range. Idempotent: a retried reduce rewrites the same bytes.
    /// </summary>
    public async Task<Written> WriteAsync(string runId, int reduceRange, int publishRanges, IEnumerable<EvidenceChunk> chunks, CancellationToken cancellationToken = default)
    {
        var byPartner = new SortedDictionary<long, List<EvidenceChunk>>();
        foreach (var c in chunks)
        {
            if (!byPartner.TryGetValue(c.PartnerId, out var list)) byPartner[c.PartnerId] = list = [];
            list.Add(c);
        }
        var files = byPartner.GroupBy(kv => PartitionRanges.OfPartner(kv.Key, publishRanges)).ToList();
        long bytes = 0, rows = 0;
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (file, ct) =>
        {
            var content = Encode(file.Select(kv => (kv.Key, (IReadOnlyList<EvidenceChunk>)kv.Value)).ToList());
            await Container.GetBlobClient(Blob(runId, file.Key, reduceRange)).UploadAsync(BinaryData.FromBytes(content), overwrite: true, ct).ConfigureAwait(false);
            Interlocked.Add(ref bytes, content.Length);
        }).ConfigureAwait(false);
        foreach (var list in byPartner.Values) foreach (var c in list) rows += c.Rows;
        return new Written(files.Count, bytes, byPartner.Count, rows);
    }

    private static byte[] Encode(List<(long Partner, IReadOnlyList<EvidenceChunk> Chunks)> partners)
    {
        var header = new EvidenceIndex.Writer();
        header.Varint((ulong)partners.Count);
        long offset = 0;
        foreach (var (partner, chunks) in partners)
        {
            var length = chunks.Sum(c => 4L + c.Bytes.Length);
            header.Varint(partner);
            header.Varint(offset);
            header.Varint(length);
            header.Varint((ulong)chunks.Sum(c => c.Rows));
            offset += length;
        }
        var content = new byte[checked(8 + header.Length + (int)offset)];
        Magic.CopyTo(content);
        BinaryPrimitives.WriteInt32LittleEndian(content.AsSpan(4), header.Length);
        header.Written.CopyTo(content.AsSpan(8));
        var at = 8 + header.Length;
        foreach (var (_, chunks) in partners)
        {
            foreach (var c in chunks)
            {
                BinaryPrimitives.WriteInt32LittleEndian(content.AsSpan(at), c.Bytes.Length);
                c.Bytes.CopyTo(content, at + 4);
                at += 4 + c.Bytes.Length;
            }
        }
        return content;
    }

    /// <summary>A partner's section of a run's index: one or two range reads of one file.</summary>
    public async Task<EvidenceLookup> ReadAsync(string runId, long partnerId, int publishRanges, int reduceRanges, CancellationToken cancellationToken = default)
    {
        if (publishRanges < 1 || reduceRanges < 1) return new EvidenceLookup.NoIndex();
        var name = Blob(runId, PartitionRanges.OfPartner(partnerId, publishRanges), PartitionRanges.OfPartner(partnerId, reduceRanges));
        var blob = Container.GetBlobClient(name);
        var key = blob.Uri.AbsoluteUri; // the account's too: run ids are unique, accounts (tests' emulators) are not
        ReadOnlyMemory<byte> first = default;
        if (!Headers.TryGetValue(key, out var header))
        {
            try
            {
                first = (await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(0, FirstRead) }, cancellationToken).ConfigureAwait(false)).Value.Content.ToMemory();
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                return await HasIndexAsync(runId, cancellationToken).ConfigureAwait(false) ? new EvidenceLookup.NotCredited() : new EvidenceLookup.NoIndex();
            }
            if (first.Length < 8 || !first.Span.StartsWith(Magic)) throw new InvalidDataException($"The explanation index file {name} is not one.");
            var headerLength = BinaryPrimitives.ReadInt32LittleEndian(first.Span[4..]);
            if (headerLength < 0) throw new InvalidDataException($"The explanation index file {name} has a damaged header.");
            var headerBytes = 8L + headerLength <= first.Length ? first.Slice(8, headerLength)
                : (await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(8, headerLength) }, cancellationToken).ConfigureAwait(false)).Value.Content.ToMemory();
            header = Header.Parse(headerBytes, 8 + headerLength, name);
            if (Headers.Count >= CachedHeaders) Headers.Clear();
            Headers[key] = header;
        }
        if (!header.Partners.TryGetValue(partnerId, out var entry)) return new EvidenceLookup.NotCredited();
        var start = header.DataStart + entry.Offset;
        if (start + entry.Length <= first.Length) return new EvidenceLookup.Found(first.Slice((int)start, (int)entry.Length), entry.Rows);
        ReadOnlyMemory<byte> section;
        try
        {
            section = (await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(start, entry.Length) }, cancellationToken).ConfigureAwait(false)).Value.Content.ToMemory();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // The header was cached and the run's files have since been cleaned up.
            Headers.TryRemove(key, out _);
            throw new Reading.SnapshotUnavailableException($"The explanation index of run {runId} is gone (the run was cleaned up): read the published run again.");
        }
        if (section.Length != entry.Length) throw new InvalidDataException($"The explanation index file {name} is shorter than its header says.");
        return new EvidenceLookup.Found(section, entry.Rows);
    }

    private async Task<bool> HasIndexAsync(string runId, CancellationToken cancellationToken)
    {
        await foreach (var _ in Container.GetBlobsAsync(BlobTraits.None, BlobStates.None, Prefix(runId), cancellationToken).ConfigureAwait(false))
            return true;
        return false;
    }

    private readonly record struct Entry(long Offset, long Length, int Rows);

    private sealed record Header(Dictionary<long, Entry> Partners, long DataStart)
    {
        public static Header Parse(ReadOnlyMemory<byte> bytes, long dataStart, string name)
        {
            try
            {
                var span = bytes.Span;
                var at = 0;
                ulong Next() => EvidenceIndex.ReadVarint(bytes.Span, ref at);
                var count = checked((int)Next());
                if (count > span.Length / 4) throw new InvalidDataException("more partners than the header holds"); // 4 varints each
                var partners = new Dictionary<long, Entry>(count);
                for (var i = 0; i < count; i++)
                {
                    var id = checked((long)Next());
                    partners[id] = new Entry(checked((long)Next()), checked((long)Next()), checked((int)Next()));
                }
                return at == span.Length ? new Header(partners, dataStart) : throw new InvalidDataException("bytes after the header");
            }
            catch (Exception e) when (e is OverflowException or InvalidDataException)
            {
                throw new InvalidDataException($"The explanation index file {name} has a damaged header ({e.Message}).", e);
            }
        }
    }
}
