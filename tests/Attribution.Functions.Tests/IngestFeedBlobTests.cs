using System.Text;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attribution.Functions.Tests;

public sealed class IngestFeedBlobTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private IngestFeedBlob Function() =>
        new(azurite.Storage.Create<FeedIngestor>(CreditRulesLoader.Default), NullLogger<IngestFeedBlob>.Instance);

    [Fact]
    public void The_generated_metadata_declares_a_blob_trigger_on_feeds_source_name_with_event_grid()
    {
        var binding = FunctionMetadata.Binding("IngestFeedBlob", "blobTrigger");
        Assert.Equal("feeds/{source}/{name}", binding.GetProperty("path").GetString());
        Assert.Equal("EventGrid", binding.GetProperty("source").GetString());
        Assert.Equal("AzureWebJobsStorage", binding.GetProperty("connection").GetString());
        Assert.Equal("In", binding.GetProperty("direction").GetString());
    }

    [Fact]
    public async Task A_dropped_blob_is_ingested_by_the_same_code_as_the_cli()
    {
        var tenant = Guid.NewGuid();
        var container = azurite.Storage.Blobs.GetBlobContainerClient(TableNames.FeedsContainer);
        var blob = container.GetBlobClient("usage/2026-02.csv");
        await blob.UploadAsync(new BinaryData(Encoding.UTF8.GetBytes(
            "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" +
            $"{tenant},{Guid.NewGuid()},Azure,2026-02,321.5,\n" +
            $"{tenant},not-a-sub,Azure,2026-02,1,\n")), overwrite: true);

        var result = await Function().Run(blob, "usage", "2026-02.csv", CancellationToken.None);

        Assert.NotNull(result);
        Assert.Equal(IngestionStatus.CompletedWithRejections, result.Status);
        Assert.Equal(2, result.RowsTotal);
        Assert.Equal("2026-02.csv", result.FileName);
        var usage = Assert.Single((await azurite.Storage.TenantAsync(tenant)).Usage);
        Assert.Equal(321.5, usage.ConsumedRevenueUsd);
        var rejected = Assert.Single(await azurite.Storage.AllAsync(TableNames.RejectedRecords, result.IngestionId));
        Assert.Equal(3, rejected.GetInt64("line"));

        // Event Grid may deliver the same blob twice: the second delivery is a Duplicate.
        var again = await Function().Run(blob, "usage", "2026-02.csv", CancellationToken.None);
        Assert.Equal(IngestionStatus.Duplicate, again!.Status);
    }

    [Fact]
    public async Task A_blob_outside_the_source_folders_is_not_ingested()
    {
        var container = azurite.Storage.Blobs.GetBlobContainerClient(TableNames.FeedsContainer);
        var blob = container.GetBlobClient("invoices/x.csv");
        await blob.UploadAsync(new BinaryData("a,b\n1,2\n"u8.ToArray()), overwrite: true);
        var before = (await azurite.Storage.AllAsync(TableNames.FeedIngestions)).Count;

        Assert.Null(await Function().Run(blob, "invoices", "x.csv", CancellationToken.None));
        Assert.Equal(before, (await azurite.Storage.AllAsync(TableNames.FeedIngestions)).Count);
    }
}
