using System.Globalization;
using Attribution.Core.Credit;
using Attribution.Core.Domain;
using Attribution.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace Attribution.Core.Recalculation;

/// <summary>
/// Results of a run. A run first stages its complete results in RecalculationResults under its runId;
/// publishing copies them into the published tables (§4) and removes the rows of that asOf the run no longer
/// produces. Readers resolve the published run from RecalculationRuns (switched in one transaction) and read
/// its staged snapshot, so they see either the previous complete run or the new one, never a mix.
/// Scenario runs are staged only.
/// </summary>
public sealed class ResultStore(StorageAccount storage)
{
    /// <summary>Staged-only index from partner to the subscriptions it was credited on (for evidence).</summary>
    public const string PartnerSubscriptionsIndex = "PartnerSubscriptions";

    public static readonly IReadOnlyList<string> PublishedTables =
        [TableNames.PartnerCredit, TableNames.GlobalPartnerCredit, TableNames.SubscriptionPartners, TableNames.IncentiveEligibility];

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);

    public static string StagedPartition(string runId, string table, string partitionKey) => $"{runId}|{table}|{partitionKey}";

    public static TableEntity PartnerCreditEntity(PartnerCreditRow r, string asOf, string rulesVersion, string runId)
    {
        var e = new TableEntity(Num(r.PartnerId), $"{asOf}|{r.Competency}")
        {
            ["partnerId"] = Num(r.PartnerId),
            ["globalPartnerId"] = Num(r.GlobalPartnerId),
        };
        return WithCredit(e, r.Competency, asOf, r.AcrUsdTtm, r.PeakMonthlyActiveUsers, r.Customers, r.Level, r.NextLevel, r.Progress,
            r.IncentiveEligibleAcrUsdTtm, r.Sources, rulesVersion, runId);
    }

    public static TableEntity GlobalPartnerCreditEntity(GlobalPartnerCreditRow r, string asOf, string rulesVersion, string runId)
    {
        var e = new TableEntity(Num(r.GlobalPartnerId), $"{asOf}|{r.Competency}")
        {
            ["partnerId"] = Num(r.GlobalPartnerId),
            ["locations"] = r.Locations,
        };
        return WithCredit(e, r.Competency, asOf, r.AcrUsdTtm, r.PeakMonthlyActiveUsers, r.Customers, r.Level, r.NextLevel, r.Progress,
            r.IncentiveEligibleAcrUsdTtm, r.Sources, rulesVersion, runId);
    }

    // The properties PartnerCredit and GlobalPartnerCredit share (§4).
    private static TableEntity WithCredit(TableEntity e, string competency, string asOf, double acr, double peak, int customers, string level,
        string? nextLevel, double progress, double incentive, string sources, string rulesVersion, string runId)
    {
        e["competency"] = competency;
        e["asOf"] = asOf;
        e["acrUsdTtm"] = acr;
        e["peakMonthlyActiveUsers"] = peak;
        e["customers"] = customers;
        e["level"] = level;
        e["nextLevel"] = nextLevel;
        e["progress"] = progress;
        e["incentiveEligibleAcrUsdTtm"] = incentive;
        e["sources"] = sources;
        e["rulesVersion"] = rulesVersion;
        e["runId"] = runId;
        return e;
    }

    public static TableEntity SubscriptionPartnerEntity(SubscriptionPartnerRow r, string asOf, string runId) =>
        new(r.SubscriptionId.ToString("D"), $"{asOf}|{Num(r.PartnerId)}")
        {
            ["customerTenantId"] = r.CustomerTenantId.ToString("D"),
            ["partnerId"] = Num(r.PartnerId),
            ["sources"] = r.Sources,
            ["isDpor"] = r.IsDpor,
            ["workloads"] = r.Workloads.ToString(),
            ["runId"] = runId,
        };

    public static TableEntity IncentiveEligibilityEntity(IncentiveEligibilityRow r, string runId) =>
        new(Num(r.DporPartnerId), $"{r.Month}|{r.SubscriptionId:D}")
        {
            ["customerTenantId"] = r.CustomerTenantId.ToString("D"),
            ["acrUsd"] = r.AcrUsd,
            ["dporDays"] = r.DporDays,
            ["daysInMonth"] = r.DaysInMonth,
            ["incentiveAcrUsd"] = r.IncentiveAcrUsd,
            ["runId"] = runId,
        };

    /// <summary>Writes the run's complete results under its runId. Idempotent (same keys, same values).</summary>
    public async Task<long> StageAsync(string runId, string asOf, CreditResults results, CancellationToken cancellationToken = default)
    {
        var writer = new TableBatchWriter(storage.Table(TableNames.RunResults), maxInFlight: 8);
        await using (writer.ConfigureAwait(false))
        {
            async ValueTask Stage(string table, TableEntity e)
            {
                var staged = new TableEntity(StagedPartition(runId, table, e.PartitionKey), e.RowKey);
                foreach (var (k, v) in e) if (k is not ("PartitionKey" or "RowKey")) staged[k] = v;
                await writer.UpsertAsync(staged, cancellationToken).ConfigureAwait(false);
            }
            foreach (var r in results.PartnerCredit) await Stage(TableNames.PartnerCredit, PartnerCreditEntity(r, asOf, results.RulesVersion, runId)).ConfigureAwait(false);
            foreach (var r in results.GlobalPartnerCredit) await Stage(TableNames.GlobalPartnerCredit, GlobalPartnerCreditEntity(r, asOf, results.RulesVersion, runId)).ConfigureAwait(false);
            foreach (var r in results.SubscriptionPartners)
            {
                await Stage(TableNames.SubscriptionPartners, SubscriptionPartnerEntity(r, asOf, runId)).ConfigureAwait(false);
                await Stage(PartnerSubscriptionsIndex, new TableEntity(Num(r.PartnerId), r.SubscriptionId.ToString("D"))
                {
                    ["customerTenantId"] = r.CustomerTenantId.ToString("D"),
                    ["sources"] = r.Sources,
                    ["workloads"] = r.Workloads.ToString(),
                }).ConfigureAwait(false);
            }
            foreach (var r in results.IncentiveEligibility) await Stage(TableNames.IncentiveEligibility, IncentiveEligibilityEntity(r, runId)).ConfigureAwait(false);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            return writer.Written;
        }
    }

    /// <summary>Copies a staged run into the published tables and removes rows of its asOf it no longer produces.</summary>
    public async Task<(long Written, long Removed)> PublishAsync(string runId, YearMonth asOf, int windowMonths, CancellationToken cancellationToken = default)
    {
        var writers = PublishedTables.ToDictionary(t => t, t => new TableBatchWriter(storage.Table(t)));
        long written = 0, removed = 0;
        try
        {
            var range = TableClient.CreateQueryFilter($"PartitionKey ge {runId + "|"} and PartitionKey lt {runId + "|~"}");
            await foreach (var staged in storage.Table(TableNames.RunResults).QueryAsync<TableEntity>(range, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var parts = staged.PartitionKey.Split('|', 3);
                if (!writers.TryGetValue(parts[1], out var writer)) continue; // staged-only indexes
                var e = new TableEntity(parts[2], staged.RowKey);
                foreach (var (k, v) in staged)
                    if (k is not ("PartitionKey" or "RowKey" or "odata.etag" or "Timestamp")) e[k] = v;
                await writer.UpsertAsync(e, cancellationToken).ConfigureAwait(false);
            }
            foreach (var w in writers.Values) await w.FlushAsync(cancellationToken).ConfigureAwait(false);
            written = writers.Values.Sum(w => w.Written);

            // Rows of this asOf still carrying another run's id are ones this run does not produce.
            var month = asOf.ToString();
            var windowStart = asOf.AddMonths(1 - windowMonths).ToString();
            foreach (var table in PublishedTables)
            {
                var from = table == TableNames.IncentiveEligibility ? windowStart : month;
                var stale = TableClient.CreateQueryFilter($"RowKey ge {from + "|"} and RowKey lt {month + "|~"} and runId ne {runId}");
                var deleter = new TableBatchWriter(storage.Table(table));
                await using (deleter.ConfigureAwait(false))
                {
                    await foreach (var e in storage.Table(table).QueryAsync<TableEntity>(stale, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
                        await deleter.DeleteAsync(e.PartitionKey, e.RowKey, cancellationToken).ConfigureAwait(false);
                    await deleter.FlushAsync(cancellationToken).ConfigureAwait(false);
                    removed += deleter.Written;
                }
            }
        }
        finally
        {
            foreach (var w in writers.Values) await w.DisposeAsync().ConfigureAwait(false);
        }
        return (written, removed);
    }

    /// <summary>Deletes the staged snapshot of a run that no reader can resolve any more.</summary>
    public async Task DeleteStagedAsync(string runId, CancellationToken cancellationToken = default)
    {
        var range = TableClient.CreateQueryFilter($"PartitionKey ge {runId + "|"} and PartitionKey lt {runId + "|~"}");
        var deleter = new TableBatchWriter(storage.Table(TableNames.RunResults));
        await using (deleter.ConfigureAwait(false))
        {
            await foreach (var e in storage.Table(TableNames.RunResults).QueryAsync<TableEntity>(range, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
                await deleter.DeleteAsync(e.PartitionKey, e.RowKey, cancellationToken).ConfigureAwait(false);
            await deleter.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        var blobs = storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer);
        await foreach (var blob in blobs.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, runId + "/", cancellationToken).ConfigureAwait(false))
            await blobs.DeleteBlobIfExistsAsync(blob.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A run's staged rows of one table partition (e.g. a partner's PartnerCredit), with the published keys.</summary>
    public async Task<List<TableEntity>> ReadAsync(string runId, string table, string partitionKey, CancellationToken cancellationToken = default)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {StagedPartition(runId, table, partitionKey)}");
        var list = new List<TableEntity>();
        await foreach (var staged in storage.Table(TableNames.RunResults).QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var e = new TableEntity(partitionKey, staged.RowKey);
            foreach (var (k, v) in staged)
                if (k is not ("PartitionKey" or "RowKey" or "odata.etag" or "Timestamp")) e[k] = v;
            list.Add(e);
        }
        return list;
    }

    /// <summary>Every staged row of one table of a run (summaries, scenario views).</summary>
    public async IAsyncEnumerable<TableEntity> ReadAllAsync(string runId, string table, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var prefix = $"{runId}|{table}|";
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {prefix} and PartitionKey lt {prefix + "~"}");
        await foreach (var staged in storage.Table(TableNames.RunResults).QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var e = new TableEntity(staged.PartitionKey[prefix.Length..], staged.RowKey);
            foreach (var (k, v) in staged)
                if (k is not ("PartitionKey" or "RowKey" or "odata.etag" or "Timestamp")) e[k] = v;
            yield return e;
        }
    }

    internal static bool IsNotFound(RequestFailedException e) => e.Status == 404;
}
