using System.Globalization;
using Attribution.Domain;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Functions.Api;
using Attribution.Testing;
using Microsoft.AspNetCore.Mvc;
using static Attribution.Functions.Tests.Api.ApiRequests;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>
/// A list's continuation token used to hold only an offset, so a page read after a new publish came from the other
/// run. Tokens carry the run the first page came from (and the list they page): later pages come from that run, or
/// the read fails clearly once that run's snapshot is gone.
/// </summary>
public sealed class PagingAcrossPublishesTests(SmallRecordsFixture azurite) : IClassFixture<SmallRecordsFixture>
{
    private static readonly YearMonth AsOf = RecalculationHarness.AsOf;
    private static readonly string FabrikamId = RecalculationHarness.Fabrikam.ToString(CultureInfo.InvariantCulture);
    private static readonly string ProsewareId = RecalculationHarness.Proseware.ToString(CultureInfo.InvariantCulture);
    private const string Trey = RecalculationHarness.TreyResearchSubscription;

    private ReadApi Api => azurite.Storage.Create<ReadApi>();

    private static string Row(EvidenceRowView r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.CustomerTenantId}|{r.SubscriptionId}|{r.Workload}|{r.Month}|{r.ConsumedRevenueUsd}|{r.CreditedRevenueUsd}|{r.Sources}|{r.UsageRecord.IngestionId}:{r.UsageRecord.Line}");

    private static string Row(SubscriptionPartnerView p) => $"{p.PartnerId}|{p.CustomerTenantId}|{p.Sources}|{p.IsDpor}|{p.Workloads}";

    private Task<IActionResult> Evidence(string query) => Api.PartnerEvidenceAsync(Get($"/api/partners/{FabrikamId}/evidence", "competency=CloudPlatform&" + query), FabrikamId, default);

    private Task<IActionResult> Partners(string query) => Api.SubscriptionPartnersAsync(Get($"/api/subscriptions/{Trey}/partners", query), Trey, default);

    [Fact]
    public async Task Pages_read_after_a_new_publish_come_from_the_run_of_the_first_page_never_a_mix()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var first = await RecalculationHarness.RecalculateAsync(host, AsOf);

        // What the first run says, whole.
        var evidenceOfFirst = Ok<EvidenceView>(await Evidence("pageSize=1000"));
        var partnersOfFirst = Ok<SubscriptionPartnersPage>(await Partners("pageSize=1000"));
        Assert.Equal(first.RunId, evidenceOfFirst.RunId);
        Assert.Equal(first.RunId, partnersOfFirst.RunId);

        // The restatement changes Alpine prod's 2026-10 revenue and drops Proseware from Trey Research: page 1 ends
        // just before those rows, so every later page differs between the runs.
        var changedRow = evidenceOfFirst.Rows.ToList().FindIndex(r => r.SubscriptionId == RecalculationHarness.AlpineProd && r.Month == "2026-10" && r.Workload == "Azure");
        var prosewareRow = partnersOfFirst.Partners.ToList().FindIndex(p => p.PartnerId == ProsewareId);
        Assert.True(changedRow > 0, $"Alpine prod 2026-10 is row {changedRow}");
        Assert.True(prosewareRow > 0, $"Proseware is partner {prosewareRow}");
        var evidencePage1 = Ok<EvidenceView>(await Evidence($"pageSize={changedRow}"));
        var partnersPage1 = Ok<SubscriptionPartnersPage>(await Partners($"pageSize={prosewareRow}"));
        Assert.NotNull(evidencePage1.ContinuationToken);
        Assert.NotNull(partnersPage1.ContinuationToken);

        await RecalculationHarness.RestateAsync(azurite.Storage);
        var second = await RecalculationHarness.RecalculateAsync(host, AsOf);
        Assert.True(second.Published);
        Assert.NotEqual(first.RunId, second.RunId);
        // A first page now reads the new run, which says something else.
        var evidenceOfSecond = Ok<EvidenceView>(await Evidence("pageSize=1000"));
        Assert.Equal(second.RunId, evidenceOfSecond.RunId);
        Assert.NotEqual(evidenceOfFirst.Rows.Select(Row), evidenceOfSecond.Rows.Select(Row));
        Assert.DoesNotContain(Ok<SubscriptionPartnersPage>(await Partners("pageSize=1000")).Partners, p => p.PartnerId == ProsewareId);

        // The lists started on the first run continue on it, page after page.
        var evidence = evidencePage1.Rows.Select(Row).ToList();
        var token = evidencePage1.ContinuationToken;
        for (var pages = 0; token is not null && pages < 100; pages++)
        {
            var page = Ok<EvidenceView>(await Evidence($"pageSize={changedRow}&continuationToken={token}"));
            Assert.Equal((first.RunId, evidenceOfFirst.TotalRows), (page.RunId, page.TotalRows));
            evidence.AddRange(page.Rows.Select(Row));
            token = page.ContinuationToken;
        }
        Assert.Equal(evidenceOfFirst.Rows.Select(Row), evidence);

        var partners = partnersPage1.Partners.Select(Row).ToList();
        token = partnersPage1.ContinuationToken;
        for (var pages = 0; token is not null && pages < 100; pages++)
        {
            var page = Ok<SubscriptionPartnersPage>(await Partners($"pageSize={prosewareRow}&continuationToken={token}"));
            Assert.Equal((first.RunId, partnersOfFirst.TotalPartners), (page.RunId, page.TotalPartners));
            partners.AddRange(page.Partners.Select(Row));
            token = page.ContinuationToken;
        }
        Assert.Equal(partnersOfFirst.Partners.Select(Row), partners);

        // A token pages only the list it came from.
        AssertProblem(await Partners("continuationToken=" + evidencePage1.ContinuationToken), 400, "continuationToken");
        AssertProblem(await Api.PartnerEvidenceAsync(Get("/x", "competency=Security&continuationToken=" + evidencePage1.ContinuationToken), FabrikamId, default), 400, "continuationToken");
        AssertProblem(await Evidence("continuationToken=" + partnersPage1.ContinuationToken), 400, "continuationToken");
        AssertProblem(await Evidence($"asOf=2026-09&continuationToken={evidencePage1.ContinuationToken}"), 400, "continuationToken");

        // One more publish and the first run's snapshot is cleaned up: its tokens are refused clearly, never read
        // from another run.
        var third = await RecalculationHarness.RecalculateAsync(host, AsOf);
        Assert.True(third.Published);
        Assert.False(await new SnapshotStore(azurite.Storage).ExistsAsync(first.RunId));
        AssertProblem(await Evidence($"pageSize={changedRow}&continuationToken={evidencePage1.ContinuationToken}"), 410, "republished");
        AssertProblem(await Partners($"pageSize={prosewareRow}&continuationToken={partnersPage1.ContinuationToken}"), 410, "republished");
    }

    [Fact]
    public async Task A_page_read_while_its_run_is_being_cleaned_up_is_whole_or_a_410_never_part_of_the_run()
    {
        var month = new YearMonth(2026, 8);
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var run = await RecalculationHarness.RecalculateAsync(host, month);
        var whole = Ok<EvidenceView>(await Evidence($"asOf={month}&pageSize=1000"));
        var page1 = Ok<EvidenceView>(await Evidence($"asOf={month}&pageSize=1"));
        Assert.Equal(run.RunId, page1.RunId);
        var rest = whole.Rows.Skip(1).Select(Row).ToList();
        Assert.NotEmpty(rest);

        // What the clean-up does to a run no reader should reach any more, while a client pages it. (With the manifest
        // deleted last, a page read mid-deletion answered 404 "credited on no usage" or a part of the rows.)
        var deletion = new SnapshotStore(azurite.Storage).DeleteRunAsync(run.RunId);
        do
        {
            var result = await Evidence($"asOf={month}&pageSize=1000&continuationToken={page1.ContinuationToken}");
            if (result is OkObjectResult { Value: EvidenceView page })
            {
                Assert.Equal(rest, page.Rows.Select(Row));
            }
            else
            {
                AssertProblem(result, 410, "republished");
            }
        }
        while (!deletion.IsCompleted);
        await deletion;
        AssertProblem(await Evidence($"asOf={month}&continuationToken={page1.ContinuationToken}"), 410, "republished");
    }

}
