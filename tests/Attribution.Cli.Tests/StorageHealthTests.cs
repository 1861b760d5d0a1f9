using System.Text.Json;
using System.Text.RegularExpressions;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;

namespace Attribution.Cli.Tests;

/// <summary>`--verbose` shows a failure the ingestion caught and carried on after (here the log tip's write) as a warn line.</summary>
public sealed class VerboseSwallowedFailureTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Verbose_ingest_shows_a_failed_tip_write_as_one_warn_line_with_its_event_id_and_quiet_ingest_does_not()
    {
        var dir = TestPaths.NewTempDirectory();
        string Feed() => TestPaths.WriteFeed(dir, "usage", $"usage-{Guid.NewGuid():N}.csv",
            "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" + $"{Guid.NewGuid()},{Guid.NewGuid()},Azure,2026-01,10,\n");
        Assert.Equal(0, (await CliRunner.RunAsync("ingest", Feed(), "--storage", azurite.ConnectionString)).ExitCode);

        // Someone else leases the log's tip: the next commits cannot overwrite it (412), and stand all the same.
        var lease = azurite.Storage.Blobs.GetBlobContainerClient(TableNames.RecordsContainer).GetBlobClient("_log/_tip.json").GetBlobLeaseClient();
        await lease.AcquireAsync(TimeSpan.FromSeconds(-1));
        try
        {
            var verbose = await CliRunner.RunAsync("--verbose", "ingest", Feed(), "--storage", azurite.ConnectionString, "--width", "200");
            var quiet = await CliRunner.RunAsync("ingest", Feed(), "--storage", azurite.ConnectionString);

            Assert.True(verbose.ExitCode == 0, verbose.Error);
            Assert.Matches(@"usage\s+Succeeded\s+1\s+1\s+0", verbose.Out);
            var lines = verbose.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.Single(lines, l => Regex.IsMatch(l,
                @"^\S+Z warn  Attribution\.Pipeline\.Ingestion\.FeedIngestor\[3002\] Records version 2 is committed, but writing the log tip failed; readers list the log instead, and the next commit writes the tip again\. \(RequestFailedException: .+\)$"));
            // One line per event, the exception's detail included: every stderr line is the storage line or a log line.
            Assert.All(lines, l => Assert.Matches(@"^(storage: |\S+Z (dbug|info|warn) )", l));

            Assert.Equal(0, quiet.ExitCode);
            Assert.Equal($"storage: {StorageAccount.FromConnectionString(azurite.ConnectionString).Endpoints}, given by --storage", quiet.Error.Trim());
        }
        finally
        {
            await lease.ReleaseAsync();
        }
    }
}

/// <summary>`recalc` ends with the record store's compaction health, so a backlog is seen without logs.</summary>
public sealed class RecalcStorageHealthTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Recalc_shows_buckets_over_the_compaction_threshold_and_the_oldest_uncompacted_commit_in_its_table_and_json()
    {
        var dir = TestPaths.NewTempDirectory();
        var tenant = Guid.NewGuid();
        var threshold = RecordStoreOptions.Default.CompactionThreshold;
        // One more commit than the threshold into the tenant's bucket, with compaction off (as when it keeps failing).
        var manual = RecordStoreOptions.Default with { AutoCompact = false };
        for (var i = 0; i <= threshold; i++)
        {
            var file = TestPaths.WriteFeed(dir, "usage", $"usage-{i}.csv",
                "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" + $"{tenant},{Guid.NewGuid()},Azure,2026-03,{i + 1},\n");
            var r = await azurite.Storage.Create<FeedIngestor>(CreditRulesLoader.Default).With(i => i.RecordOptions = manual).IngestFileAsync(file, FeedSource.Usage);
            Assert.Equal(IngestionStatus.Succeeded, r.Status);
        }
        // Expected from the stored log itself: every commit, and the first one's time.
        var records = azurite.Storage.Blobs.GetBlobContainerClient(TableNames.RecordsContainer);
        var commits = await CommitsAsync(records);
        Assert.Equal(threshold + 1, commits.Count);
        var first = commits[0];

        var (code, output, error) = await CliRunner.RunAsync("recalc", "--as-of", "2026-03", "--storage", azurite.ConnectionString, "--width", "300");
        Assert.True(code == 0, error);
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("records v", StringComparison.Ordinal));
        Assert.StartsWith(
            $"records v{commits.Count}: 1 of {RecordStoreOptions.Default.BucketCount} buckets over the compaction threshold (max {threshold + 1} segments, threshold {threshold}); " +
            $"oldest uncompacted commit v{first.Version} at {first.CommittedAt.UtcDateTime:yyyy-MM-dd'T'HH:mm'Z'} (", line.TrimEnd(), StringComparison.Ordinal);
        Assert.Matches(@" ago\)\.$", line.TrimEnd());

        var json = await CliRunner.RunAsync("recalc", "--as-of", "2026-03", "--storage", azurite.ConnectionString, "--format", "json");
        Assert.True(json.ExitCode == 0, json.Error);
        var health = JsonDocument.Parse(json.Out).RootElement.GetProperty("records");
        Assert.Equal((commits.Count, 1, threshold + 1, threshold, false),
            (health.GetProperty("version").GetInt32(), health.GetProperty("bucketsOverThreshold").GetInt32(), health.GetProperty("maxSegments").GetInt32(),
             health.GetProperty("compactionThreshold").GetInt32(), health.GetProperty("partnersOverThreshold").GetBoolean()));
        var oldest = health.GetProperty("oldestUncompactedCommit");
        Assert.Equal((first.Version, first.CommittedAt), (oldest.GetProperty("version").GetInt64(), oldest.GetProperty("committedAt").GetDateTimeOffset()));
    }

    /// <summary>Every commit entry as stored, in version order (read as JSON here, not through the code under test).</summary>
    private static async Task<List<(long Version, DateTimeOffset CommittedAt)>> CommitsAsync(BlobContainerClient records)
    {
        var list = new List<(long, DateTimeOffset)>();
        await foreach (var blob in records.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "_log/0", default))
        {
            var entry = JsonDocument.Parse((await records.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToString()).RootElement;
            list.Add((entry.GetProperty("version").GetInt64(), entry.GetProperty("committedAt").GetDateTimeOffset()));
        }
        return [.. list.OrderBy(c => c.Item1)];
    }
}
