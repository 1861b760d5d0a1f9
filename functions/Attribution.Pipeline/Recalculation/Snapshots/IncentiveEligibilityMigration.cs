using System.Text.Json;
using Attribution.Pipeline.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Recalculation.Snapshots;

/// <summary>What the one-time move of <c>IncentiveEligibility</c> to asOf keys did.</summary>
public sealed record IncentiveEligibilityMigrationResult(DateTimeOffset CompletedAt, long LegacyRowsRemoved, long RowsRewritten, IReadOnlyList<string> MonthsRewritten);

/// <summary>
/// Moves a store whose <c>IncentiveEligibility</c> rows are in the layout before §4 keyed them by asOf
/// (<c>{month}|{subscriptionId}</c>, shared between overlapping months) to today's (<c>{asOf}|{month}|{subscriptionId}</c>),
/// once, at the first publish after the upgrade: every legacy row is removed, and every published month whose snapshot
/// still has the legacy layout gets its rows written under its own asOf from that snapshot (the snapshot, not the
/// table, is what readers of that month saw). A marker blob records that it is done; the move holds a lease on it,
/// so concurrent publishes wait for one move instead of racing it. Idempotent: a move that died half-way is run again.
/// </summary>
public sealed class IncentiveEligibilityMigration(StorageAccount storage, RunStore runs, ILogger<IncentiveEligibilityMigration> logger)
{
    private const string MarkerBlob = "migrations/incentive-eligibility-asof-keys.json";
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);
    private readonly SnapshotStore _snapshots = new(storage);
    private volatile bool _done;

    /// <summary>Runs the move unless it is recorded as done; returns what it did (null: already done).</summary>
    public async Task<IncentiveEligibilityMigrationResult?> EnsureAsync(CancellationToken cancellationToken = default)
    {
        if (_done) return null;
        var container = storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer);
        var marker = container.GetBlobClient(MarkerBlob);
        if (await IsDoneAsync(marker, cancellationToken).ConfigureAwait(false)) return null;

        // Another publish moving the rows holds the lock: wait for it, or for its marker.
        var held = await BlobLock.AcquireAsync(container.GetBlobClient(MarkerBlob + ".lock"), Lease,
            ct => IsDoneAsync(marker, ct), logger, cancellationToken).ConfigureAwait(false);
        if (held is null) return null;
        await using (held.ConfigureAwait(false))
        {
            if (await IsDoneAsync(marker, cancellationToken).ConfigureAwait(false)) return null;
            var result = await MoveAsync(cancellationToken).ConfigureAwait(false);
            await marker.UploadAsync(BinaryData.FromObjectAsJson(result, new JsonSerializerOptions(JsonSerializerDefaults.Web)), overwrite: true, cancellationToken).ConfigureAwait(false);
            _done = true;
            return result;
        }
    }

    private async Task<bool> IsDoneAsync(Azure.Storage.Blobs.BlobClient marker, CancellationToken cancellationToken)
    {
        if (!(await marker.ExistsAsync(cancellationToken).ConfigureAwait(false)).Value) return false;
        _done = true;
        return true;
    }

    private async Task<IncentiveEligibilityMigrationResult> MoveAsync(CancellationToken cancellationToken)
    {
        var table = storage.Table(TableNames.IncentiveEligibility);
        await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);

        // 1. Remove every legacy row (keys only: one pass over the table).
        long removed = 0;
        var deletes = new TableBatchWriter(table, maxInFlight: 8);
        await using (deletes.ConfigureAwait(false))
        {
            await foreach (var e in table.QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"], maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (!CreditEntities.IsLegacyIncentiveEligibilityKey(e.RowKey)) continue;
                await deletes.DeleteAsync(e.PartitionKey, e.RowKey, cancellationToken).ConfigureAwait(false);
                removed++;
            }
            await deletes.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        // 2. Each published month's rows under its own asOf, from its snapshot (one publish range at a time).
        long rewritten = 0;
        var months = new List<string>();
        foreach (var run in (await runs.ListAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Where(r => r.Published && r.PublishRanges > 0))
        {
            if (await _snapshots.ReadManifestAsync(run.RunId, cancellationToken).ConfigureAwait(false) is null) continue;
            var legacy = false;
            var writes = new TableBatchWriter(table, maxInFlight: 8, groupedByPartition: true);
            await using (writes.ConfigureAwait(false))
            {
                for (var range = 0; range < run.PublishRanges; range++)
                {
                    foreach (var row in await _snapshots.ReadRangeAsync(run.RunId, SnapshotSchema.IncentiveEligibility, range, cancellationToken).ConfigureAwait(false))
                    {
                        // A snapshot in today's layout was published in today's layout: nothing to move.
                        if (!CreditEntities.IsLegacyIncentiveEligibilityKey(row.RowKey)) break;
                        legacy = true;
                        var e = CreditEntities.FromLegacyIncentiveEligibility(row, run.AsOf);
                        e["runId"] = run.RunId;
                        await writes.UpsertAsync(e, cancellationToken).ConfigureAwait(false);
                        rewritten++;
                    }
                }
                await writes.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            if (legacy) months.Add(run.AsOf.ToString());
        }
        months.Sort(StringComparer.Ordinal);
        return new IncentiveEligibilityMigrationResult(DateTimeOffset.UtcNow, removed, rewritten, months);
    }
}
