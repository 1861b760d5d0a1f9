using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Attribution.Functions;

/// <summary>A feed file dropped at feeds/{source}/{name} is ingested by the same code as `attribution ingest`.</summary>
public sealed class IngestFeedBlob(FeedIngestor ingestor, ILogger<IngestFeedBlob> logger)
{
    [Function(nameof(IngestFeedBlob))]
    public async Task<FeedIngestionResult?> Run(
        [BlobTrigger("feeds/{source}/{name}", Source = BlobTriggerSource.EventGrid, Connection = "AzureWebJobsStorage")] BlobClient blob,
        string source,
        string name,
        CancellationToken cancellationToken)
    {
        if (!FeedSources.TryParse(source, out var feedSource))
        {
            // Retrying cannot fix a wrong folder: say so clearly and leave the blob where it is.
            logger.UnknownSourceFolder(source, name, FeedSources.AllNames);
            return null;
        }
        // Both passes read the version seen here (If-Match on its ETag): a blob overwritten in between fails this attempt
        // instead of storing other bytes than the validation pass hashed; the overwrite triggers its own ingestion.
        var content = await BlobFeedContent.PinAsync(blob, cancellationToken);
        // Storage failures propagate so the trigger retries; re-running converges on the same records.
        var result = await ingestor.IngestAsync(
            feedSource,
            name,
            content.OpenAsync,
            content.Length,
            progress: null,
            cancellationToken);
        if (result.Status == IngestionStatus.Failed)
            logger.FeedFailed(source, name, result.IngestionId, result.Error);
        else
            logger.FeedIngested(source, name, result.Status.ToString(), result.RowsAccepted, result.RowsTotal, result.RowsRejected, result.IngestionId);
        return result;
    }
}
