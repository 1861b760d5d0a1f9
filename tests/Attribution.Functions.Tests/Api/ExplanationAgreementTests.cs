using System.Globalization;
using Attribution.Domain;
using Attribution.Domain.Rules;
using Attribution.Functions.Api;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using static Attribution.Functions.Tests.Api.ApiRequests;

namespace Attribution.Functions.Tests.Api;

/// <summary>
/// One answer everywhere (issue 21): on the published samples plus 40 generated tenants, every credited row reads the
/// same from the evidence route (the run's explanation index), from every tenant's records re-walked (how runs before
/// the index are explained), from the tenant view, and — for the designations — from the customer eligibility view.
/// </summary>
public sealed class ExplanationAgreementTests(PublishedSamplesFixture data) : IClassFixture<PublishedSamplesFixture>
{
    private ReadApi Api => data.Storage.Create<ReadApi>();

    private async Task<List<EvidenceRowView>> EvidenceRouteAsync(string partner, string competency)
    {
        var rows = new List<EvidenceRowView>();
        string? token = null;
        do
        {
            var q = $"competency={competency}&pageSize=7" + (token is null ? "" : $"&continuationToken={token}");
            var page = Ok<EvidenceView>(await Api.PartnerEvidenceAsync(Get($"/api/partners/{partner}/evidence", q), partner, default));
            rows.AddRange(page.Rows);
            token = page.ContinuationToken;
        }
        while (token is not null);
        return rows;
    }

    private static string Text(EvidenceRowView r) => string.Join('|',
        r.CustomerTenantId, r.SubscriptionId, r.Workload, r.Month, r.ConsumedRevenueUsd?.ToString("R", CultureInfo.InvariantCulture), r.ActiveUsers,
        r.Share.ToString("R", CultureInfo.InvariantCulture), r.CreditedRevenueUsd.ToString("R", CultureInfo.InvariantCulture),
        r.CreditedActiveUsers.ToString("R", CultureInfo.InvariantCulture), r.DporDays, r.DaysInMonth, r.Sources, r.UsageRecord,
        string.Join(',', r.Associations.Select(a => $"{a.Source}/{a.ValidFrom}/{a.ValidTo}/{a.SubscriptionId}/{a.Workloads}/{a.FeedRecord}")));

    [Fact]
    public async Task Every_credited_row_reads_the_same_from_the_index_the_records_the_tenant_view_and_the_eligibility_view()
    {
        var rules = CreditRulesLoader.Default;
        var asOf = data.Outcome.AsOf;
        var run = (await data.Storage.Get<CreditReader>().ResolveRunAsync(null))!;
        Assert.True(run.ReduceRanges > 0);
        var indexFiles = 0;
        await foreach (var _ in data.Storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer).GetBlobsAsync(BlobTraits.None, BlobStates.None, $"{run.RunId}/snapshot/evidence/", default))
            indexFiles++;
        Assert.InRange(indexFiles, 1, run.PublishRanges);
        var evidence = data.Storage.Get<EvidenceService>();
        // Every customer tenant of the run's records: re-walking them all finds each credited row wherever it is.
        var records = await data.Storage.Get<RecordStore>().AtAsync(run.RecordsVersion);
        var everyTenant = new HashSet<Guid>();
        for (var b = 0; b < records.BucketCount; b++)
            foreach (var u in await records.UsageAsync(b, rules.WindowStart(asOf), asOf)) everyTenant.Add(u.CustomerTenantId);

        var globalOf = new Dictionary<string, string>();
        var byRow = new Dictionary<string, List<(string Partner, EvidenceRowView Row)>>(); // (tenant, sub, workload, month) → credited partners
        var compared = 0;
        await foreach (var credit in data.Storage.Table(TableNames.PartnerCredit).QueryAsync<TableEntity>())
        {
            if (!credit.RowKey.StartsWith(asOf + "|", StringComparison.Ordinal)) continue;
            var partner = credit.PartitionKey;
            var competency = credit.GetString("competency")!;
            globalOf[partner] = credit.GetString("globalPartnerId")!;
            var route = await EvidenceRouteAsync(partner, competency);
            // The same evidence re-computed from the records, as runs without an index are explained.
            var walked = await evidence.ExplainFromRecordsAsync(new PartnerId(long.Parse(partner, CultureInfo.InvariantCulture)), competency, run, everyTenant);
            Assert.Equal(walked.Rows.Select(Text), route.Select(Text));
            Assert.Equal(walked.TotalRows, route.Count);
            Assert.Equal(credit.GetDouble("acrUsdTtm"), walked.AcrUsdTtm);
            foreach (var r in route)
            {
                var key = $"{r.CustomerTenantId}|{r.SubscriptionId}|{r.Workload}|{r.Month}";
                if (!byRow.TryGetValue(key, out var list)) byRow[key] = list = [];
                if (!list.Any(x => x.Partner == partner)) list.Add((partner, r));
            }
            compared += route.Count;
        }
        Assert.True(compared > 500, $"{compared} evidence rows");

        // The tenant view walks each tenant's records alone: the same partners on every row, with the same share,
        // DPOR days and sources (rows of workloads no competency counts are evidence of nothing).
        var competencyWorkloads = rules.Competencies.Aggregate(WorkloadSet.Empty, (w, c) => w.Union(c.Workloads));
        var tenantApi = data.Storage.Create<TenantApi>();
        var fromTenants = new HashSet<string>();
        foreach (var tenant in byRow.Keys.Select(k => k.Split('|')[0]).Distinct())
        {
            var view = Ok<TenantView>(await tenantApi.TenantAsync(Get($"/api/tenants/{tenant}"), tenant, default));
            foreach (var u in view.Usage)
            {
                if (!competencyWorkloads.Contains(Enum.Parse<Workload>(u.Workload))) continue;
                foreach (var p in u.CreditedPartners)
                    fromTenants.Add(string.Join('|', tenant, u.SubscriptionId, u.Workload, u.Month, p.PartnerId, p.Share.ToString("R", CultureInfo.InvariantCulture), p.DporDays, p.Sources));
            }
        }
        var fromEvidence = byRow.SelectMany(kv => kv.Value.Select(x => string.Join('|', kv.Key, x.Partner,
            x.Row.Share.ToString("R", CultureInfo.InvariantCulture), x.Row.DporDays, x.Row.Sources))).ToHashSet();
        Assert.Empty(fromEvidence.Except(fromTenants));
        Assert.Empty(fromTenants.Except(fromEvidence));

        // The eligibility view lists, for each customer, the associations behind its credited rows in M−13 … M: every
        // association of an evidence row of the designation's workloads and sources is among them (full policy).
        Assert.Equal(CreditPolicy.Full, rules.CreditPolicy);
        var checkedAssociations = 0;
        foreach (var d in rules.Designations)
        {
            var customers = new Dictionary<(string Global, string Tenant), HashSet<string>>();
            foreach (var global in globalOf.Values.Distinct())
            {
                if (await Api.PartnerScoreCustomersAsync(Get("/x", $"designation={d.Name}&pageSize=1000"), global, default) is not Microsoft.AspNetCore.Mvc.OkObjectResult ok) continue;
                foreach (var c in ((CustomerEligibilityPage)ok.Value!).Customers)
                    customers[(global, c.CustomerTenantId)] = c.Associations.Select(a => $"{a.IngestionId}#{a.Line}").ToHashSet();
            }
            foreach (var (key, credited) in byRow)
            {
                var workload = Enum.Parse<Workload>(key.Split('|')[2]);
                if (!d.Workloads.Contains(workload)) continue;
                foreach (var (partner, row) in credited)
                {
                    var viaDesignation = row.Associations.Where(a => d.Sources.Any(s => s.Name() == a.Source)).ToList();
                    if (viaDesignation.Count == 0) continue;
                    Assert.True(customers.TryGetValue((globalOf[partner], row.CustomerTenantId), out var listed), $"{d.Name}: {row.CustomerTenantId} of {globalOf[partner]} is not in its eligibility view");
                    foreach (var a in viaDesignation)
                    {
                        Assert.Contains($"{a.FeedRecord.IngestionId}#{a.FeedRecord.Line}", listed);
                        checkedAssociations++;
                    }
                }
            }
        }
        Assert.True(checkedAssociations > 100, $"{checkedAssociations} associations checked");
    }

    [Fact]
    public async Task A_run_begun_before_the_index_is_still_explained_from_its_records()
    {
        // Such a run has the partner → tenant table (PartnerSubscriptions) and no explanation files: built here from the
        // published run's own SubscriptionPartners rows, under another run id, without any evidence file.
        var run = (await data.Storage.Get<CreditReader>().ResolveRunAsync(null))!;
        var legacy = run with { RunId = "legacy-" + Guid.NewGuid().ToString("N")[..8] };
        var snapshots = new SnapshotStore(data.Storage);
        var index = new List<TableEntity>();
        await foreach (var e in snapshots.ReadAllAsync(run.RunId, SnapshotSchema.SubscriptionPartners, run.PublishRanges))
            index.Add(new TableEntity(e.GetString("partnerId"), e.PartitionKey)
            {
                ["customerTenantId"] = e.GetString("customerTenantId"),
                ["sources"] = e.GetString("sources"),
                ["workloads"] = e.GetString("workloads"),
            });
        await snapshots.WriteAsync(legacy.RunId, SnapshotSchema.PartnerSubscriptions, SnapshotStore.ShardPart(0), index, run.PublishRanges);

        var evidence = data.Storage.Get<EvidenceService>();
        var compared = 0;
        await foreach (var credit in data.Storage.Table(TableNames.PartnerCredit).QueryAsync<TableEntity>())
        {
            if (!credit.RowKey.StartsWith(run.AsOf + "|", StringComparison.Ordinal)) continue;
            var partner = new PartnerId(long.Parse(credit.PartitionKey, CultureInfo.InvariantCulture));
            var competency = credit.GetString("competency")!;
            var fromIndex = (await evidence.ExplainAsync(partner, competency, run))!;
            var fromRecords = (await evidence.ExplainAsync(partner, competency, legacy))!;
            Assert.Equal(legacy.RunId, fromRecords.RunId);
            Assert.Equal(fromIndex.Rows.Select(Text), fromRecords.Rows.Select(Text));
            Assert.Equal((fromIndex.Level, fromIndex.AcrUsdTtm, fromIndex.Customers, fromIndex.Sources), (fromRecords.Level, fromRecords.AcrUsdTtm, fromRecords.Customers, fromRecords.Sources));
            compared += fromIndex.TotalRows;
        }
        Assert.True(compared > 500, $"{compared} rows");
        Assert.Null(await evidence.ExplainAsync(new PartnerId(4242424242), "CloudPlatform", legacy));
    }
}
