using System.IO.Compression;
using Attribution.Core.Feeds;
using Attribution.Core.Rules;
using Attribution.Core.Storage;

namespace Attribution.Core.Ingestion;

/// <summary>Opens a feed's content; called once per pass, so the content must be readable again (a file, a blob).</summary>
public delegate Task<Stream> FeedContentOpener(CancellationToken cancellationToken);

/// <summary>
/// Ingests one feed file: every row is stored as a canonical record or recorded as rejected.
/// <list type="number">
/// <item>Validation pass: parses the whole stream, hashing it, without writing. A file that fails as a whole
/// (missing or duplicate columns; gzip that is not gzip, truncated, or fails its CRC-32 or length check) fails here, so nothing from it
/// is stored. The gzip checks happen as the stream is read, so this pass must read to the end.</item>
/// <item>Same content (source + SHA-256) already ingested to completion: a Duplicate row, nothing else.</item>
/// <item>Write pass: records upserted by natural key in batches; rejected rows by (ingestion, line). Re-running an
/// interrupted ingestion therefore converges on exactly what a clean run stores.</item>
/// </list>
/// Used by the blob-triggered function and the CLI alike.
/// </summary>
public sealed class FeedIngestor(StorageAccount storage, CreditRules rules, TimeProvider? timeProvider = null)
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly IngestionStore _store = new(storage);

    /// <summary>Parallel batch submissions per table.</summary>
    public int MaxInFlightBatches { get; init; } = 8;

    public Task<FeedIngestionResult> IngestFileAsync(string path, FeedSource source, IProgress<IngestionProgress>? progress = null, CancellationToken cancellationToken = default) =>
        IngestAsync(source, Path.GetFileName(path), _ => Task.FromResult<Stream>(File.OpenRead(path)), new FileInfo(path).Length, progress, cancellationToken);

    public async Task<FeedIngestionResult> IngestAsync(
        FeedSource source,
        string fileName,
        FeedContentOpener open,
        long? totalBytes = null,
        IProgress<IngestionProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        await storage.EnsureCreatedAsync().ConfigureAwait(false);
        var startedAt = _time.GetUtcNow();
        var id = IngestionStore.NewIngestionId(startedAt);
        var result = new FeedIngestionResult(id, source, fileName, null, IngestionStatus.Running, 0, 0, 0, startedAt, null);
        // Recorded before any work so an attempt that dies part-way is visible as Running.
        await _store.SaveAsync(result, cancellationToken).ConfigureAwait(false);

        if (!FeedRowReader.TryDetectFormat(fileName, out var format, out var gzip))
            return await FinishAsync(result with { Status = IngestionStatus.Failed, Error = $"Unsupported file type '{fileName}': expected .csv, .jsonl, .csv.gz or .jsonl.gz." }, cancellationToken).ConfigureAwait(false);

        var normalizer = new FeedRecordNormalizer(source, rules, id, startedAt);

        // Pass 1: validate and hash.
        string sha256;
        string? wholeFileError = null;
        Domain.YearMonth? latestUsage = null;
        await using (var raw = await open(cancellationToken).ConfigureAwait(false))
        {
            var observed = new ObservedStream(raw, hash: true);
            await using (observed.ConfigureAwait(false))
            {
                try
                {
                    using var reader = FeedRowReader.Open(observed, source, format, gzip);
                    var sink = new CountingSink();
                    long rows = 0;
                    while (reader.MoveNext())
                    {
                        normalizer.Normalize(reader, sink);
                        if ((++rows & 0xFFFF) == 0)
                        {
                            cancellationToken.ThrowIfCancellationRequested();
                            progress?.Report(new IngestionProgress(IngestionPhase.Validating, observed.BytesRead, totalBytes, rows));
                        }
                    }
                    latestUsage = sink.LatestUsageMonth;
                }
                catch (Exception e) when (e is FeedFormatException or InvalidDataException)
                {
                    wholeFileError = e is FeedFormatException ? e.Message : $"The file cannot be read: {e.Message}";
                }
                sha256 = observed.FinishHash();
            }
        }
        result = result with { ContentSha256 = sha256, LatestUsageMonth = latestUsage };
        if (wholeFileError is not null)
            return await FinishAsync(result with { Status = IngestionStatus.Failed, Error = wholeFileError }, cancellationToken).ConfigureAwait(false);

        if (await _store.FindCompletedByHashAsync(source, sha256, id, cancellationToken).ConfigureAwait(false) is { } original)
            return await FinishAsync(result with { Status = IngestionStatus.Duplicate, DuplicateOf = original, Error = $"Same content as ingestion {original}; nothing changed." }, cancellationToken).ConfigureAwait(false);

        // Pass 2: write.
        try
        {
            return await WriteAsync(result, source, open, format, gzip, normalizer, totalBytes, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Records written so far stay (they are correct, keyed by natural key); the row says the attempt did not
            // finish, and re-ingesting the same content completes it. Best effort: storage may be what failed.
            try
            {
                await FinishAsync(result with { Status = IngestionStatus.Failed, Error = $"Interrupted while writing ({e.GetType().Name}: {e.Message}); ingest the file again to complete it." }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception saveFailure) when (saveFailure is Azure.RequestFailedException or IOException or System.Net.Http.HttpRequestException or AggregateException)
            {
                // Storage is unreachable; the attempt stays Running, which says the same thing.
            }
            throw;
        }
    }

    private async Task<FeedIngestionResult> WriteAsync(
        FeedIngestionResult result, FeedSource source, FeedContentOpener open, FeedFormat format, bool gzip,
        FeedRecordNormalizer normalizer, long? totalBytes, IProgress<IngestionProgress>? progress, CancellationToken cancellationToken)
    {
        var id = result.IngestionId;
        long total = 0, accepted = 0, rejected = 0;
        var writer = new RecordWriter(storage, MaxInFlightBatches);
        await using (writer.ConfigureAwait(false))
        {
            await using var raw = await open(cancellationToken).ConfigureAwait(false);
            var observed = new ObservedStream(raw, hash: false);
            await using (observed.ConfigureAwait(false))
            {
                using var reader = FeedRowReader.Open(observed, source, format, gzip);
                while (reader.MoveNext())
                {
                    total++;
                    if (normalizer.Normalize(reader, writer) is { } reason)
                    {
                        rejected++;
                        writer.Discard();
                        await writer.AddRejectedAsync(IngestionStore.RejectedEntity(source, id, reader.Line, reason, reader.RawText()), cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        accepted++;
                        await writer.DrainAsync(cancellationToken).ConfigureAwait(false);
                    }
                    if ((total & 0x3FFF) == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        progress?.Report(new IngestionProgress(IngestionPhase.Writing, observed.BytesRead, totalBytes, total));
                    }
                }
                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                progress?.Report(new IngestionProgress(IngestionPhase.Writing, observed.BytesRead, totalBytes, total));
            }
        }

        return await FinishAsync(result with
        {
            Status = rejected == 0 ? IngestionStatus.Succeeded : IngestionStatus.CompletedWithRejections,
            RowsTotal = total,
            RowsAccepted = accepted,
            RowsRejected = rejected,
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<FeedIngestionResult> FinishAsync(FeedIngestionResult result, CancellationToken cancellationToken)
    {
        result = result with { CompletedAt = _time.GetUtcNow() };
        await _store.SaveAsync(result, cancellationToken).ConfigureAwait(false);
        return result;
    }
}
