using System.Globalization;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Storage;
using Azure;
using Azure.Data.Tables;

namespace Attribution.Pipeline.Ingestion;

/// <summary>The FeedIngestions and RejectedRecords tables (§4).</summary>
public sealed class IngestionStore(StorageAccount storage, TimeProvider time)
{
    private readonly TimeProvider _time = time;

    public const int MaxRawLength = 1024;

    private TableClient Ingestions => storage.Table(TableNames.FeedIngestions);

    public static string NewIngestionId(DateTimeOffset startedAt) =>
        string.Create(CultureInfo.InvariantCulture, $"{startedAt.UtcDateTime:yyyyMMdd'T'HHmmssfff}-{Guid.NewGuid().ToString("N")[..8]}");

    public async Task SaveAsync(FeedIngestionResult r, CancellationToken cancellationToken) =>
        await Ingestions.UpsertEntityAsync(ToEntity(r), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);

    private static TableEntity ToEntity(FeedIngestionResult r)
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
        if (r.HeartbeatAt is { } beat) e["heartbeatAt"] = beat;
        if (r.HeartbeatTimeout is { } timeout) e["heartbeatTimeoutSeconds"] = timeout.TotalSeconds;
        return e;
    }

    /// <summary>A running attempt says it is still alive: only <c>heartbeatAt</c> changes.</summary>
    internal async Task BeatAsync(FeedSource source, string ingestionId, DateTimeOffset at, CancellationToken cancellationToken) =>
        await Ingestions.UpdateEntityAsync(new TableEntity(source.Name(), ingestionId) { ["heartbeatAt"] = at }, ETag.All, TableUpdateMode.Merge, cancellationToken)
            .ConfigureAwait(false);

    /// <summary>Running rows of a source for one file name or one content hash, with their ETags, as stored.</summary>
    internal async IAsyncEnumerable<(FeedIngestionResult Row, ETag ETag)> RunningAsync(FeedSource source, string fileName, string? sha256,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {source.Name()} and status eq {nameof(IngestionStatus.Running)}");
        filter += sha256 is null
            ? " and " + TableClient.CreateQueryFilter($"fileName eq {fileName}")
            : " and (" + TableClient.CreateQueryFilter($"fileName eq {fileName} or contentSha256 eq {sha256}") + ")";
        await foreach (var e in Ingestions.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            yield return (FromEntity(e), e.ETag);
    }

    /// <summary>Replaces a row only if it is unchanged since it was read (a heartbeat in between means it is alive).</summary>
    internal async Task<bool> ReplaceIfUnchangedAsync(FeedIngestionResult r, ETag etag, CancellationToken cancellationToken)
    {
        try
        {
            await Ingestions.UpdateEntityAsync(ToEntity(r), etag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            return false;
        }
    }

    /// <summary>
    /// How a reader shows a row: a Running row whose heartbeat ran out is an attempt whose process is gone. If its commit
    /// landed (it died before writing its status) it shows the commit's outcome; otherwise Failed, abandoned.
    /// </summary>
    private async Task<FeedIngestionResult> ShownAsync(FeedIngestionResult r, CancellationToken cancellationToken)
    {
        if (!r.IsAbandoned(_time.GetUtcNow())) return r;
        // Only reads the log here: nothing it could fail at and carry on from.
        var commits = new RecordCommits(storage, RecordStoreOptions.Default, _time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        if (await commits.CommittedOutcomeAsync(r, cancellationToken).ConfigureAwait(false) is { } committed) return committed;
        return Abandoned(r, takenOverBy: null);
    }

    /// <summary>An abandoned attempt's row, finished: Failed, saying since when it was silent and who took over (if any).</summary>
    internal static FeedIngestionResult Abandoned(FeedIngestionResult r, string? takenOverBy) => r with
    {
        Status = IngestionStatus.Failed,
        CompletedAt = r.HeartbeatAt,
        HeartbeatAt = null,
        HeartbeatTimeout = null,
        Error = string.Create(CultureInfo.InvariantCulture,
            $"Abandoned: no heartbeat since {r.HeartbeatAt!.Value.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z (its process stopped before it finished); nothing of this attempt was committed. ")
            + (takenOverBy is null ? "Ingest the file again if no later attempt has." : $"Ingestion {takenOverBy} of the same file took over."),
    };

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

    /// <summary>One row as stored (a dead attempt still says Running: the ingestion itself uses this to finish it).</summary>
    public async Task<FeedIngestionResult?> GetAsync(FeedSource source, string ingestionId, CancellationToken cancellationToken)
    {
        var response = await Ingestions.GetEntityIfExistsAsync<TableEntity>(source.Name(), ingestionId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    public async IAsyncEnumerable<FeedIngestionResult> ListAsync(FeedSource? source, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var filter = source is { } s ? TableClient.CreateQueryFilter($"PartitionKey eq {s.Name()}") : null;
        await foreach (var e in Ingestions.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            yield return await ShownAsync(FromEntity(e), cancellationToken).ConfigureAwait(false);
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
                rows.Add(await ShownAsync(FromEntity(e), cancellationToken).ConfigureAwait(false));
            }
        }
        return (rows, null);
    }

    /// <summary>An ingestion by id, whatever its source (one point read per source).</summary>
    public async Task<FeedIngestionResult?> FindAsync(string ingestionId, CancellationToken cancellationToken = default)
    {
        var reads = FeedSources.All.Select(s => GetAsync(s, ingestionId, cancellationToken)).ToList();
        foreach (var read in reads)
            if (await read.ConfigureAwait(false) is { } found) return await ShownAsync(found, cancellationToken).ConfigureAwait(false);
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
            e.GetDateTimeOffset("startedAt") ?? default, e.GetDateTimeOffset("completedAt"), e.GetString("error"), e.GetString("duplicateOf"))
        {
            HeartbeatAt = e.GetDateTimeOffset("heartbeatAt"),
            HeartbeatTimeout = e.GetDouble("heartbeatTimeoutSeconds") is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        };
    }
}
