using System.Globalization;
using Attribution.Domain;
using Attribution.Pipeline.Storage;
using Azure.Data.Tables;

namespace Attribution.Pipeline.Recalculation.Snapshots;

/// <summary>
/// Publishes one publish range of a run's snapshot to the §4 tables by diffing it against the same range of the
/// base run (the run published when this one began publishing): rows whose values changed, and new rows, are
/// upserted with the run's id; rows the base had and the run does not are deleted by their keys; unchanged rows
/// are not touched, so `runId` on a row names the run that last changed it and an unchanged re-run writes nothing.
/// Deterministic and idempotent (a retry computes the same plan, re-upserts the same values, and a delete of a row
/// already gone is skipped), so a crash mid-publish is finished by running the range again.
/// Memory: one range of one table at a time (new and base rows), plus the writer's bounded buffers.
/// </summary>
public sealed class SnapshotPublisher(StorageAccount storage)
{
    private readonly SnapshotStore _snapshots = new(storage);

    public async Task<IReadOnlyList<TablePublishCount>> PublishRangeAsync(PublishPlan plan, int range, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var baseManifest = plan.BaseRunId is null ? null : await _snapshots.ReadManifestAsync(plan.BaseRunId, cancellationToken).ConfigureAwait(false);
        var counts = new List<TablePublishCount>();
        foreach (var table in CreditEntities.PublishedTables)
        {
            var schema = SnapshotSchema.Of(table);
            var next = await _snapshots.ReadRangeAsync(plan.RunId, schema, range, cancellationToken).ConfigureAwait(false);
            var previous = plan.BaseRunId is null ? []
                : baseManifest is not null ? await BaseFromSnapshotAsync(baseManifest, schema, range, plan.PublishRanges, cancellationToken).ConfigureAwait(false)
                : null;
            // A base snapshot from before IncentiveEligibility was keyed by asOf does not describe the table any more (its
            // rows were shared and are migrated away): the table's rows of the asOf are the base.
            if (previous is null || (schema == SnapshotSchema.IncentiveEligibility && previous.Any(r => CreditEntities.IsLegacyIncentiveEligibilityKey(r.RowKey))))
                previous = await BaseFromTableAsync(plan, schema, range, cancellationToken).ConfigureAwait(false);
            counts.Add(await ApplyAsync(table, plan.RunId, previous, next, cancellationToken).ConfigureAwait(false));
        }
        return counts;
    }

    /// <summary>The base run's rows of this range: only the base files that overlap it when one split is a multiple of the other.</summary>
    private async Task<List<TableEntity>> BaseFromSnapshotAsync(RunManifest manifest, SnapshotSchema schema, int range, int publishRanges, CancellationToken cancellationToken)
    {
        var baseRanges = manifest.PublishRanges;
        if (baseRanges == publishRanges)
            return await _snapshots.ReadRangeAsync(manifest.RunId, schema, range, cancellationToken).ConfigureAwait(false);
        var rows = new List<TableEntity>();
        if (baseRanges % publishRanges == 0)
        {
            // The base is split finer: this range is the union of base ranges range, range + N, … (PartitionRanges).
            for (var r = range; r < baseRanges; r += publishRanges)
                rows.AddRange(await _snapshots.ReadRangeAsync(manifest.RunId, schema, r, cancellationToken).ConfigureAwait(false));
        }
        else if (publishRanges % baseRanges == 0)
        {
            // The base is split coarser: this range lies inside base range (range mod M).
            foreach (var row in await _snapshots.ReadRangeAsync(manifest.RunId, schema, range % baseRanges, cancellationToken).ConfigureAwait(false))
                if (PartitionRanges.Of(row.PartitionKey, publishRanges) == range) rows.Add(row);
        }
        else
        {
            await foreach (var row in _snapshots.ReadAllAsync(manifest.RunId, schema, baseRanges, cancellationToken).ConfigureAwait(false))
                if (PartitionRanges.Of(row.PartitionKey, publishRanges) == range) rows.Add(row);
        }
        rows.Sort(SnapshotStore.KeyOrder);
        return rows;
    }

    /// <summary>
    /// Fallback when the base run has no snapshot (published before snapshots existed, or its files were removed) or
    /// an outdated one: the table itself is the base. One query per table over the asOf's row keys, keeping only this
    /// range's partitions — a scan of the table's rows for the asOf per range, once, after which every publish diffs
    /// snapshots again.
    /// </summary>
    private async Task<List<TableEntity>> BaseFromTableAsync(PublishPlan plan, SnapshotSchema schema, int range, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"RowKey ge {plan.AsOf + "|"} and RowKey lt {plan.AsOf + "|~"}");
        var rows = new List<TableEntity>();
        await foreach (var e in storage.Table(schema.Table).QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (PartitionRanges.Of(e.PartitionKey, plan.PublishRanges) != range) continue;
            var row = new TableEntity(e.PartitionKey, e.RowKey);
            foreach (var column in schema.Columns.Skip(2))
                if (e.TryGetValue(column.Name, out var v)) row[column.Name] = v;
            rows.Add(row);
        }
        rows.Sort(SnapshotStore.KeyOrder);
        return rows;
    }

    private async Task<TablePublishCount> ApplyAsync(string table, string runId, List<TableEntity> previous, List<TableEntity> next, CancellationToken cancellationToken)
    {
        long written = 0, removed = 0;
        var writer = new TableBatchWriter(storage.Table(table), maxInFlight: 8, groupedByPartition: true);
        await using (writer.ConfigureAwait(false))
        {
            int i = 0, j = 0;
            while (i < previous.Count || j < next.Count)
            {
                var order = i == previous.Count ? 1 : j == next.Count ? -1 : SnapshotStore.KeyOrder(previous[i], next[j]);
                if (order < 0)
                {
                    await writer.DeleteAsync(previous[i].PartitionKey, previous[i].RowKey, cancellationToken).ConfigureAwait(false);
                    removed++;
                    i++;
                    continue;
                }
                if (order > 0 || !SameValues(previous[i], next[j]))
                {
                    var e = new TableEntity(next[j].PartitionKey, next[j].RowKey);
                    foreach (var (k, v) in next[j]) if (k is not ("PartitionKey" or "RowKey" or "odata.etag" or "Timestamp")) e[k] = v;
                    e["runId"] = runId;
                    await writer.UpsertAsync(e, cancellationToken).ConfigureAwait(false);
                    written++;
                }
                if (order == 0) i++;
                j++;
            }
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        return new TablePublishCount(table, written, removed);
    }

    /// <summary>Same published values (runId and storage metadata aside; a missing property equals null; numbers by value).</summary>
    public static bool SameValues(TableEntity a, TableEntity b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        foreach (var key in a.Keys.Union(b.Keys))
        {
            if (key is "PartitionKey" or "RowKey" or "odata.etag" or "Timestamp" or "runId") continue;
            var x = a.TryGetValue(key, out var xv) ? xv : null;
            var y = b.TryGetValue(key, out var yv) ? yv : null;
            if (!Same(x, y)) return false;
        }
        return true;
    }

    private static bool Same(object? x, object? y) => (x, y) switch
    {
        (null, null) => true,
        (null, _) or (_, null) => false,
        (string s, string t) => string.Equals(s, t, StringComparison.Ordinal),
        (bool p, bool q) => p == q,
        (IConvertible p, IConvertible q) when IsNumber(p) && IsNumber(q) =>
            p.ToDouble(CultureInfo.InvariantCulture).Equals(q.ToDouble(CultureInfo.InvariantCulture)),
        _ => Equals(x, y),
    };

    private static bool IsNumber(IConvertible v) => v.GetTypeCode() is TypeCode.Int32 or TypeCode.Int64 or TypeCode.Double;
}
