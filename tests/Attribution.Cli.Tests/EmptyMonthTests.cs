using Attribution.Testing;

namespace Attribution.Cli.Tests;

/// <summary>Usage in two months only, 2024-01 and 2026-03 (one file, so one row group spans both months).</summary>
public sealed class EmptyMonthFixture : IAsyncLifetime
{
    public AzuriteFixture Azurite { get; } = new();

    public async Task InitializeAsync()
    {
        await Azurite.InitializeAsync();
        var dir = TestPaths.NewTempDirectory();
        var t = Guid.NewGuid();
        var usage = TestPaths.WriteFeed(dir, "usage", "two-months.csv",
            $"customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n{t},{Guid.NewGuid()},Azure,2024-01,10,\n{t},{Guid.NewGuid()},Azure,2026-03,20,\n");
        var (code, _, error) = await CliRunner.RunAsync("ingest", usage, "--storage", Azurite.ConnectionString);
        Assert.True(code == 0, error);
    }

    public Task DisposeAsync() => Azurite.DisposeAsync();
}

/// <summary>A month with no usage in its window (12 months under the shipped rules) is refused unless --allow-empty; the default month follows the usage.</summary>
public sealed class EmptyMonthTests(EmptyMonthFixture fixture) : IClassFixture<EmptyMonthFixture>
{
    private string Conn => fixture.Azurite.ConnectionString;

    [Fact]
    public async Task A_month_whose_window_falls_between_the_usage_months_is_refused_as_bad_usage()
    {
        // Window of 2025-06: 2024-07..2025-06, strictly between the two usage months.
        var (code, output, error) = await CliRunner.RunAsync("recalc", "--as-of", "2025-06", "--storage", Conn);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.StartsWith("error: No usage in the window of 2025-06 (2024-07 to 2025-06): the latest usage is of 2026-03", line);
        Assert.EndsWith("(--allow-empty).", line.TrimEnd());
    }

    [Fact]
    public async Task Allow_empty_recalculates_it_anyway()
    {
        var (code, output, error) = await CliRunner.RunAsync("recalc", "--as-of", "2025-07", "--allow-empty", "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.Contains("Credit as of 2025-07", output);
        Assert.Contains(" 0 usage rows in the window", output);
    }

    [Fact]
    public async Task A_window_that_just_reaches_a_usage_month_is_accepted()
    {
        // Window of 2024-12: 2024-01..2024-12, its first month holds the 2024-01 row.
        var (code, output, error) = await CliRunner.RunAsync("recalc", "--as-of", "2024-12", "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.Contains("Credit as of 2024-12", output);
        Assert.Contains(" 1 usage rows in the window", output);
    }

    [Fact]
    public async Task Without_as_of_recalc_takes_the_latest_usage_month_when_it_is_before_the_last_complete_month()
    {
        // The last complete month is at least 2026-04 from here on, so the default is the latest usage month.
        var (code, output, error) = await CliRunner.RunAsync("recalc", "--storage", Conn);
        Assert.True(code == 0, error);
        Assert.Contains("Credit as of 2026-03", output);
    }
}
