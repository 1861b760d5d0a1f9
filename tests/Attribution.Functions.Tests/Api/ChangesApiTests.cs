using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Reading;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Functions.Api;
using Attribution.Functions.Tests.Recalculation;
using Attribution.Testing;
using Microsoft.AspNetCore.Mvc;
using static Attribution.Functions.Tests.Api.ApiRequests;

namespace Attribution.Functions.Tests.Api;

/// <summary>
/// The shipped samples only, published for 2026-09 and 2026-10; then the harness's restatement (Alpine prod's 2026-10
/// Azure usage corrected to 12,345.67 USD; Proseware's Open licence re-sent ending before the window) and 2026-10 published again.
/// </summary>
public sealed class ChangesSamplesFixture : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite = new();

    public StorageAccount Storage => _azurite.Storage;

    public async Task InitializeAsync()
    {
        await _azurite.InitializeAsync();
        var ingestor = Storage.Create<FeedIngestor>(CreditRulesLoader.Default);
        foreach (var path in Directory.EnumerateFiles(TestPaths.Samples, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (!FeedRowReader.TryDetectFormat(path, out _, out _) || !FeedSources.TryInferFromPath(path, out var source)) continue;
            Assert.Equal(IngestionStatus.Succeeded, (await ingestor.IngestFileAsync(path, source)).Status);
        }
        await using var host = await RecalculationHarness.HostAsync(Storage);
        await RecalculationHarness.RecalculateAsync(host, new YearMonth(2026, 9));
        await RecalculationHarness.RecalculateAsync(host, RecalculationHarness.AsOf);
        await RecalculationHarness.RestateAsync(Storage);
        await RecalculationHarness.RecalculateAsync(host, RecalculationHarness.AsOf);
    }

    public Task DisposeAsync() => _azurite.DisposeAsync();
}

public sealed class ChangesApiTests(ChangesSamplesFixture data) : IClassFixture<ChangesSamplesFixture>
{
    private ChangesApi Api => data.Storage.Create<ChangesApi>();

    [Fact]
    public async Task Changes_default_to_the_latest_published_month_against_the_one_before()
    {
        var view = Ok<CreditChangesView>(await Api.ChangesAsync(Get("/api/changes"), default));
        Assert.Equal("months", view.Comparison);
        Assert.Equal("2026-09", view.From.AsOf.ToString());
        Assert.Equal("2026-10", view.To.AsOf.ToString());
        // Proseware's only association, the Open licence on Trey Research, now ends before the window.
        Assert.Equal(["8901234"], view.GonePartners);
        Assert.Empty(view.NewPartners);
        var smc = view.Competencies.Single(c => c.Competency == "SmallMidmarketCloud");
        Assert.Equal(["8901234"], smc.GonePartners);
        Assert.Empty(smc.Lost); // it was None (12 users, 1 customer) and is now not credited: no level lost

        // The 2026-10 usage is all the window adds for the original samples (their usage starts 2025-11): Alpine prod
        // 12,345.67 (restated; DPOR Fabrikam, EA Contoso US), Alpine dev 1,320.00 (DPOR Contoso DE, EA Contoso US), Wide
        // World's Azure 700.00. The designation samples' partners also lose their 2025-10 month: Tailwind 11,000 − 3,000,
        // Relecloud US 13,200 − 6,200, Lamna 6,500 − 2,000, Relecloud IE 2,500 (its tenant starts 2025-11).
        var cloud = view.Competencies.Single(c => c.Competency == "CloudPlatform");
        Assert.Equal(["1234567", "2345678", "9300000", "9100001", "9200000", "9100002", "1234568", "6789012"], cloud.AcrUsdTtmMovers.Select(m => m.PartnerId));
        Assert.Equal([13_665.67, 12_345.67, 8_000.00, 7_000.00, 4_500.00, 2_500.00, 1_320.00, 700.00], cloud.AcrUsdTtmMovers.Select(m => Math.Round(m.AcrUsdTtmChange, 2)));
        Assert.Empty(cloud.Gained); // Contoso DE 7,400.50 stays under 15,000
        Assert.Empty(cloud.Lost);

        var explicitly = Ok<CreditChangesView>(await Api.ChangesAsync(Get("/api/changes", "asOf=2026-10&since=2026-09&top=1"), default));
        Assert.Equal(["1234567"], explicitly.Competencies.Single(c => c.Competency == "CloudPlatform").AcrUsdTtmMovers.Select(m => m.PartnerId));
    }

    [Fact]
    public async Task Changes_carry_each_designations_status_moves_as_the_published_score_rows_have_them()
    {
        var view = Ok<CreditChangesView>(await Api.ChangesAsync(Get("/api/changes"), default));
        var table = data.Storage.Tables.GetTableClient(TableNames.PartnerCapabilityScore);
        async Task<Dictionary<(string, string), (bool Eligible, bool Qualified)>> StatusAsync(string asOf)
        {
            var rows = new Dictionary<(string, string), (bool, bool)>();
            await foreach (var e in table.QueryAsync<Azure.Data.Tables.TableEntity>($"RowKey gt '{asOf}|' and RowKey lt '{asOf}}}'"))
                rows[(e.PartitionKey, e.GetString("designation"))] = (e.GetBoolean("eligible")!.Value, e.GetBoolean("qualified")!.Value);
            return rows;
        }
        var before = await StatusAsync("2026-09");
        var after = await StatusAsync("2026-10");
        Assert.NotEmpty(after);
        Assert.Equal(after.Keys.Select(k => k.Item1).Distinct().Count(), view.To.ScoredPartners);
        Assert.Equal(before.Keys.Select(k => k.Item1).Distinct().Count(), view.From.ScoredPartners);
        Assert.Null(view.DesignationsNote); // both months have scores
        Assert.Equal(CreditRulesLoader.Default.Designations.Select(d => d.Name), view.Designations.Select(d => d.Designation));
        foreach (var d in view.Designations)
        {
            var ids = before.Keys.Concat(after.Keys).Where(k => k.Item2 == d.Designation).Select(k => k.Item1).Distinct().OrderBy(long.Parse).ToList();
            List<string> Moved(Func<(bool Eligible, bool Qualified), bool> held, bool gained) =>
                [.. ids.Where(id => held(after.GetValueOrDefault((id, d.Designation))) == gained && held(before.GetValueOrDefault((id, d.Designation))) != gained)];
            Assert.Equal(Moved(s => s.Eligible, true), d.EligibleGained);
            Assert.Equal(Moved(s => s.Eligible, false), d.EligibleLost);
            Assert.Equal(Moved(s => s.Qualified, true), d.QualifiedGained);
            Assert.Equal(Moved(s => s.Qualified, false), d.QualifiedLost);
        }
    }

    [Theory]
    [InlineData("asOf=2026-09", 404, "No published month before 2026-09")]
    [InlineData("asOf=2026-08", 404, "No published recalculation for 2026-08.")]
    [InlineData("scenario=nope", 404, "Scenario 'nope' has no finished run.")]
    [InlineData("since=2026-10", 400, "must be before 2026-10")]
    [InlineData("since=2026-09&scenario=x", 400, "not both")]
    [InlineData("asOf=10-2026", 400, "asOf '10-2026' is not a month")]
    [InlineData("top=0", 400, "top '0' must be a whole number")]
    [InlineData("scenario=a%20b", 400, "scenario takes")]
    public async Task Nothing_to_compare_or_bad_input_is_a_problem(string query, int status, string detail) =>
        AssertProblem(await Api.ChangesAsync(Get("/api/changes", query), default), status, detail);
}
