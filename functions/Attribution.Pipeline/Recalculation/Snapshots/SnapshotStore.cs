using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Pipeline.Storage;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Attribution.Pipeline.Recalculation.Snapshots;

/// <summary>What a run read and how it is split; written once by Begin (a retried Begin keeps the first).</summary>
public sealed record RunManifest(
    string RunId,
    YearMonth AsOf,
    string? Scenario,
    string RulesHash,
    string RulesVersion,
    long RecordsVersion,
    IReadOnlyList<string> IngestionIds,
    int Shards,
    int ReduceRanges,
    int PublishRanges);

/// <summary>
/// A run's files in the `recalculations` container:
/// <code>
/// {runId}/manifest.json                                    what the run read (records version, ingestions, rules hash, ranges)
/// {runId}/snapshot/{table}/r{range:000}/{part}.parquet     the run's complete results, split by publish range
/// {runId}/snapshot/evidence/r{range:000}/k{reduce:000}.bin the explanation index (<see cref="EvidenceIndexStore"/>)
/// {runId}/partials/r{reduceRange:000}/s{shard:000}.json    per-partner partials, from shard to reduce (dropped after publish)
/// rules/{sha256}.json                                      rules by content hash
/// </code>
/// `{part}` is the writer: `k{reduceRange}` for every table (the shards route their tenant-level rows to the reduce range
/// of each row's partition, so a run writes one file per publish range per table, not one per shard × publish range);
/// `s{shard}` in runs begun before that (SubscriptionPartners, IncentiveEligibility, PartnerSubscriptions). Every file is written whole by one idempotent step
/// with a deterministic name, so a retried step overwrites it with the same content.
/// </summary>
/// <summary>
/// What a shard sends one reduce range: its per-partner partials, and (<see cref="Routed"/>) the tenant-level rows whose
/// table partition falls in that range — SubscriptionPartners, IncentiveEligibility and ScoreCustomers in
/// <see cref="Credit"/> — and the explanation chunks of its partners, which the reduce writes into the snapshot.
/// <see cref="PartnerIndex"/> (partner → tenant rows) is sent only by runs begun before the explanation index.
/// </summary>
internal sealed record ReducePartial
{
    public ShardCredit Credit { get; init; } = new();
    public IReadOnlyList<SubscriptionPartnerRow> PartnerIndex { get; init; } = [];
    public bool Routed { get; init; }

    /// <summary>The explanation index's chunks of the range's location partners (binary: carried after the JSON).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<EvidenceChunk> Evidence { get; init; } = [];
}

/// <summary>A certification and the global partner its location rolls up to (a reduce range's input for the scores).</summary>
internal sealed record RangeCertification(long GlobalPartnerId, CertificationRecord Certification);

internal sealed class SnapshotStore(StorageAccount storage)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private BlobContainerClient Container => storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer);

    public static string ManifestBlob(string runId) => $"{runId}/manifest.json";

    public static string RangePrefix(string runId, string table, int range) =>
        string.Create(CultureInfo.InvariantCulture, $"{runId}/snapshot/{table}/r{range:D3}/");

    public static string SnapshotBlob(string runId, string table, int range, string part) => $"{RangePrefix(runId, table, range)}{part}.parquet";

    public static string PartialBlob(string runId, int reduceRange, int shard) =>
        string.Create(CultureInfo.InvariantCulture, $"{runId}/partials/r{reduceRange:D3}/s{shard:D3}.json");

    public static string ShardPart(int shard) => string.Create(CultureInfo.InvariantCulture, $"s{shard:D3}");

    public static string ReducePart(int range) => string.Create(CultureInfo.InvariantCulture, $"k{range:D3}");

    // ---- manifest

    /// <summary>Writes the manifest unless one exists; returns the stored one (so a retried Begin keeps what the first read).</summary>
    public async Task<RunManifest> WriteManifestOnceAsync(RunManifest manifest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var blob = Container.GetBlobClient(ManifestBlob(manifest.RunId));
        try
        {
            await blob.UploadAsync(BinaryData.FromObjectAsJson(manifest, Json), overwrite: false, cancellationToken).ConfigureAwait(false);
            return manifest;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return await ReadManifestAsync(manifest.RunId, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The manifest of run {manifest.RunId} vanished while it was written.");
        }
    }

    public async Task<RunManifest?> ReadManifestAsync(string runId, CancellationToken cancellationToken = default)
    {
        try
        {
            var content = await Container.GetBlobClient(ManifestBlob(runId)).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return content.Value.Content.ToObjectFromJson<RunManifest>(Json);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    // ---- snapshot tables

    /// <summary>
    /// Writes one writer's rows of a table into the run's snapshot: one Parquet file per publish range that has rows,
    /// sorted by PartitionKey then RowKey. Returns the rows written.
    /// </summary>
    public async Task<long> WriteAsync(string runId, SnapshotSchema schema, string part, IEnumerable<TableEntity> rows, int publishRanges, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var byRange = new Dictionary<int, List<TableEntity>>();
        foreach (var row in rows)
        {
            var range = PartitionRanges.Of(row.PartitionKey, publishRanges);
            if (!byRange.TryGetValue(range, out var list)) byRange[range] = list = [];
            list.Add(row);
        }
        long written = 0;
        await Parallel.ForEachAsync(byRange, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (kv, ct) =>
        {
            var (range, list) = kv;
            list.Sort(KeyOrder);
            var bytes = await ParquetRows.EncodeAsync(schema, list, ct).ConfigureAwait(false);
            await Container.GetBlobClient(SnapshotBlob(runId, schema.Table, range, part)).UploadAsync(BinaryData.FromBytes(bytes), overwrite: true, ct).ConfigureAwait(false);
            Interlocked.Add(ref written, list.Count);
        }).ConfigureAwait(false);
        return written;
    }

    /// <summary>Orders rows as a table does: PartitionKey, then RowKey (ordinal).</summary>
    public static int KeyOrder(TableEntity a, TableEntity b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var x = string.CompareOrdinal(a.PartitionKey, b.PartitionKey);
        return x != 0 ? x : string.CompareOrdinal(a.RowKey, b.RowKey);
    }

    /// <summary>Every row of one publish range of a table in a run's snapshot, sorted by key.</summary>
    public async Task<List<TableEntity>> ReadRangeAsync(string runId, SnapshotSchema schema, int range, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var names = new List<string>();
        await foreach (var blob in Container.GetBlobsAsync(BlobTraits.None, BlobStates.None, RangePrefix(runId, schema.Table, range), cancellationToken).ConfigureAwait(false))
            names.Add(blob.Name);
        names.Sort(StringComparer.Ordinal);
        var files = await Task.WhenAll(names.Select(async name =>
        {
            var content = await Container.GetBlobClient(name).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            using var stream = content.Value.Content.ToStream();
            return await ParquetRows.DecodeAsync(schema, stream, cancellationToken).ConfigureAwait(false);
        })).ConfigureAwait(false);
        var rows = new List<TableEntity>(files.Sum(f => f.Count));
        foreach (var f in files) rows.AddRange(f);
        rows.Sort(KeyOrder);
        return rows;
    }

    /// <summary>The rows of one table partition (e.g. a partner's PartnerCredit): reads only that partition's range.</summary>
    public async Task<List<TableEntity>> ReadPartitionAsync(string runId, SnapshotSchema schema, string partitionKey, int publishRanges, CancellationToken cancellationToken = default)
    {
        var rows = await ReadRangeAsync(runId, schema, PartitionRanges.Of(partitionKey, publishRanges), cancellationToken).ConfigureAwait(false);
        return rows.Where(r => r.PartitionKey == partitionKey).ToList();
    }

    /// <summary>Every row of a table in a run's snapshot, one range at a time.</summary>
    public async IAsyncEnumerable<TableEntity> ReadAllAsync(string runId, SnapshotSchema schema, int publishRanges, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var range = 0; range < publishRanges; range++)
            foreach (var row in await ReadRangeAsync(runId, schema, range, cancellationToken).ConfigureAwait(false))
                yield return row;
    }

    // ---- shard → reduce partials

    /// <summary>
    /// A partial is its JSON, then (when it carries explanation chunks) the chunks as <c>partner (int64) · rows (int32) ·
    /// length (int32) · bytes</c>, then their total length (int64) and <c>AXEP</c>: binary, so the index's bytes are not
    /// inflated and re-parsed as JSON text.
    /// </summary>
    public async Task WritePartialAsync(string runId, int reduceRange, int shard, ReducePartial partial, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partial);
        var json = JsonSerializer.SerializeToUtf8Bytes(partial, Json);
        var evidence = partial.Evidence.Sum(c => 16L + c.Bytes.Length);
        var content = json;
        if (evidence > 0)
        {
            content = new byte[checked(json.Length + (int)evidence + 12)];
            json.CopyTo(content, 0);
            var at = json.Length;
            foreach (var c in partial.Evidence)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(content.AsSpan(at), c.PartnerId);
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(content.AsSpan(at + 8), c.Rows);
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(content.AsSpan(at + 12), c.Bytes.Length);
                c.Bytes.CopyTo(content, at + 16);
                at += 16 + c.Bytes.Length;
            }
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(content.AsSpan(at), evidence);
            PartialTrailer.CopyTo(content.AsSpan(at + 8));
        }
        await Container.GetBlobClient(PartialBlob(runId, reduceRange, shard))
            .UploadAsync(BinaryData.FromBytes(content), overwrite: true, cancellationToken).ConfigureAwait(false);
    }

    private static ReadOnlySpan<byte> PartialTrailer => "AXEP"u8;

    /// <summary>Splits a partial into its JSON and its explanation chunks (none in a partial without the trailer).</summary>
    private static (ReadOnlyMemory<byte> Json, List<EvidenceChunk> Evidence) SplitPartial(ReadOnlyMemory<byte> content, string what)
    {
        var span = content.Span;
        if (span.Length < 12 || !span[^4..].SequenceEqual(PartialTrailer)) return (content, []);
        var length = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(span[^12..]);
        if (length < 0 || length > span.Length - 12) throw new InvalidDataException($"{what} has a damaged explanation trailer.");
        var start = span.Length - 12 - (int)length;
        var chunks = new List<EvidenceChunk>();
        for (var at = start; at < span.Length - 12;)
        {
            if (span.Length - 12 - at < 16) throw new InvalidDataException($"{what} has a damaged explanation chunk.");
            var partner = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
            var rows = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(span[(at + 8)..]);
            var bytes = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(span[(at + 12)..]);
            if (bytes < 0 || bytes > span.Length - 12 - at - 16) throw new InvalidDataException($"{what} has a damaged explanation chunk.");
            chunks.Add(new EvidenceChunk(partner, span.Slice(at + 16, bytes).ToArray(), rows));
            at += 16 + bytes;
        }
        return (content[..start], chunks);
    }

    public static string CertificationsBlob(string runId, int reduceRange) =>
        string.Create(CultureInfo.InvariantCulture, $"{runId}/partials/certifications/r{reduceRange:D3}.json");

    /// <summary>One reduce range's certifications with their global partner (written once by Begin, dropped with the partials).</summary>
    public async Task WriteCertificationsAsync(string runId, int reduceRange, IReadOnlyList<RangeCertification> certifications, CancellationToken cancellationToken = default) =>
        await Container.GetBlobClient(CertificationsBlob(runId, reduceRange))
            .UploadAsync(BinaryData.FromObjectAsJson(certifications, Json), overwrite: true, cancellationToken).ConfigureAwait(false);

    /// <summary>Null when the run has no such file (a run begun before Begin wrote them).</summary>
    public async Task<List<RangeCertification>?> ReadCertificationsAsync(string runId, int reduceRange, CancellationToken cancellationToken = default)
    {
        try
        {
            var content = await Container.GetBlobClient(CertificationsBlob(runId, reduceRange)).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return content.Value.Content.ToObjectFromJson<List<RangeCertification>>(Json) ?? [];
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<ReducePartial> ReadPartialAsync(string runId, int reduceRange, int shard, CancellationToken cancellationToken = default)
    {
        var download = await Container.GetBlobClient(PartialBlob(runId, reduceRange, shard)).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
        var (json, evidence) = SplitPartial(download.Value.Content.ToMemory(), $"Partial r{reduceRange}/s{shard} of run {runId}");
        // A partial of a run begun before the tenant-level rows travelled to the reduces is the bare ShardCredit (its
        // shard wrote those rows into the snapshot itself); a ReducePartial is serialized with `credit` first. Looking
        // at the first bytes, not parsing the document twice: a reduce holds every shard's partial at once.
        if (!json.Span.StartsWith("{\"credit\""u8))
            return new ReducePartial { Credit = JsonSerializer.Deserialize<ShardCredit>(json.Span, Json) ?? throw new InvalidDataException($"Partial r{reduceRange}/s{shard} of run {runId} is empty.") };
        return (JsonSerializer.Deserialize<ReducePartial>(json.Span, Json)
            ?? throw new InvalidDataException($"Partial r{reduceRange}/s{shard} of run {runId} is empty.")) with { Evidence = evidence };
    }

    // ---- clean-up

    /// <summary>True when the run has a snapshot under this layout (its manifest exists; deletion removes it first).</summary>
    public async Task<bool> ExistsAsync(string runId, CancellationToken cancellationToken = default) =>
        (await Container.GetBlobClient(ManifestBlob(runId)).ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;

    /// <summary>Drops the reduce partials of a run (not needed once its snapshot is complete).</summary>
    public Task DeletePartialsAsync(string runId, CancellationToken cancellationToken = default) => DeletePrefixAsync($"{runId}/partials/", cancellationToken);

    /// <summary>
    /// Drops everything of a run: manifest, snapshot, partials. The manifest goes first, so a run whose deletion has
    /// begun (or died half-way) is never taken for a whole snapshot: readers check the manifest before and after they
    /// read. The clean-up retries what is left (it deletes every finished run it does not keep, each time it runs).
    /// </summary>
    public async Task DeleteRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        await Container.DeleteBlobIfExistsAsync(ManifestBlob(runId), cancellationToken: cancellationToken).ConfigureAwait(false);
        await DeletePrefixAsync($"{runId}/partials/", cancellationToken).ConfigureAwait(false);
        await DeletePrefixAsync($"{runId}/snapshot/", cancellationToken).ConfigureAwait(false);
        await DeletePrefixAsync($"{runId}/shards/", cancellationToken).ConfigureAwait(false); // the layout before snapshots
    }

    private async Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        await foreach (var blob in Container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken).ConfigureAwait(false))
            names.Add(blob.Name);
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (name, ct) =>
            await Container.DeleteBlobIfExistsAsync(name, cancellationToken: ct).ConfigureAwait(false)).ConfigureAwait(false);
    }
}
