using Attribution.Domain;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;
using Attribution.Testing;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>
/// §2.6: a run's evidence is explained from exactly the records it read, even after later feeds restate them.
/// Written against the RecordSnapshot API: it holds once RecordStore is versioned (segments); while RecordStore
/// reads the tables (Version always 0), AtAsync(run's version) returns today's records and this test fails.
/// </summary>
public sealed class OlderRunEvidenceTests(RecordsFixture azurite) : IClassFixture<RecordsFixture>
{
    [Fact]
    public async Task Evidence_of_an_older_run_after_a_restatement_still_explains_that_runs_numbers()
    {
        var asOf = RecalculationHarness.AsOf;
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var first = await RecalculationHarness.RecalculateAsync(host, asOf);
        await RecalculationHarness.RestateAsync(azurite.Storage, alpineOctoberRevenue: 99_999.99);
        var second = await RecalculationHarness.RecalculateAsync(host, asOf);

        var runs = azurite.Storage.Get<RunStore>();
        var reader = azurite.Storage.Get<CreditReader>();
        var evidence = azurite.Storage.Get<EvidenceService>();
        foreach (var outcome in new[] { first, second })
        {
            var run = (await runs.GetAsync(asOf, outcome.RunId))!;
            var published = (await reader.PartnerAsync(new PartnerId(RecalculationHarness.Fabrikam), run, global: false))!.Competencies.Single(c => c.Competency == "CloudPlatform");
            var explained = (await evidence.ExplainAsync(new PartnerId(RecalculationHarness.Fabrikam), "CloudPlatform", run))!;
            Assert.Equal(run.RunId, explained.RunId);
            Assert.Equal(published.AcrUsdTtm, explained.AcrUsdTtm, 6);
            Assert.Equal(published.AcrUsdTtm, explained.Rows.Sum(r => r.CreditedRevenueUsd), 6);
        }
        // The restatement moved the number, so the first run's evidence is not simply today's.
        Assert.NotEqual(
            (await reader.PartnerAsync(new PartnerId(RecalculationHarness.Fabrikam), (await runs.GetAsync(asOf, first.RunId))!, global: false))!.Competencies.Single(c => c.Competency == "CloudPlatform").AcrUsdTtm,
            (await reader.PartnerAsync(new PartnerId(RecalculationHarness.Fabrikam), (await runs.GetAsync(asOf, second.RunId))!, global: false))!.Competencies.Single(c => c.Competency == "CloudPlatform").AcrUsdTtm);
    }
}
