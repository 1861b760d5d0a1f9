using Attribution.Core.Feeds;
using Attribution.Core.Ingestion;
using Attribution.Core.Rules;
using Attribution.Core.Storage;
using Attribution.Testing;

namespace Attribution.Core.Tests.Ingestion;

public sealed class SmokeTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task A_usage_file_lands_in_the_usage_table()
    {
        var dir = TestPaths.NewTempDirectory();
        var path = TestPaths.WriteFeed(dir, "usage", "u.csv",
            "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" +
            "11111111-1111-1111-1111-111111111111,22222222-2222-2222-2222-222222222222,Azure,2026-01,100.5,\n" +
            "not-a-guid,22222222-2222-2222-2222-222222222222,Azure,2026-01,100.5,\n");
        var ingestor = new FeedIngestor(azurite.Storage, CreditRulesLoader.Default);
        var result = await ingestor.IngestFileAsync(path, FeedSource.Usage);
        Assert.Equal(IngestionStatus.CompletedWithRejections, result.Status);
        Assert.Equal(1, result.RowsAccepted);
        var usage = await azurite.Storage.AllAsync(TableNames.UsageRecords);
        Assert.Single(usage);
        Assert.Equal(100.5, usage[0].GetDouble("consumedRevenueUsd"));
    }
}
