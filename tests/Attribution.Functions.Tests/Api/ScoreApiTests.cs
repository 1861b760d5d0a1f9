using Attribution.Functions.Api;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Data.Tables;
using static Attribution.Functions.Tests.Api.ApiRequests;

namespace Attribution.Functions.Tests.Api;

/// <summary>GET /api/partners/{id}/score on the published samples (plus 40 generated tenants).</summary>
public sealed class ScoreApiTests(PublishedSamplesFixture data) : IClassFixture<PublishedSamplesFixture>
{
    private ScoreApi Api => data.Storage.Create<ScoreApi>();

    /// <summary>The published table's rows of a global partner for the run's month, read with the table client.</summary>
    private async Task<List<TableEntity>> TableRowsAsync(string globalPartnerId)
    {
        var rows = new List<TableEntity>();
        await foreach (var e in data.Storage.Table(TableNames.PartnerCapabilityScore).QueryAsync<TableEntity>(e => e.PartitionKey == globalPartnerId))
            if (e.RowKey.StartsWith(data.Outcome.AsOf + "|", StringComparison.Ordinal)) rows.Add(e);
        return rows;
    }

    [Fact]
    public async Task Every_designation_reads_as_the_published_table_row_says()
    {
        var view = Ok<PartnerScoreView>(await Api.PartnerScoreAsync(Get("/api/partners/9100000/score"), "9100000", default));
        Assert.Equal(data.Outcome.RunId, view.RunId);
        var rows = await TableRowsAsync("9100000");
        Assert.Equal(rows.Count, view.Designations.Count);
        foreach (var d in view.Designations)
        {
            var row = Assert.Single(rows, r => r.GetString("designation") == d.Designation);
            Assert.Equal(row.GetString("track"), d.Track);
            Assert.Equal(row.GetDouble("score"), d.Score);
            Assert.Equal(row.GetBoolean("qualified"), d.Qualified);
            Assert.Equal(row.GetBoolean("eligible"), d.Eligible);
            Assert.Equal(row.GetString("qualifiedMonths"), string.Join(';', d.QualifiedMonths));
            Assert.Equal(row.GetString("zeroMetrics"), string.Join(';', d.ZeroMetrics));
            Assert.Equal(row.GetDouble("pointsToQualify"), d.PointsToQualify);
            Assert.Equal(Math.Max(0, d.QualifyingPoints - d.Score), d.PointsToQualify, 9);
            foreach (var m in d.Metrics)
            {
                var points = m.Metric == "usageGrowth" ? "usageGrowthPoints" : m.Metric + "Points";
                Assert.Equal(row.GetDouble(points), m.Points);
                Assert.InRange(m.Points, 0, m.MaxPoints);
                // A metric below its maximum says what the next point takes; one at it says so.
                Assert.Equal(m.Points >= m.MaxPoints, m.NextPoint.StartsWith("at maxPoints", StringComparison.Ordinal));
            }
        }
        // The samples' qualifying partner (samples/feeds/README.md): Relecloud, Infrastructure.
        Assert.True(view.Designations.Single(d => d.Designation == "Infrastructure").Qualified);
    }

    [Fact]
    public async Task A_location_reads_its_global_partner_and_a_designation_filters_in_any_case()
    {
        var view = Ok<PartnerScoreView>(await Api.PartnerScoreAsync(Get("/api/partners/9100001/score", "designation=INFRASTRUCTURE&asOf=2026-10"), "9100001", default));
        Assert.Equal("9100000", view.GlobalPartnerId);
        Assert.Equal("9100001", view.RequestedPartnerId);
        Assert.Equal("Infrastructure", Assert.Single(view.Designations).Designation);
    }

    [Fact]
    public async Task Bad_input_is_a_problem_naming_what_is_wrong()
    {
        AssertProblem(await Api.PartnerScoreAsync(Get("/x", "designation=Data"), "9100000", default), 400);
        AssertProblem(await Api.PartnerScoreAsync(Get("/x"), "abc", default), 400);
        AssertProblem(await Api.PartnerScoreAsync(Get("/x", "asOf=2026-13"), "9100000", default), 400);
        AssertProblem(await Api.PartnerScoreAsync(Get("/x"), "999", default), 404);
        AssertProblem(await Api.PartnerScoreAsync(Get("/x", "asOf=2019-01"), "9100000", default), 404);
    }
}
