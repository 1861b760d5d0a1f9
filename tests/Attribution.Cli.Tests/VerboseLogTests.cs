using System.Text.RegularExpressions;
using Attribution.Pipeline.Storage;
using Attribution.Testing;

namespace Attribution.Cli.Tests;

/// <summary>`--verbose` shows the domain's logs on stderr and changes nothing on stdout; without it, no log line is printed.</summary>
public sealed partial class VerboseIngestTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Verbose_ingest_logs_the_start_and_the_end_with_counts_on_stderr_and_leaves_stdout_as_it_is()
    {
        var dir = TestPaths.NewTempDirectory();
        // 3 rows: 2 stored, 1 rejected (subscriptionId 'x' is not a GUID). The same file is written twice with other
        // tenants, so the second ingestion is not a Duplicate of the first and both print the same table.
        string Feed() => TestPaths.WriteFeed(dir, "usage", "verbose.csv",
            "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" +
            $"{Guid.NewGuid()},{Guid.NewGuid()},Azure,2026-01,10,\n{Guid.NewGuid()},x,Azure,2026-01,10,\n{Guid.NewGuid()},{Guid.NewGuid()},Azure,2026-02,5,\n");

        var path = Feed();
        var quiet = await CliRunner.RunAsync("ingest", path, "--storage", azurite.ConnectionString, "--width", "200"); // wide enough to show the ingestion id
        path = Feed();
        var bytes = new FileInfo(path).Length;
        var verbose = await CliRunner.RunAsync("--verbose", "ingest", path, "--storage", azurite.ConnectionString, "--width", "200");

        Assert.Equal(0, quiet.ExitCode);
        Assert.Equal(0, verbose.ExitCode);
        // Quiet: stderr says only where storage is, as before.
        Assert.Equal($"storage: {StorageAccount.FromConnectionString(azurite.ConnectionString).Endpoints}, given by --storage", quiet.Error.Trim());
        // stdout is the same but for the ingestion's id.
        Assert.Equal(IngestionId().Replace(quiet.Out, "<id>"), IngestionId().Replace(verbose.Out, "<id>"));

        var id = IngestionId().Match(verbose.Out).Value;
        var lines = verbose.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Single(lines, l => Regex.IsMatch(l,
            $@"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z info  Attribution\.Pipeline\.Ingestion\.FeedIngestor\[1001\] Ingestion {id} started: usage file verbose\.csv \({bytes} bytes\)\.$"));
        Assert.Single(lines, l => Regex.IsMatch(l,
            $@"^\S+Z info  Attribution\.Pipeline\.Ingestion\.FeedIngestor\[1003\] Ingestion {id} ended CompletedWithRejections: usage file verbose\.csv, 3 rows, 2 accepted, 1 rejected in \d+ ms\.$"));
        // Every stderr line is the storage line or a log line.
        Assert.All(lines, l => Assert.Matches(@"^(storage: |\S+Z (dbug|info|warn) )", l));
    }

    [GeneratedRegex(@"\d{8}T\d{9}-[0-9a-f]{8}")]
    private static partial Regex IngestionId();
}

/// <summary>`--verbose recalc` logs each step of the recalculation, with the publish's rows per table.</summary>
public sealed partial class VerboseRecalcTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Verbose_recalc_logs_every_activity_and_the_rows_each_table_was_written()
    {
        var feeds = IngestCommand.DiscoverFeeds(TestPaths.Samples).Select(f => f.Path).ToArray();
        var ingest = await CliRunner.RunAsync(["ingest", .. feeds, "--storage", azurite.ConnectionString]);
        Assert.True(ingest.ExitCode == 0, ingest.Error);

        var (code, output, error) = await CliRunner.RunAsync("--verbose", "recalc", "--as-of", "2026-10", "--storage", azurite.ConnectionString);
        Assert.True(code == 0, error);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        // The fan-out Begin fixed, then one line per shard, per reduce range and per publish range.
        var begun = Assert.Single(lines, l => l.Contains("Attribution.Pipeline.Recalculation.BeginRecalculation[2002] BeginRecalculation: run ", StringComparison.Ordinal));
        var fanOut = FanOut().Match(begun);
        Assert.True(fanOut.Success, begun);
        var (shards, reduces, publishes) = (int.Parse(fanOut.Groups[1].Value), int.Parse(fanOut.Groups[2].Value), int.Parse(fanOut.Groups[3].Value));
        Assert.Equal(shards, lines.Count(l => Regex.IsMatch(l, @"ComputeCreditShard\[2003\] ComputeCreditShard: run \S+ shard \d+ of " + shards + @": \d+ usage rows, \d+ partners; read \d+ ms, compute \d+ ms, write \d+ ms\.$")));
        Assert.Equal(reduces, lines.Count(l => Regex.IsMatch(l, @"ReduceCreditRange\[2004\] ReduceCreditRange: run \S+ range \d+ of " + reduces + @": \d+ partners, \d+ global partners; read \d+ ms")));
        Assert.Equal(publishes, lines.Count(l => Regex.IsMatch(l, @"PublishCreditRange\[2006\] PublishCreditRange: run \S+ range \d+ of " + publishes + @": \d+ rows written, \d+ removed")));
        Assert.Single(lines, l => l.Contains("BeginPublish[2005] BeginPublish: run ", StringComparison.Ordinal) && l.Contains("publishing over no published run", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("CompletePublish[2009] CompletePublish: run ", StringComparison.Ordinal) && l.Contains("is now the published run for 2026-10", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("PurgeRecalculationHistory[2012]", StringComparison.Ordinal));

        // The first publish into empty tables writes every row each table holds afterwards, and removes none.
        long total = 0;
        foreach (var table in new[] { TableNames.PartnerCredit, TableNames.GlobalPartnerCredit, TableNames.SubscriptionPartners, TableNames.IncentiveEligibility, TableNames.PartnerCapabilityScore })
        {
            var rows = (await azurite.Storage.AllAsync(table)).Count;
            Assert.True(rows > 0, table);
            Assert.Single(lines, l => l.EndsWith($"CompletePublish: run {RunOf(begun)} for 2026-10, table {table}: {rows} rows written, 0 removed.", StringComparison.Ordinal));
            total += rows;
        }
        Assert.Contains($"{total:N0} rows published, 0 stale rows removed.", output, StringComparison.Ordinal);

        // The orchestrator's phases, once each however often it was replayed.
        foreach (var phase in new[] { 2102, 2103, 2104, 2105, 2107 })
            Assert.Single(lines, l => l.Contains($"Attribution.Pipeline.Recalculation.RecalculateCredit[{phase}] ", StringComparison.Ordinal));
    }

    private static string RunOf(string begunLine) => Regex.Match(begunLine, @"BeginRecalculation: run (\S+) for").Groups[1].Value;

    [GeneratedRegex(@": (\d+) shards, (\d+) reduce ranges, (\d+) publish ranges")]
    private static partial Regex FanOut();
}
