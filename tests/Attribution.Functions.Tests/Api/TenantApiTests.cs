using Attribution.Testing;
using Attribution.Pipeline.Reading;
using Attribution.Functions.Api;
using Microsoft.AspNetCore.Mvc;
using static Attribution.Functions.Tests.Api.ApiRequests;

namespace Attribution.Functions.Tests.Api;

/// <summary>GET /api/tenants/{tenantId} on the published samples; expectations read off samples/feeds by hand.</summary>
public sealed class TenantApiTests(PublishedSamplesFixture data) : IClassFixture<PublishedSamplesFixture>
{
    private const string Trey = "3d581895-9d1f-4841-8daf-9df15c1216c8";
    private const string TreySub = "28c9ad96-6c67-4ad3-8abd-5d711b2641b3";

    private TenantApi Api => data.Storage.Create<TenantApi>();

    [Fact]
    public async Task A_tenant_view_shows_its_associations_DPOR_timeline_and_credited_partners_of_the_published_run()
    {
        var v = Ok<TenantView>(await Api.TenantAsync(Get($"/api/tenants/{Trey}"), Trey, default));
        Assert.True(v.Published);
        Assert.Equal(data.Outcome.RunId, v.RunId);
        Assert.Equal(("2026-10", "2025-11"), (v.AsOf.ToString(), v.WindowFrom.ToString()));

        // 12 months of Exchange: usage-2025.csv lines 13 and 30, usage-2026.csv.gz every 18th line from 13.
        Assert.Equal(12, v.Usage.Count);
        Assert.All(v.Usage, u => Assert.Equal((TreySub, "Exchange"), (u.SubscriptionId, u.Workload)));
        Assert.Equal(11, v.Usage.Single(u => u.Month == "2026-03").ActiveUsers);
        Assert.Equal(new FeedRecordView("usage-2025.csv", v.Usage[0].FeedRecord.IngestionId, 13), v.Usage[0].FeedRecord);
        Assert.Equal(("usage-2026.csv.gz", 175L), (v.Usage[^1].FeedRecord.File, v.Usage[^1].FeedRecord.Line));

        Assert.Equal(
            ["dpor 3456789 2024-11-04..2026-08-19 2025-11..2026-08 10 dpor.csv:8", "dap 1234568 2026-04-01.. 2026-04..2026-10 7 dap.jsonl:4",
             "sales 8901234 2025-06-01..2028-05-31 2025-11..2026-10 12 sales.csv:4"],
            v.Associations.Select(a => $"{a.Source} {a.PartnerId} {a.ValidFrom}..{a.ValidTo} {a.InForceFrom}..{a.InForceTo} {a.CreditedRows} {a.FeedRecord.File}:{a.FeedRecord.Line}"));
        Assert.Equal("Open", v.Associations.Single(a => a.Source == "sales").Program);

        var timeline = Assert.Single(v.DporTimelines);
        Assert.Null(timeline.DporOnLastDay);
        Assert.Equal(["2024-11-04 set", "2026-08-20 remove"], timeline.Events.Select(e => $"{e.EffectiveDate} {e.Action}"));

        Assert.Equal(["1234568 dap 7", "3456789 dpor 10", "8901234 sales 12"], v.Partners.Select(p => $"{p.PartnerId} {p.Sources} {p.CreditedRows}"));
        var published = Assert.Single(v.Subscriptions).Published!;
        Assert.Equal(["1234568", "3456789", "8901234"], published.Select(p => p.PartnerId).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("085ae8c6-9639-4735-bcb4-fc74c396af32")]
    [InlineData("3d581895-9d1f-4841-8daf-9df15c1216c8")]
    [InlineData("a43b868b-8cb7-4b96-9df3-13d95e29f180")]
    [InlineData("bbdc79ef-c388-417b-bdef-d3cf4e4665d2")]
    [InlineData("c5db956e-2ec2-4fa5-b99d-b6559031fb3e")]
    [InlineData("caf3e770-6092-4a33-8995-f6c713416dfb")]
    [InlineData("e969650a-1b9f-42f3-a895-9ad6a19e2f62")]
    [InlineData("f928a468-7d40-43da-aa39-a63ea1fb9834")]
    public async Task Every_sample_tenants_credited_partners_are_the_published_subscription_partners(string tenant)
    {
        var v = Ok<TenantView>(await Api.TenantAsync(Get($"/api/tenants/{tenant}"), tenant, default));
        foreach (var sub in v.Subscriptions)
        {
            // What the view's walk credits on the subscription (from its usage rows) against what the run published.
            var walked = v.Usage.Where(u => u.SubscriptionId == sub.SubscriptionId).SelectMany(u => u.CreditedPartners)
                .GroupBy(c => c.PartnerId)
                .Select(g => $"{g.Key} {string.Join(';', g.SelectMany(c => c.Sources.Split(';')).Distinct().Order(StringComparer.Ordinal))} " +
                    string.Join(';', v.Usage.Where(u => u.SubscriptionId == sub.SubscriptionId && u.CreditedPartners.Any(c => c.PartnerId == g.Key)).Select(u => u.Workload).Distinct().Order(StringComparer.Ordinal)))
                .Order(StringComparer.Ordinal);
            Assert.Equal(sub.Published!.Select(p => $"{p.PartnerId} {p.Sources} {p.Workloads}").Order(StringComparer.Ordinal), walked);
            Assert.All(sub.Published!, p => Assert.Equal(p.IsDpor, sub.DporOnLastDay == p.PartnerId));
        }
        Assert.All(v.Partners, p => Assert.Equal(p.Credited, v.Usage.Any(u => u.CreditedPartners.Any(c => c.PartnerId == p.PartnerId))));
    }

    [Fact]
    public async Task PartnerId_focuses_the_answer_on_one_partner()
    {
        var v = Ok<TenantView>(await Api.TenantAsync(Get($"/api/tenants/{Trey}", "partnerId=2345678&asOf=2026-10"), Trey, default));
        var fabrikam = Assert.Single(v.Partners);
        Assert.False(fabrikam.Credited);
        Assert.Empty(v.Associations);
        Assert.Contains("No association", Assert.Single(fabrikam.Reasons), StringComparison.Ordinal);

        v = Ok<TenantView>(await Api.TenantAsync(Get($"/api/tenants/{Trey}", "partnerId=3456789"), Trey, default));
        var northwind = Assert.Single(v.Partners);
        Assert.Equal("2026-08", northwind.CreditedTo);
        Assert.Contains(northwind.Reasons, r => r.Contains("ended 2026-08-19", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_input_is_400_and_an_unknown_tenant_404()
    {
        AssertProblem(await Api.TenantAsync(Get("/api/tenants/nope"), "nope", default), 400);
        AssertProblem(await Api.TenantAsync(Get($"/api/tenants/{Trey}", "asOf=2026-13"), Trey, default), 400);
        AssertProblem(await Api.TenantAsync(Get($"/api/tenants/{Trey}", "partnerId=x1"), Trey, default), 400);
        AssertProblem(await Api.TenantAsync(Get("/api/tenants/x"), Guid.NewGuid().ToString(), default), 404);
    }
}
