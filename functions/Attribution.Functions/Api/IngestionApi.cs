using System.Globalization;
using System.Text;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Attribution.Functions.Api;

/// <summary>One FeedIngestions row, as the API shows it.</summary>
public sealed record IngestionView(
    string IngestionId, string Source, string FileName, string? ContentSha256, string Status,
    long RowsTotal, long RowsAccepted, long RowsRejected, DateTimeOffset StartedAt, DateTimeOffset? CompletedAt, string? Error, string? DuplicateOf)
{
    public static IngestionView Of(FeedIngestionResult r) => new(r.IngestionId, r.Source.Name(), r.FileName, r.ContentSha256, r.Status.ToString(),
        r.RowsTotal, r.RowsAccepted, r.RowsRejected, r.StartedAt, r.CompletedAt, r.Error, r.DuplicateOf);
}

public sealed record IngestionsPage(IReadOnlyList<IngestionView> Ingestions, string? ContinuationToken);

public sealed record RejectsPage(string IngestionId, string Source, string FileName, long RowsRejected, IReadOnlyList<RejectedRow> Rejects, string? ContinuationToken);

/// <summary>
/// What happened to the feeds: every ingestion attempt (FeedIngestions) and the rows it rejected (RejectedRecords),
/// paged with continuation tokens that carry the position, so a page never repeats or skips rows.
/// </summary>
public sealed class IngestionApi(StorageAccount storage, IngestionStore store)
{
    [Function("ListIngestions")]
    public Task<IActionResult> Ingestions(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "ingestions")] HttpRequest request,
        CancellationToken cancellationToken) => IngestionsAsync(request, cancellationToken);

    [Function("GetIngestionRejects")]
    public Task<IActionResult> Rejects(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "ingestions/{ingestionId}/rejects")] HttpRequest request,
        string ingestionId,
        CancellationToken cancellationToken) => RejectsAsync(request, ingestionId, cancellationToken);

    public async Task<IActionResult> IngestionsAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        FeedSource? source = null;
        var sourceText = request.Query["source"].ToString();
        if (sourceText.Length > 0)
        {
            if (!FeedSources.TryParse(sourceText, out var s)) return Problems.BadRequest($"source '{sourceText}' is not one of: {FeedSources.AllNames}.", request);
            source = s;
        }
        var fileName = request.Query["fileName"].ToString() is { Length: > 0 } f ? f : null;
        if (!TryPageSize(request, out var pageSize, out var bad)) return bad;
        (FeedSource, string)? after = null;
        if (request.Query["continuationToken"].ToString() is { Length: > 0 } token)
        {
            if (!Token.TryDecode(token, "ingestions", out var parts) || parts.Length != 2 || !FeedSources.TryParse(parts[0], out var afterSource))
                return Problems.BadRequest("continuationToken is not one this API issued for this list.", request);
            after = (afterSource, parts[1]);
        }
        await storage.EnsureCreatedAsync();
        var (rows, next) = await store.PageAsync(source, fileName, after, pageSize, cancellationToken);
        return new OkObjectResult(new IngestionsPage([.. rows.Select(IngestionView.Of)],
            next is { } n ? Token.Encode("ingestions", n.Source.Name(), n.IngestionId) : null));
    }

    public async Task<IActionResult> RejectsAsync(HttpRequest request, string ingestionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(ingestionId) || ingestionId.Length > 200) return Problems.BadRequest("The ingestion id is missing or too long.", request);
        if (!TryPageSize(request, out var pageSize, out var bad)) return bad;
        long afterLine = 0;
        if (request.Query["continuationToken"].ToString() is { Length: > 0 } token)
        {
            // Bound to its ingestion: a token from another ingestion's list is refused, not misread.
            if (!Token.TryDecode(token, "rejects", out var parts) || parts.Length != 2 || parts[0] != ingestionId
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out afterLine))
                return Problems.BadRequest("continuationToken is not one this API issued for this ingestion's rejects.", request);
        }
        await storage.EnsureCreatedAsync();
        var ingestion = await store.FindAsync(ingestionId, cancellationToken);
        if (ingestion is null) return Problems.NotFound($"No ingestion '{ingestionId}'.", request);
        var (rows, next) = await store.RejectedPageAsync(ingestionId, afterLine, pageSize, cancellationToken);
        return new OkObjectResult(new RejectsPage(ingestion.IngestionId, ingestion.Source.Name(), ingestion.FileName, ingestion.RowsRejected, rows,
            next is { } n ? Token.Encode("rejects", ingestionId, n.ToString(CultureInfo.InvariantCulture)) : null));
    }

    private static bool TryPageSize(HttpRequest request, out int pageSize, out IActionResult problem)
    {
        problem = null!;
        pageSize = ReadApi.DefaultPageSize;
        var size = request.Query["pageSize"].ToString();
        if (size.Length == 0 || (int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) && pageSize is >= 1 and <= ReadApi.MaxPageSize)) return true;
        problem = Problems.BadRequest($"pageSize '{size}' must be a whole number from 1 to {ReadApi.MaxPageSize}.", request);
        return false;
    }

    /// <summary>Opaque tokens: base64url of "kind\nfield\nfield".</summary>
    private static class Token
    {
        public static string Encode(string kind, params string[] fields) =>
            Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\n', [kind, .. fields]))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        public static bool TryDecode(string token, string kind, out string[] fields)
        {
            fields = [];
            try
            {
                var b64 = token.Replace('-', '+').Replace('_', '/');
                var parts = Encoding.UTF8.GetString(Convert.FromBase64String(b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '='))).Split('\n');
                if (parts[0] != kind) return false;
                fields = parts[1..];
                return true;
            }
            catch (FormatException)
            {
                return false;
            }
        }
    }
}
