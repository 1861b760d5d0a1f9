using Attribution.Testing;

namespace Attribution.Cli.Tests;

/// <summary>
/// `run` and `recalc` pick the same month when none is given, and neither publishes a month whose window holds no
/// stored usage unless asked to with --allow-empty.
/// </summary>
public sealed class DefaultMonthTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    // One subscription's usage in February and March 2024: long before the last complete month.
    private const string Usage =
        "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" +
        "0b6ff5a1-0000-4000-8000-000000000001,5c1d2e3f-0000-4000-8000-000000000001,Azure,2024-02,100,\n" +
        "0b6ff5a1-0000-4000-8000-000000000001,5c1d2e3f-0000-4000-8000-000000000001,Azure,2024-03,200,\n";

    private static string[] Lines(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith("storage: ", StringComparison.Ordinal))];

    [Fact]
    public async Task A_month_without_usage_is_refused_unless_allowed_and_run_and_recalc_default_to_the_same_month()
    {
        var conn = azurite.ConnectionString;
        var feeds = TestPaths.NewTempDirectory();
        TestPaths.WriteFeed(feeds, "usage", "usage-2024.csv", Usage);

        // `run` ingests the folder and, with no --as-of, computes the latest usage month (2024-03 is before last month).
        var (ran, runOut, runError) = await CliRunner.RunAsync("run", "--feeds", feeds, "--storage", conn);
        Assert.True(ran == 0, runError);
        Assert.Contains("Credit as of 2024-03", runOut);

        // `recalc` with no --as-of picks the same month.
        var (recalculated, recalcOut, recalcError) = await CliRunner.RunAsync("recalc", "--storage", conn);
        Assert.True(recalculated == 0, recalcError);
        Assert.Contains("Credit as of 2024-03", recalcOut);

        // 2026-10's window is 2025-11..2026-10: no usage there. Refused, in one line, and nothing is published for it.
        var (refused, _, refusal) = await CliRunner.RunAsync("recalc", "--as-of", "2026-10", "--storage", conn);
        Assert.Equal(2, refused);
        var line = Assert.Single(Lines(refusal));
        Assert.StartsWith("error: Not recalculating 2026-10: no usage is stored for 2025-11..2026-10", line);
        Assert.Contains("latest usage month stored is 2024-03", line);
        Assert.Contains("--allow-empty", line);
        var (unread, _, unreadError) = await CliRunner.RunAsync("partner", "1", "--as-of", "2026-10", "--storage", conn);
        Assert.Equal(1, unread);
        Assert.Contains("No published recalculation for 2026-10", unreadError);

        // The last month whose window still reaches March 2024 (2024-03..2025-02) is not empty.
        var (edge, edgeOut, edgeError) = await CliRunner.RunAsync("recalc", "--as-of", "2025-02", "--storage", conn);
        Assert.True(edge == 0, edgeError);
        Assert.Contains("Credit as of 2025-02", edgeOut);
        var (past, _, pastError) = await CliRunner.RunAsync("recalc", "--as-of", "2025-03", "--storage", conn);
        Assert.Equal(2, past);
        Assert.Contains("no usage is stored for 2024-04..2025-03", pastError);

        // Asked for explicitly, the empty month is computed and published.
        var (allowed, allowedOut, allowedError) = await CliRunner.RunAsync("recalc", "--as-of", "2026-10", "--allow-empty", "--storage", conn);
        Assert.True(allowed == 0, allowedError);
        Assert.Contains("Credit as of 2026-10", allowedOut);
        Assert.Contains("0 usage rows in the window", allowedOut);
    }
}
