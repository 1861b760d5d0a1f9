using Attribution.Core.Storage;
using Attribution.Testing;

namespace Attribution.Cli.Tests;

public sealed class IngestCommandTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    [Fact]
    public async Task Ingest_prints_per_file_counts_and_exits_0()
    {
        var t = Guid.NewGuid();
        var usage = TestPaths.WriteFeed(_dir, "usage", "jan.csv",
            $"customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n{t},{Guid.NewGuid()},Azure,2026-01,10,\n{t},x,Azure,2026-01,10,\n");
        var dap = TestPaths.WriteFeed(_dir, "misc", "dap_2026.jsonl",
            $"{{\"customerTenantId\":\"{t}\",\"partnerId\":123,\"workloads\":\"Intune\",\"grantedOn\":\"2026-01-01\"}}\n");

        var (code, output, error) = await CliRunner.RunAsync("ingest", usage, dap, "--storage", azurite.ConnectionString);

        Assert.Equal(0, code);
        Assert.Equal("", error);
        var usageLine = output.Split('\n').Single(l => l.Contains("jan.csv", StringComparison.Ordinal));
        Assert.Matches(@"usage\s+CompletedWithRejections\s+2\s+1\s+1", usageLine);
        var dapLine = output.Split('\n').Single(l => l.Contains("dap_2026.jsonl", StringComparison.Ordinal));
        Assert.Matches(@"dap\s+Succeeded\s+1\s+1\s+0", dapLine);
        Assert.Contains((await azurite.Storage.TenantAsync(t)).Associations, a => a.Source == Core.Domain.AssociationSource.Dap && a.PartnerId == 123);
    }

    [Fact]
    public async Task A_file_that_fails_as_a_whole_exits_1_and_says_why()
    {
        var bad = TestPaths.WriteFeed(_dir, "sales", "sales.csv", "customerTenantId,partnerId\n");
        var (code, output, _) = await CliRunner.RunAsync("ingest", bad, "--storage", azurite.ConnectionString);
        Assert.Equal(1, code);
        Assert.Contains("Failed", output);
        Assert.Contains("program, validFrom", output);
    }

    [Fact]
    public async Task Source_override_applies_to_every_file()
    {
        var t = Guid.NewGuid();
        var file = TestPaths.WriteFeed(_dir, "inbox", "export.csv", $"partnerId,partnerName\n{Math.Abs(t.GetHashCode() % 100000) + 1},Northwind\n");
        var (code, output, _) = await CliRunner.RunAsync("ingest", file, "--source", "partners", "--storage", azurite.ConnectionString);
        Assert.Equal(0, code);
        Assert.Matches(@"partners\s+Succeeded\s+1\s+1\s+0", output);
    }

    [Theory]
    [InlineData("ingest")]                                   // no file
    [InlineData("ingest", "{dir}/inbox/nothing-here.csv")]     // missing file
    [InlineData("ingest", "{unknown}")]                        // source cannot be inferred
    [InlineData("ingest", "{unknown}", "--source", "invoices")]
    [InlineData("frobnicate")]
    public async Task Bad_usage_exits_2_without_ingesting(params string[] args)
    {
        var unknown = TestPaths.WriteFeed(_dir, "inbox", "export.csv", "partnerId\n1\n");
        var before = (await azurite.Storage.AllAsync(TableNames.FeedIngestions)).Count;
        var resolved = args.Select(a => a.Replace("{dir}", _dir, StringComparison.Ordinal).Replace("{unknown}", unknown, StringComparison.Ordinal))
            .Concat(["--storage", azurite.ConnectionString]).ToArray();
        var (code, _, error) = await CliRunner.RunAsync(resolved);
        Assert.Equal(2, code);
        Assert.NotEqual("", error);
        Assert.Equal(before, (await azurite.Storage.AllAsync(TableNames.FeedIngestions)).Count);
    }
}
