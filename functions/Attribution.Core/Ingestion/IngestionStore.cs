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
