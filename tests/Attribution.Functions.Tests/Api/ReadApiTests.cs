using Attribution.Testing;
using System.Text.Json;
using Attribution.Pipeline.Reading;
using Attribution.Domain.Rules;
using Attribution.Functions.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using static Attribution.Functions.Tests.Api.ApiRequests;

namespace Attribution.Functions.Tests.Api;

public sealed class ReadApiTests(PublishedSamplesFixture data) : IClassFixture<PublishedSamplesFixture>
{
    private ReadApi Api => data.Storage.Create<ReadApi>();

    [Fact]
    public async Task Credit_returns_every_competency_of_the_latest_published_run()
    {
        var view = Ok<PartnerCreditView>(await Api.PartnerCreditAsync(Get("/api/partners/2345678/credit"), "2345678", default));
        Assert.Equal("2026-10", view.AsOf.ToString());
        Assert.Equal("location", view.Scope);
        Assert.Equal(data.Outcome.RunId, view.RunId);
        Assert.Equal(CreditRulesLoader.Default.Competencies.Select(c => c.Name).Order(), view.Competencies.Select(c => c.Competency).Order());
        var cloud = view.Competencies.Single(c => c.Competency == "CloudPlatform");
        Assert.Equal("Gold", cloud.Level.Name);
        Assert.Null(cloud.NextLevel);
        Assert.Equal(1, cloud.Progress);
        Assert.Equal("dpor", cloud.Sources);

        var same = Ok<PartnerCreditView>(await Api.PartnerCreditAsync(Get("/api/partners/2345678/credit", "asOf=2026-10"), " 0002345678 ", default));
        Assert.Equal(view.Competencies, same.Competencies);
    }

    [Fact]
    public async Task Global_scope_reads_the_rolled_up_credit_with_its_locations()
    {
        var view = Ok<PartnerCreditView>(await Api.PartnerCreditAsync(Get("/api/partners/1234500/credit", "scope=global"), "1234500", default));
        Assert.Equal("global", view.Scope);
        Assert.Equal("1234567;1234568", view.Locations);
        // Neither location reaches SmallMidmarketCloud Silver alone; together they do (samples/feeds/README.md).
        Assert.Equal("Silver", view.Competencies.Single(c => c.Competency == "SmallMidmarketCloud").Level.Name);
        AssertProblem(await Api.PartnerCreditAsync(Get("/api/partners/1234500/credit"), "1234500", default), 404);
    }

    [Fact]
    public async Task Evidence_rows_sum_exactly_to_the_published_metrics_for_every_partner_and_competency()
    {
        var partners = await data.Storage.Get<CreditReader>().AllPartnersAsync((await data.Storage.Get<CreditReader>().ResolveRunAsync(null))!);
        Assert.True(partners.Count > 15, $"{partners.Count} partners");
        foreach (var partner in partners)
        {
            foreach (var published in partner.Competencies)
            {
                var e = Ok<EvidenceView>(await Api.PartnerEvidenceAsync(
                    Get($"/api/partners/{partner.PartnerId}/evidence", $"competency={published.Competency}&pageSize=1000"), partner.PartnerId, default));
                Assert.Null(e.ContinuationToken);
                var where = $"{partner.PartnerId}/{published.Competency}";
                Assert.True(Math.Abs(published.AcrUsdTtm - e.Rows.Sum(r => r.CreditedRevenueUsd)) <= 1e-6, $"{where} acr");
                var peak = e.Rows.GroupBy(r => r.Month).Select(g => g.Sum(r => r.CreditedActiveUsers)).DefaultIfEmpty(0).Max();
                Assert.True(Math.Abs(published.PeakMonthlyActiveUsers - peak) <= 1e-6, $"{where} peak");
                var customers = e.Rows.Where(r => r.CreditedRevenueUsd > 0 || r.CreditedActiveUsers > 0).Select(r => r.CustomerTenantId).Distinct().Count();
                Assert.Equal(published.Customers, customers);
                Assert.Equal(published.Level, e.Level);
                Assert.Equal(published.Sources, e.Sources);
                Assert.All(e.Rows, r => Assert.NotEmpty(r.Associations));
                Assert.All(e.Rows.SelectMany(r => r.Associations), a => Assert.True(a.FeedRecord.Line > 0 && a.FeedRecord.IngestionId.Length > 0, where));
            }
        }
    }

    [Fact]
    public async Task Evidence_names_the_gap_to_the_next_level()
    {
        var e = Ok<EvidenceView>(await Api.PartnerEvidenceAsync(Get("/api/partners/1234567/evidence", "competency=smallmidmarketcloud"), "1234567", default));
        Assert.Equal("SmallMidmarketCloud", e.Competency);
        Assert.Equal("Silver", e.NextLevel?.Name);
        var customers = e.GapToNextLevel.Single(g => g.Metric == "customers");
        Assert.Equal(4, customers.Required);
        Assert.Equal(e.Customers, customers.Current);
        Assert.Equal(Math.Max(0, 4 - e.Customers), customers.Missing);
    }

    [Fact]
    public async Task Paging_returns_every_evidence_row_exactly_once()
    {
        var all = Ok<EvidenceView>(await Api.PartnerEvidenceAsync(Get("/x", "competency=CloudPlatform&pageSize=1000"), "1000001", default));
        Assert.True(all.TotalRows > 7, $"{all.TotalRows} rows");
        var seen = new List<EvidenceRowView>();
        string? token = null;
        var pages = 0;
        do
        {
            var query = "competency=CloudPlatform&pageSize=3" + (token is null ? "" : "&continuationToken=" + token);
            var page = Ok<EvidenceView>(await Api.PartnerEvidenceAsync(Get("/x", query), "1000001", default));
            Assert.True(page.Rows.Count <= 3);
            Assert.Equal(all.TotalRows, page.TotalRows);
            seen.AddRange(page.Rows);
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null && pages < 1000);
        Assert.Equal(all.Rows.Count, seen.Count);
        Assert.Equal(all.Rows.Select(Key), seen.Select(Key));
        Assert.Equal(seen.Count, seen.Select(Key).Distinct().Count());
    }

    private static string Key(EvidenceRowView r) => $"{r.CustomerTenantId}|{r.SubscriptionId}|{r.Workload}|{r.Month}";

    [Fact]
    public async Task Subscription_partners_page_through_every_partner_exactly_once()
    {
        // The sample subscription with the most partners (DPOR, CSP provider and reseller, DAP, FastTrack…).
        var storage = data.Storage;
        var rows = await Attribution.Testing.StorageReads.AllAsync(storage, Attribution.Pipeline.Storage.TableNames.SubscriptionPartners);
        var busiest = rows.Where(r => r.RowKey.StartsWith("2026-10|", StringComparison.Ordinal)).GroupBy(r => r.PartitionKey).OrderByDescending(g => g.Count()).First();
        Assert.True(busiest.Count() >= 3, $"{busiest.Count()} partners");

        var full = Ok<SubscriptionPartnersPage>(await Api.SubscriptionPartnersAsync(Get("/x"), busiest.Key.ToUpperInvariant(), default));
        Assert.Equal(busiest.Count(), full.TotalPartners);
        Assert.Equal(busiest.Select(r => r.GetString("partnerId")).Order(), full.Partners.Select(p => p.PartnerId).Order());
        Assert.True(full.Partners.Count(p => p.IsDpor) <= 1);

        var seen = new List<string>();
        string? token = null;
        do
        {
            var page = Ok<SubscriptionPartnersPage>(await Api.SubscriptionPartnersAsync(Get("/x", "pageSize=1" + (token is null ? "" : "&continuationToken=" + token)), busiest.Key, default));
            seen.AddRange(page.Partners.Select(p => p.PartnerId));
            token = page.ContinuationToken;
        }
        while (token is not null && seen.Count < 100);
        Assert.Equal(full.Partners.Select(p => p.PartnerId), seen);
    }

    public static TheoryData<string, string, string> BadInputs => new()
    {
        { "credit", "12ab", "" },
        { "credit", "12345678901", "" },
        { "credit", "2345678", "asOf=2026-13" },
        { "credit", "2345678", "asOf=202610" },
        { "credit", "2345678", "scope=planet" },
        { "evidence", "2345678", "" },
        { "evidence", "2345678", "competency=Quantum" },
        { "evidence", "2345678", "competency=CloudPlatform&pageSize=0" },
        { "evidence", "2345678", "competency=CloudPlatform&pageSize=5000" },
        { "evidence", "2345678", "competency=CloudPlatform&pageSize=ten" },
        { "evidence", "2345678", "competency=CloudPlatform&continuationToken=garbage!" },
        { "evidence", "x", "competency=CloudPlatform" },
        { "subscription", "not-a-guid", "" },
        { "subscription", "00000000-0000-0000-0000-000000000001", "asOf=26-10" },
        { "subscription", "00000000-0000-0000-0000-000000000001", "continuationToken=%%%" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_is_a_400_problem_never_a_500(string route, string id, string query)
    {
        var request = Get("/x", query);
        var result = route switch
        {
            "credit" => await Api.PartnerCreditAsync(request, id, default),
            "evidence" => await Api.PartnerEvidenceAsync(request, id, default),
            _ => await Api.SubscriptionPartnersAsync(request, id, default),
        };
        AssertProblem(result, 400);
    }

    [Fact]
    public async Task Unknown_partners_subscriptions_and_months_are_404_problems()
    {
        AssertProblem(await Api.PartnerCreditAsync(Get("/x"), "999", default), 404);
        AssertProblem(await Api.PartnerEvidenceAsync(Get("/x", "competency=Security"), "999", default), 404);
        AssertProblem(await Api.SubscriptionPartnersAsync(Get("/x"), Guid.NewGuid().ToString(), default), 404);
        AssertProblem(await Api.PartnerCreditAsync(Get("/x", "asOf=2019-01"), "2345678", default), 404);
    }

    [Fact]
    public void The_openapi_document_describes_every_http_route_the_app_declares()
    {
        var result = Assert.IsType<ContentResult>(OpenApiDocument.Get(Get("/api/openapi.json")));
        Assert.Equal("application/json", result.ContentType);
        using var doc = JsonDocument.Parse(result.Content!);
        Assert.StartsWith("3.", doc.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = doc.RootElement.GetProperty("paths");

        var routes = 0;
        foreach (var function in FunctionMetadata.All().EnumerateArray())
        {
            foreach (var binding in function.GetProperty("bindings").EnumerateArray().Where(b => b.GetProperty("type").GetString() == "httpTrigger"))
            {
                var route = "/" + binding.GetProperty("route").GetString();
                if (route == "/openapi.json") continue;
                routes++;
                Assert.True(paths.TryGetProperty(route, out var path), $"{route} is not in openapi.json");
                foreach (var method in binding.GetProperty("methods").EnumerateArray())
                {
                    Assert.True(path.TryGetProperty(method.GetString()!, out var operation), $"{method} {route} is not in openapi.json");
                    Assert.Equal(function.GetProperty("name").GetString(), operation.GetProperty("operationId").GetString());
                    var declared = operation.TryGetProperty("parameters", out var ps)
                        ? ps.EnumerateArray().Where(x => x.GetProperty("in").GetString() == "path").Select(x => x.GetProperty("name").GetString()).ToHashSet()
                        : [];
                    foreach (var segment in route.Split('/').Where(s => s.StartsWith('{')))
                        Assert.Contains(segment.Trim('{', '}'), declared);
                }
            }
        }
        Assert.Equal(11, routes); // GET /changes, /tenants/{tenantId}, /partners/{partnerId}/score and .../score/customers are the eighth to eleventh
    }
}
