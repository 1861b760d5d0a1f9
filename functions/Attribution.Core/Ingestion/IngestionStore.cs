using System.Globalization;
using Attribution.Core.Feeds;
using Attribution.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Attribution.Core.Ingestion;

/// <summary>The FeedIngestions and RejectedRecords tables (§4).</summary>
public sealed class IngestionStore(StorageAccount storage)
{
    public const int MaxRawLength = 1024;

    private TableClient Ingestions => storage.Table(TableNames.FeedIngestions);

    public static string NewIngestionId(DateTimeOffset startedAt) =>
        string.Create(CultureInfo.InvariantCulture, $"{startedAt.UtcDateTime:yyyyMMdd'T'HHmmssfff}-{Guid.NewGuid().ToString("N")[..8]}");

    public async Task SaveAsync(FeedIngestionResult r, CancellationToken cancellationToken)
    {
        var e = new TableEntity(r.Source.Name(), r.IngestionId)
        {
            ["fileName"] = r.FileName,
            ["contentSha256"] = r.ContentSha256,
            ["status"] = r.Status.ToString(),
            ["rowsTotal"] = r.RowsTotal,
            ["rowsAccepted"] = r.RowsAccepted,
            ["rowsRejected"] = r.RowsRejected,
            ["startedAt"] = r.StartedAt,
            ["completedAt"] = r.CompletedAt,
            ["error"] = r.Error,
            ["duplicateOf"] = r.DuplicateOf,
        };
        await Ingestions.UpsertEntityAsync(e, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The earlier ingestion that completed with the same content, if any.</summary>
    public async Task<string?> FindCompletedByHashAsync(FeedSource source, string sha256, string exceptIngestionId, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {source.Name()} and contentSha256 eq {sha256}");
        await foreach (var e in Ingestions.QueryAsync<TableEntity>(filter, select: ["RowKey", "status"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (e.RowKey == exceptIngestionId) continue;
            var status = e.GetString("status");
            if (status is nameof(IngestionStatus.Succeeded) or nameof(IngestionStatus.CompletedWithRejections)) return e.RowKey;
        }
        return null;
    }

    /// <summary>Whether a message id was already ingested to completion (Service Bus redelivery or resend).</summary>
    public async Task<FeedIngestionResult?> GetAsync(FeedSource source, string ingestionId, CancellationToken cancellationToken)
    {
        var response = await Ingestions.GetEntityIfExistsAsync<TableEntity>(source.Name(), ingestionId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    public async IAsyncEnumerable<FeedIngestionResult> ListAsync(FeedSource? source, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var filter = source is { } s ? TableClient.CreateQueryFilter($"PartitionKey eq {s.Name()}") : null;
        await foreach (var e in Ingestions.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            yield return FromEntity(e);
    }

    public async IAsyncEnumerable<RejectedRow> RejectedRowsAsync(string ingestionId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {ingestionId}");
        await foreach (var e in storage.Table(TableNames.RejectedRecords).QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            yield return new RejectedRow(e.GetInt64("line") ?? 0, e.GetString("reason") ?? "", e.GetString("raw") ?? "");
    }

    /// <summary>
    /// A page of an ingestion's rejected rows in line order, starting after line <paramref name="afterLine"/>;
    /// <c>NextAfterLine</c> is where the next page starts, or null at the end.
    /// </summary>
    public async Task<(List<RejectedRow> Rows, long? NextAfterLine)> RejectedPageAsync(string ingestionId, long afterLine, int pageSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {ingestionId} and RowKey gt {afterLine.ToString("D10", CultureInfo.InvariantCulture)}");
        var rows = new List<RejectedRow>(Math.Min(pageSize, 1000));
        await foreach (var e in storage.Table(TableNames.RejectedRecords).QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(pageSize + 1, 1000), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (rows.Count == pageSize) return (rows, rows[^1].Line);
            rows.Add(new RejectedRow(e.GetInt64("line") ?? 0, e.GetString("reason") ?? "", e.GetString("raw") ?? ""));
        }
        return (rows, null);
    }

    /// <summary>
    /// A page of FeedIngestions in (source, ingestion id) order — ids start with their start time, so each source's
    /// attempts come oldest first — starting after <paramref name="after"/>; filtered by source and file name.
    /// </summary>
    public async Task<(List<FeedIngestionResult> Rows, (FeedSource Source, string IngestionId)? Next)> PageAsync(
        FeedSource? source, string? fileName, (FeedSource Source, string IngestionId)? after, int pageSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var rows = new List<FeedIngestionResult>(Math.Min(pageSize, 1000));
        foreach (var s in source is { } only ? [only] : FeedSources.All)
        {
            if (after is { } a && s < a.Source) continue;
            var filter = after is { } b && b.Source == s
                ? TableClient.CreateQueryFilter($"PartitionKey eq {s.Name()} and RowKey gt {b.IngestionId}")
                : TableClient.CreateQueryFilter($"PartitionKey eq {s.Name()}");
            if (fileName is not null) filter += " and " + TableClient.CreateQueryFilter($"fileName eq {fileName}");
            await foreach (var e in Ingestions.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(pageSize + 1, 1000), cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (rows.Count == pageSize) return (rows, (rows[^1].Source, rows[^1].IngestionId));
                rows.Add(FromEntity(e));
            }
        }
        return (rows, null);
    }

    /// <summary>An ingestion by id, whatever its source (one point read per source).</summary>
    public async Task<FeedIngestionResult?> FindAsync(string ingestionId, CancellationToken cancellationToken = default)
    {
        var reads = FeedSources.All.Select(s => GetAsync(s, ingestionId, cancellationToken)).ToList();
        foreach (var read in reads)
            if (await read.ConfigureAwait(false) is { } found) return found;
        return null;
    }

    /// <summary>Removes an attempt's rejected rows (one that stored nothing), streaming its partition.</summary>
    public async Task DeleteRejectedAsync(string ingestionId, CancellationToken cancellationToken = default)
    {
        var table = storage.Table(TableNames.RejectedRecords);
        var deletes = new TableBatchWriter(table);
        await using (deletes.ConfigureAwait(false))
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {ingestionId}");
            await foreach (var e in table.QueryAsync<TableEntity>(filter, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
                await deletes.DeleteAsync(ingestionId, e.RowKey, cancellationToken).ConfigureAwait(false);
            await deletes.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public static TableEntity RejectedEntity(FeedSource source, string ingestionId, long line, string reason, string raw) =>
        new(ingestionId, line.ToString("D10", CultureInfo.InvariantCulture))
        {
            ["source"] = source.Name(),
            ["line"] = line,
            ["reason"] = reason,
            ["raw"] = raw.Length <= MaxRawLength ? raw : raw[..MaxRawLength],
        };

    private static FeedIngestionResult FromEntity(TableEntity e)
    {
        if (!FeedSources.TryParse(e.PartitionKey, out var source))
            throw new InvalidDataException($"FeedIngestions row {e.RowKey} has unknown source '{e.PartitionKey}'.");
        return new FeedIngestionResult(
            e.RowKey, source, e.GetString("fileName") ?? "", e.GetString("contentSha256"),
            Enum.TryParse<IngestionStatus>(e.GetString("status"), out var st) ? st : IngestionStatus.Running,
            e.GetInt64("rowsTotal") ?? 0, e.GetInt64("rowsAccepted") ?? 0, e.GetInt64("rowsRejected") ?? 0,
            e.GetDateTimeOffset("startedAt") ?? default, e.GetDateTimeOffset("completedAt"), e.GetString("error"), e.GetString("duplicateOf"));
    }
}
