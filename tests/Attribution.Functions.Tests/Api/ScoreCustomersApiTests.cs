using Attribution.Domain;
using Attribution.Domain.Rules;
using Attribution.Functions.Api;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Data.Tables;
using static Attribution.Functions.Tests.Api.ApiRequests;

namespace Attribution.Functions.Tests.Api;

/// <summary>
/// GET /api/partners/{id}/score/customers on the published samples plus 40 generated tenants: for every scored global
/// partner and designation, the view's customers match an independent implementation of §7 (ScoreOracle) tenant by
/// tenant, and add up to the published PartnerCapabilityScore row.
/// </summary>
public sealed class ScoreCustomersApiTests(PublishedSamplesFixture data) : IClassFixture<PublishedSamplesFixture>
{
    private ReadApi Api => data.Storage.Create<ReadApi>();

    private async Task<List<CustomerEligibilityView>> AllPagesAsync(string partner, string designation, string query = "")
    {
        var customers = new List<CustomerEligibilityView>();
        string? token = null;
        do
        {
            var q = $"designation={designation}&pageSize=3{query}" + (token is null ? "" : $"&continuationToken={token}");
            var page = Ok<CustomerEligibilityPage>(await Api.PartnerScoreCustomersAsync(Get($"/api/partners/{partner}/score/customers", q), partner, default));
            Assert.True(page.Customers.Count <= 3);
            customers.AddRange(page.Customers);
            token = page.ContinuationToken;
        }
        while (token is not null);
        return customers;
    }

    [Fact]
    public async Task Every_customer_matches_the_independent_implementation_and_the_totals_are_the_published_metrics()
    {
        var rules = CreditRulesLoader.Default;
        var asOf = data.Outcome.AsOf;
        var records = await data.Storage.Get<RecordStore>().LatestAsync();
        var usage = new List<UsageRecord>();
        var associations = new List<Association>();
        var dpor = new List<DporEvent>();
        for (var b = 0; b < records.BucketCount; b++)
        {
            usage.AddRange(await records.UsageAsync(b, RunResults.FirstUsageMonth(rules, asOf), asOf));
            associations.AddRange(await records.AssociationsAsync(b));
            dpor.AddRange(await records.DporEventsAsync(b));
        }
        var partners = new List<PartnerRecord>();
        await foreach (var p in records.PartnersAsync()) partners.Add(p);

        var rows = new List<TableEntity>();
        await foreach (var e in data.Storage.Table(TableNames.PartnerCapabilityScore).QueryAsync<TableEntity>())
            if (e.RowKey.StartsWith(asOf + "|", StringComparison.Ordinal)) rows.Add(e);
        Assert.True(rows.Count > 40, $"{rows.Count} score rows");
        var compared = 0;
        foreach (var row in rows)
        {
            var global = row.PartitionKey;
            var designation = row.GetString("designation")!;
            var track = row.GetString("track")!;
            var expected = ScoreOracle.ExpectedCustomers(rules, asOf, usage, associations, dpor, partners, long.Parse(global, System.Globalization.CultureInfo.InvariantCulture), designation, track);
            var page = Ok<CustomerEligibilityPage>(await Api.PartnerScoreCustomersAsync(Get("/x", $"designation={designation}&pageSize=1000"), global, default));
            Assert.Equal(track, page.Track);
            var actual = page.Customers.OrderBy(c => c.CustomerTenantId, StringComparer.Ordinal).ToList();
            Assert.Equal(expected.Select(c => c.CustomerTenantId.ToString("D")).Order(StringComparer.Ordinal), actual.Select(c => c.CustomerTenantId));
            foreach (var (e, a) in expected.OrderBy(c => c.CustomerTenantId.ToString("D"), StringComparer.Ordinal).Zip(actual))
            {
                var where = $"{global}/{designation}/{a.CustomerTenantId}";
                foreach (var (x, y, name) in new[] { (e.ValueM, a.ValueM, "M"), (e.ValueM1, a.ValueM1, "M-1"), (e.ValueM12, a.ValueM12, "M-12"), (e.ValueM13, a.ValueM13, "M-13"), (e.WindowSum, a.WindowSum, "sum"), (e.WindowPeak, a.WindowPeak, "peak") })
                    Assert.True(ScoreOracle.Close(x, y), $"{where} {name}: {x} vs {y}");
                Assert.Equal((e.CountsNow, e.CountsYearAgo, e.CountsDeployment), (a.CountsNow, a.CountsYearAgo, a.CountsDeployment));
                Assert.NotEmpty(a.Associations); // a credited customer is credited through something
                // …and only through what was in force in a month the metrics read (M−13 … M).
                Assert.All(a.Associations, x => Assert.True(
                    string.CompareOrdinal(x.ValidFrom, asOf.LastDay.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)) <= 0
                    && (x.ValidTo is null || string.CompareOrdinal(x.ValidTo, asOf.AddMonths(-13).FirstDay.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)) >= 0),
                    $"{where}: {x.Source} {x.PartnerId} {x.ValidFrom}..{x.ValidTo}"));
                compared++;
            }
            // The totals are the published metric values of the chosen track.
            if (row.GetInt32("netCustomerAdds") is { } adds)
            {
                Assert.Equal(adds, page.Totals.NetCustomerAdds);
                Assert.Equal(adds, actual.Count(c => c.CountsNow) - actual.Count(c => c.CountsYearAgo));
            }
            if (row.GetInt32("deployments") is { } deployments) Assert.Equal(deployments, actual.Count(c => c.CountsDeployment));
        }
        Assert.True(compared > 40, $"{compared} customers compared");
    }

    [Fact]
    public async Task Pages_filters_and_order_follow_the_view()
    {
        // Relecloud (samples/feeds/README.md): t2–t5 added since a year ago, t6 lost (its CSP link ended 2025-10-31),
        // t1 counted both times, t7 under the 1,000 minimum. The customers that changed the net adds come first.
        var all = await AllPagesAsync("9100001", "infrastructure");
        Assert.Equal(7, all.Count);
        Assert.All(all.Take(4), c => Assert.True(c.CountsNow && !c.CountsYearAgo && c.ValueM == 2500));
        Assert.True(all[4] is { CountsNow: false, CountsYearAgo: true, ValueM: 0, ValueM12: 1200 });
        Assert.Equal("2025-10-31", Assert.Single(all[4].Associations).ValidTo);
        Assert.True(all[5] is { CountsNow: true, CountsYearAgo: true, ValueM: 5000, ValueM12: 5000 });
        Assert.True(all[6] is { CountsNow: false, CountsYearAgo: false, ValueM: 700 });
        Assert.Contains(all[6].Conditions, c => c is { Metric: "netCustomerAdds", Months: "2026-10", Value: 700, Min: 1000, Met: false });
        Assert.Contains(all.SelectMany(c => c.Associations), a => a.Source == "pal" && a.PartnerId == "9100002");

        var yearAgo = await AllPagesAsync("9100000", "Infrastructure", "&counted=yes&condition=yearAgo");
        Assert.Equal([all[4].CustomerTenantId, all[5].CustomerTenantId], yearAgo.Select(c => c.CustomerTenantId));
        Assert.Equal([all[4].CustomerTenantId, all[6].CustomerTenantId], (await AllPagesAsync("9100000", "Infrastructure", "&counted=no")).Select(c => c.CustomerTenantId));
    }

    [Fact]
    public async Task Bad_input_is_a_problem_naming_what_is_wrong()
    {
        AssertProblem(await Api.PartnerScoreCustomersAsync(Get("/x"), "9100000", default), 400); // designation is required
        AssertProblem(await Api.PartnerScoreCustomersAsync(Get("/x", "designation=Data"), "9100000", default), 400);
        AssertProblem(await Api.PartnerScoreCustomersAsync(Get("/x", "designation=Infrastructure&counted=maybe"), "9100000", default), 400);
        AssertProblem(await Api.PartnerScoreCustomersAsync(Get("/x", "designation=Infrastructure&condition=later"), "9100000", default), 400);
        AssertProblem(await Api.PartnerScoreCustomersAsync(Get("/x", "designation=Infrastructure&continuationToken=abc"), "9100000", default), 400);
        AssertProblem(await Api.PartnerScoreCustomersAsync(Get("/x", "designation=Infrastructure"), "999", default), 404);
    }

    [Fact]
    public async Task The_tenant_view_and_the_customer_view_name_the_same_customers_for_every_partner_and_designation()
    {
        // §7.4 and the tenant view describe one thing from two sides: a customer is in (G, D)'s eligibility view exactly
        // when the tenant view says its usage counts toward D for G in a month the metrics read (M−13 … M).
        var asOf = data.Outcome.AsOf;
        var scored = new HashSet<(string Global, string Designation)>();
        await foreach (var e in data.Storage.Table(TableNames.PartnerCapabilityScore).QueryAsync<TableEntity>())
            if (e.RowKey.StartsWith(asOf + "|", StringComparison.Ordinal)) scored.Add((e.PartitionKey, e.GetString("designation")!));
        var fromCustomers = new HashSet<(string Tenant, string Global, string Designation)>();
        foreach (var (global, designation) in scored)
            foreach (var c in Ok<CustomerEligibilityPage>(await Api.PartnerScoreCustomersAsync(Get("/x", $"designation={designation}&pageSize=1000"), global, default)).Customers)
                fromCustomers.Add((c.CustomerTenantId, global, designation));

        var records = await data.Storage.Get<RecordStore>().LatestAsync();
        var tenants = new HashSet<Guid>();
        for (var b = 0; b < records.BucketCount; b++)
            foreach (var u in await records.UsageAsync(b, asOf.AddMonths(-13), asOf)) tenants.Add(u.CustomerTenantId);
        var months = Enumerable.Range(0, 14).Select(i => asOf.AddMonths(-i).ToString()).ToHashSet();
        var tenantApi = data.Storage.Create<TenantApi>();
        var fromTenants = new HashSet<(string Tenant, string Global, string Designation)>();
        foreach (var tenant in tenants)
        {
            var view = Ok<TenantView>(await tenantApi.TenantAsync(Get($"/api/tenants/{tenant:D}"), tenant.ToString("D"), default));
            foreach (var d in view.Designations)
                if (d.Months.Any(months.Contains) && scored.Contains((d.GlobalPartnerId, d.Designation)))
                    fromTenants.Add((tenant.ToString("D"), d.GlobalPartnerId, d.Designation));
        }
        Assert.True(fromCustomers.Count > 40, $"{fromCustomers.Count} customers");
        Assert.Empty(fromCustomers.Except(fromTenants));
        Assert.Empty(fromTenants.Except(fromCustomers));
    }
}
