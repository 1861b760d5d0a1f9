using System.Globalization;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Data.Tables;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>
/// Every table's rows of one asOf are that asOf's alone (§4): windows of neighbouring months overlap, and publishing
/// one month — after a restatement of a month both windows hold — never changes or removes a row of another month,
/// as a direct reader of the tables sees them.
/// </summary>
public sealed class MonthIsolationTests(RecordsFixture azurite) : IClassFixture<RecordsFixture>
{
    private static readonly YearMonth October = RecalculationHarness.AsOf;
    private static readonly YearMonth September = October.AddMonths(-1);

    /// <summary>Every row of every published table, keyed "table|PartitionKey|RowKey", with its ETag.</summary>
    private async Task<Dictionary<string, TableEntity>> AllRowsAsync()
    {
        var rows = new Dictionary<string, TableEntity>(StringComparer.Ordinal);
        foreach (var table in CreditEntities.PublishedTables)
            await foreach (var e in azurite.Storage.Table(table).QueryAsync<TableEntity>())
                rows[$"{table}|{e.PartitionKey}|{e.RowKey}"] = e;
        return rows;
    }

    private static Dictionary<string, TableEntity> Of(Dictionary<string, TableEntity> rows, YearMonth asOf) =>
        rows.Where(kv => kv.Value.RowKey.StartsWith(asOf + "|", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    private static void AssertUntouched(Dictionary<string, TableEntity> before, Dictionary<string, TableEntity> after)
    {
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        Assert.All(after, kv => Assert.Equal(before[kv.Key].ETag, kv.Value.ETag));
    }

    [Fact]
    public async Task Publishing_an_overlapping_month_after_a_restatement_leaves_every_row_of_the_other_month_as_it_was()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        await RecalculationHarness.RecalculateAsync(host, October);
        RecalculationHarness.AssertSame(await RecalculationHarness.EngineExpectationAsync(azurite.Storage, October, CreditRulesLoader.Default),
            await RecalculationHarness.PublishedAsync(azurite.Storage, October));
        var octoberFirst = Of(await AllRowsAsync(), October);
        Assert.Contains(octoberFirst.Keys, k => k.StartsWith(TableNames.IncentiveEligibility + "|", StringComparison.Ordinal));

        // A month both windows hold is restated: Alpine's August revenue (its DPOR earns incentives on it).
        var dir = TestPaths.NewTempDirectory();
        var usage = TestPaths.WriteFeed(dir, "usage", "usage-august-correction.csv",
            "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" +
            string.Create(CultureInfo.InvariantCulture, $"{RecalculationHarness.AlpineTenant},{RecalculationHarness.AlpineProd},Azure,2026-08,777.5,\n"));
        Assert.Equal(IngestionStatus.Succeeded, (await azurite.Storage.Create<FeedIngestor>(CreditRulesLoader.Default).IngestFileAsync(usage, FeedSource.Usage)).Status);

        await RecalculationHarness.RecalculateAsync(host, September);
        var afterSeptember = await AllRowsAsync();
        AssertUntouched(octoberFirst, Of(afterSeptember, October));
        RecalculationHarness.AssertSame(await RecalculationHarness.EngineExpectationAsync(azurite.Storage, September, CreditRulesLoader.Default),
            await RecalculationHarness.PublishedAsync(azurite.Storage, September));
        var restated = $"{TableNames.IncentiveEligibility}|{RecalculationHarness.Fabrikam}|{September}|2026-08|{RecalculationHarness.AlpineProd}";
        Assert.Equal(777.5, afterSeptember[restated].GetDouble("acrUsd"));
        // October's copy of the same month still says what October's published run computed.
        var octoberCopy = $"{TableNames.IncentiveEligibility}|{RecalculationHarness.Fabrikam}|{October}|2026-08|{RecalculationHarness.AlpineProd}";
        Assert.NotEqual(777.5, afterSeptember[octoberCopy].GetDouble("acrUsd"));

        // October again: its rows follow the restatement; September's stay as they were.
        var octoberAgain = await RecalculationHarness.RecalculateAsync(host, October);
        Assert.True(octoberAgain.RowsPublished > 0);
        var afterOctober = await AllRowsAsync();
        AssertUntouched(Of(afterSeptember, September), Of(afterOctober, September));
        RecalculationHarness.AssertSame(await RecalculationHarness.EngineExpectationAsync(azurite.Storage, October, CreditRulesLoader.Default),
            await RecalculationHarness.PublishedAsync(azurite.Storage, October));
        Assert.Equal(777.5, afterOctober[octoberCopy].GetDouble("acrUsd"));
        Assert.Equal(octoberAgain.RunId, afterOctober[octoberCopy].GetString("runId"));

        // Each IncentiveEligibility row names its own key's parts.
        foreach (var e in afterOctober.Values.Where(e => e.ContainsKey("incentiveAcrUsd")))
            Assert.Equal(e.RowKey, $"{e.GetString("asOf")}|{e.GetString("month")}|{e.GetString("subscriptionId")}");
    }
}

/// <summary>
/// A store published before IncentiveEligibility was keyed by asOf (rows `{month}|{subscriptionId}`, snapshots
/// without the key's columns) is moved by the next publish, once: no row of the old layout is left, and each published
/// month holds its own rows again, with the values its published snapshot had.
/// </summary>
public sealed class IncentiveEligibilityMigrationTests(RecordsFixture azurite) : IClassFixture<RecordsFixture>
{
    private static readonly YearMonth October = RecalculationHarness.AsOf;
    private static readonly YearMonth September = October.AddMonths(-1);

    private static readonly Parquet.Schema.DataField[] LegacyFields =
    [
        new Parquet.Schema.DataField<string>("PartitionKey", nullable: false), new Parquet.Schema.DataField<string>("RowKey", nullable: false),
        new Parquet.Schema.DataField<string>("customerTenantId", nullable: false), new Parquet.Schema.DataField<double>("acrUsd", nullable: false),
        new Parquet.Schema.DataField<int>("dporDays", nullable: false), new Parquet.Schema.DataField<int>("daysInMonth", nullable: false),
        new Parquet.Schema.DataField<double>("incentiveAcrUsd", nullable: false),
    ];

    /// <summary>Rewrites a published month as the old code left it: table rows and snapshot files in the old layout.</summary>
    private async Task<List<TableEntity>> MakeLegacyAsync(string runId, YearMonth asOf, int publishRanges)
    {
        var table = azurite.Storage.Table(TableNames.IncentiveEligibility);
        var rows = new List<TableEntity>();
        await foreach (var e in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey ge {asOf + "|"} and RowKey lt {asOf + "|~"}")))
            rows.Add(e);
        Assert.NotEmpty(rows);
        var legacy = rows.Select(e => new TableEntity(e.PartitionKey, $"{e.GetString("month")}|{e.GetString("subscriptionId")}")
        {
            ["customerTenantId"] = e.GetString("customerTenantId"), ["acrUsd"] = e.GetDouble("acrUsd"), ["dporDays"] = e.GetInt32("dporDays"),
            ["daysInMonth"] = e.GetInt32("daysInMonth"), ["incentiveAcrUsd"] = e.GetDouble("incentiveAcrUsd"), ["runId"] = runId,
        }).ToList();
        foreach (var e in rows) await table.DeleteEntityAsync(e.PartitionKey, e.RowKey);
        foreach (var e in legacy) await table.UpsertEntityAsync(e, TableUpdateMode.Replace);

        var container = azurite.Storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer);
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, $"{runId}/snapshot/{TableNames.IncentiveEligibility}/", default))
            await container.DeleteBlobAsync(blob.Name);
        foreach (var group in legacy.GroupBy(e => PartitionRanges.Of(e.PartitionKey, publishRanges)))
        {
            var list = group.OrderBy(e => e.PartitionKey, StringComparer.Ordinal).ThenBy(e => e.RowKey, StringComparer.Ordinal).ToList();
            using var stream = new MemoryStream();
            await using (var writer = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(LegacyFields), stream))
            {
                using var g = writer.CreateRowGroup();
                await g.WriteAsync(LegacyFields[0], list.Select(e => e.PartitionKey).ToArray());
                await g.WriteAsync(LegacyFields[1], list.Select(e => e.RowKey).ToArray());
                await g.WriteAsync(LegacyFields[2], list.Select(e => e.GetString("customerTenantId")).ToArray());
                await g.WriteAsync<double>(LegacyFields[3], list.Select(e => e.GetDouble("acrUsd")!.Value).ToArray());
                await g.WriteAsync<int>(LegacyFields[4], list.Select(e => e.GetInt32("dporDays")!.Value).ToArray());
                await g.WriteAsync<int>(LegacyFields[5], list.Select(e => e.GetInt32("daysInMonth")!.Value).ToArray());
                await g.WriteAsync<double>(LegacyFields[6], list.Select(e => e.GetDouble("incentiveAcrUsd")!.Value).ToArray());
            }
            await container.GetBlobClient(SnapshotStore.SnapshotBlob(runId, TableNames.IncentiveEligibility, group.Key, "s000")).UploadAsync(BinaryData.FromBytes(stream.ToArray()));
        }
        return rows;
    }

    [Fact]
    public async Task The_next_publish_removes_the_old_layout_once_and_every_published_month_gets_its_own_rows_back()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var september = await RecalculationHarness.RecalculateAsync(host, September);
        var october = await RecalculationHarness.RecalculateAsync(host, October);
        var runs = azurite.Storage.Get<Attribution.Pipeline.Recalculation.RunStore>();
        var septemberRows = await MakeLegacyAsync(september.RunId, September, (await runs.GetAsync(September, september.RunId))!.PublishRanges);
        var octoberRows = await MakeLegacyAsync(october.RunId, October, (await runs.GetAsync(October, october.RunId))!.PublishRanges);
        var table = azurite.Storage.Table(TableNames.IncentiveEligibility);
        // A row of a month no published snapshot holds any more (an older asOf's): shared, unowned, removed.
        await table.UpsertEntityAsync(new TableEntity("1234567", $"2024-01|{Guid.NewGuid():D}") { ["acrUsd"] = 1.0 });
        await azurite.Storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer).DeleteBlobAsync("migrations/incentive-eligibility-asof-keys.json");

        // The next publish (October again, in a fresh process's objects) moves the store, then publishes as usual.
        await using var next = await RecalculationHarness.HostAsync(azurite.NewStorage());
        var again = await RecalculationHarness.RecalculateAsync(next, October);

        var all = new List<TableEntity>();
        await foreach (var e in table.QueryAsync<TableEntity>()) all.Add(e);
        Assert.DoesNotContain(all, e => CreditEntities.IsLegacyIncentiveEligibilityKey(e.RowKey));
        // September was not republished: its rows are back under its own asOf, with its published values and run.
        var septemberNow = all.Where(e => e.RowKey.StartsWith(September + "|", StringComparison.Ordinal)).ToDictionary(e => $"{e.PartitionKey}|{e.RowKey}", StringComparer.Ordinal);
        Assert.Equal(septemberRows.Select(e => $"{e.PartitionKey}|{e.RowKey}").Order(StringComparer.Ordinal), septemberNow.Keys.Order(StringComparer.Ordinal));
        foreach (var e in septemberRows)
        {
            var now = septemberNow[$"{e.PartitionKey}|{e.RowKey}"];
            Assert.Equal(StorageReads.Canonical(e, "runId"), StorageReads.Canonical(now, "runId"));
            Assert.Equal(september.RunId, now.GetString("runId"));
        }
        // October equals what the engine computes, and its re-run over unchanged records wrote no row beyond the move.
        RecalculationHarness.AssertSame(await RecalculationHarness.EngineExpectationAsync(azurite.Storage, October, CreditRulesLoader.Default),
            await RecalculationHarness.PublishedAsync(azurite.Storage, October));
        Assert.Equal((0L, 0L), (again.RowsPublished, again.RowsRemoved));

        // Once: a later publish finds the move recorded and does not scan again.
        var marker = await azurite.Storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer).GetBlobClient("migrations/incentive-eligibility-asof-keys.json").DownloadContentAsync();
        var result = marker.Value.Content.ToObjectFromJson<IncentiveEligibilityMigrationResult>(new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
        Assert.Equal(all.Count(e => e.RowKey.StartsWith(September + "|", StringComparison.Ordinal) || e.RowKey.StartsWith(October + "|", StringComparison.Ordinal)), result.RowsRewritten);
        // The old layout had one row per month and subscription for both months (the later publish overwrote the
        // earlier one's), plus the orphan.
        var legacyKeys = septemberRows.Concat(octoberRows).Select(e => $"{e.PartitionKey}|{e.GetString("month")}|{e.GetString("subscriptionId")}").Distinct().Count();
        Assert.Equal(legacyKeys + 1, result.LegacyRowsRemoved);
        Assert.Equal([September.ToString(), October.ToString()], result.MonthsRewritten);
        Assert.Null(await new IncentiveEligibilityMigration(azurite.NewStorage(), runs, Microsoft.Extensions.Logging.Abstractions.NullLogger<IncentiveEligibilityMigration>.Instance).EnsureAsync());
    }
}
