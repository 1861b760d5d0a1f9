using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Domain.Rules;
using Attribution.Domain.Scores;
using Attribution.Pipeline.Storage;

namespace Attribution.Pipeline.Recalculation.Snapshots;

/// <summary>
/// The storage side of each recalculation step: what a shard reads and writes, what a reduce range reads and
/// writes, and which runs' files are kept. Activities are thin steps over these methods.
/// </summary>
public sealed class RunResults(StorageAccount storage, RecordStore records)
{
    private readonly SnapshotStore _snapshots = new(storage);
    private readonly EvidenceIndexStore _evidence = new(storage);
    private readonly RecordStore _records = records;

    internal SnapshotStore Snapshots => _snapshots;

    /// <summary>The reduce range a partner's (or a global partner's) partials go to.</summary>
    public static CreditScope ReduceScope(int range, int reduceRanges) =>
        new(p => PartitionRanges.OfPartner(p, reduceRanges) == range, g => PartitionRanges.OfPartner(g, reduceRanges) == range);

    /// <summary>The first usage month a run reads: its credit window's, or earlier for the designations (§7.3, 19 months by default).</summary>
    public static YearMonth FirstUsageMonth(CreditRules rules, YearMonth asOf)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var window = rules.WindowStart(asOf);
        var scores = ScoreAccumulator.FirstMonthOf(rules, asOf);
        return scores < window ? scores : window;
    }

    /// <summary>A shard's input: only its buckets, at the run's records version.</summary>
    public async Task<CreditInput> ReadShardInputAsync(long recordsVersion, int shard, int shardCount, CreditRules rules, YearMonth asOf, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var records = await _records.AtAsync(recordsVersion, cancellationToken).ConfigureAwait(false);
        var partners = records.GlobalPartnerMapAsync(cancellationToken);
        var buckets = RecordStore.BucketsOfShard(shard, shardCount, records.BucketCount).ToList();
        var usage = buckets.Select(b => records.UsageAsync(b, FirstUsageMonth(rules, asOf), asOf, cancellationToken)).ToList();
        var associations = buckets.Select(b => records.AssociationsAsync(b, cancellationToken)).ToList();
        var dpor = buckets.Select(b => records.DporEventsAsync(b, cancellationToken)).ToList();
        await Task.WhenAll(usage.Cast<Task>().Concat(associations).Concat(dpor).Append(partners)).ConfigureAwait(false);
        return new CreditInput
        {
            AsOf = asOf,
            Rules = rules,
            Usage = usage.SelectMany(t => t.Result).ToList(),
            Associations = associations.SelectMany(t => t.Result).ToList(),
            DporEvents = dpor.SelectMany(t => t.Result).ToList(),
            GlobalPartnerOf = await partners.ConfigureAwait(false),
        };
    }

    /// <summary>
    /// Writes a shard's partials, one file per reduce range (empty ones included, so a reduce knows every shard has
    /// reported): its per-partner partials, and its tenant-level rows (SubscriptionPartners, IncentiveEligibility, the
    /// customer index) and explanation chunks routed by the reduce range of their table partition (or partner), which
    /// the reduce writes into the snapshot.
    /// Written by the shards, those rows cost one snapshot file per shard × publish range × table (6,144 small blobs at
    /// 100k tenants, and the emulator serves blob requests one at a time); through the reduces, one per publish range.
    /// Returns the snapshot rows written (none: the reduces write them).
    /// </summary>
    public async Task<long> WriteShardAsync(ShardWork work, ShardCredit shard, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(shard);
        var ranges = work.ReduceRanges;
        // Same hash as the publish split: range r of R holds publish ranges r, r + R, … when P is a multiple of R.
        var subscriptions = Route(shard.SubscriptionPartners, r => r.SubscriptionId.ToString("D"), ranges);
        var incentives = Route(shard.IncentiveEligibility, r => r.DporPartnerId.ToString(), ranges);
        var evidence = Route(shard.Evidence, c => c.PartnerId.ToString(System.Globalization.CultureInfo.InvariantCulture), ranges);
        await Parallel.ForEachAsync(Enumerable.Range(0, ranges), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (range, ct) =>
            await _snapshots.WritePartialAsync(work.RunId, range, work.Shard, new ReducePartial
            {
                Credit = CreditEngine.Slice(shard, ReduceScope(range, ranges)) with { SubscriptionPartners = subscriptions[range], IncentiveEligibility = incentives[range] },
                Routed = true,
                Evidence = evidence[range],
            }, ct).ConfigureAwait(false))
            .ConfigureAwait(false);
        return 0;
    }

    private static List<T>[] Route<T>(IReadOnlyList<T> rows, Func<T, string> partitionKey, int ranges)
    {
        var byRange = new List<T>[ranges];
        for (var i = 0; i < ranges; i++) byRange[i] = [];
        foreach (var row in rows) byRange[PartitionRanges.Of(partitionKey(row), ranges)].Add(row);
        return byRange;
    }

    /// <summary>Every shard's partials of one reduce range, in shard order (so sums are in a fixed order).</summary>
    internal async Task<ReducePartial[]> ReadReduceInputAsync(ReduceWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return await Task.WhenAll(Enumerable.Range(0, work.ShardCount)
            .Select(shard => _snapshots.ReadPartialAsync(work.RunId, work.Range, shard, cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>
    /// The range's capability scores (§7): its global partners' merged score partials, and their certifications read
    /// at the run's records version (partner-level, streamed; only this range's partners are kept).
    /// </summary>
    public async Task<IReadOnlyList<CapabilityScoreRow>> ScoreRangeAsync(ReduceWork work, CreditRules rules, IReadOnlyList<ShardCredit> partials, CreditResults credit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(partials);
        ArgumentNullException.ThrowIfNull(credit);
        if (rules.Designations.Count == 0) return [];
        var inScope = (Func<long, bool>)(g => PartitionRanges.OfPartner(g, work.ReduceRanges) == work.Range);
        var certifications = new List<CertificationRecord>();
        Dictionary<long, long> globalOf;
        if (await _snapshots.ReadCertificationsAsync(work.RunId, work.Range, cancellationToken).ConfigureAwait(false) is { } split)
        {
            // Begin split them by reduce range once: this range reads its own file, not every certification.
            globalOf = [];
            foreach (var c in split)
            {
                certifications.Add(c.Certification);
                globalOf[c.Certification.PartnerId] = c.GlobalPartnerId;
            }
        }
        else
        {
            var records = await _records.AtAsync(work.RecordsVersion, cancellationToken).ConfigureAwait(false);
            globalOf = await records.GlobalPartnerMapAsync(cancellationToken).ConfigureAwait(false);
            await foreach (var c in records.CertificationsAsync(cancellationToken).ConfigureAwait(false))
                if (inScope(globalOf.TryGetValue(c.PartnerId, out var g) ? g : c.PartnerId)) certifications.Add(c);
        }
        return CapabilityScores.Finish(rules, work.AsOf, partials.SelectMany(p => p.Scores),
            credit.GlobalPartnerCredit.Select(r => r.GlobalPartnerId.Value).Distinct(), certifications, globalOf, inScope);
    }

    /// <summary>
    /// Splits the certifications the designations can read (in force on the last day of a month of the longest
    /// qualification window ending asOf) by the reduce range of their global partner, one file per range, so each
    /// reduce reads its own partners' and the run reads the certifications once. Idempotent (a retried Begin rewrites
    /// the same files); nothing without designations.
    /// </summary>
    public async Task WriteCertificationsAsync(RunManifest manifest, CreditRules rules, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(rules);
        if (rules.Designations.Count == 0) return;
        var records = await _records.AtAsync(manifest.RecordsVersion, cancellationToken).ConfigureAwait(false);
        var globalOf = await records.GlobalPartnerMapAsync(cancellationToken).ConfigureAwait(false);
        var days = Enumerable.Range(0, rules.Designations.Max(d => d.QualificationMonths)).Select(i => manifest.AsOf.AddMonths(-i).LastDay).ToArray();
        var byRange = Enumerable.Range(0, manifest.ReduceRanges).Select(_ => new List<RangeCertification>()).ToArray();
        await foreach (var c in records.CertificationsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!Array.Exists(days, c.InForceOn)) continue;
            var g = globalOf.TryGetValue(c.PartnerId, out var x) ? x : c.PartnerId;
            byRange[PartitionRanges.OfPartner(g, manifest.ReduceRanges)].Add(new RangeCertification(g, c));
        }
        await Parallel.ForEachAsync(Enumerable.Range(0, manifest.ReduceRanges), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (range, ct) => await _snapshots.WriteCertificationsAsync(manifest.RunId, range, byRange[range], ct).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes a reduce range's PartnerCredit, GlobalPartnerCredit and PartnerCapabilityScore rows, and the rows its shards
    /// routed to it (<paramref name="partials"/>: SubscriptionPartners, IncentiveEligibility, the customer index, the
    /// explanation index), into the run's snapshot: one file per publish range per table. PartnerSubscriptions (the
    /// partner → tenant index evidence read before the explanation index) comes only from partials of runs begun before.
    /// </summary>
    internal async Task<(long SnapshotRows, EvidenceIndexStore.Written Evidence)> WriteReduceAsync(ReduceWork work, CreditResults results, IReadOnlyList<CapabilityScoreRow> scores, ReducePartial[] partials, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(partials);
        var part = SnapshotStore.ReducePart(work.Range);
        var asOf = work.AsOf;
        // The routed tables one at a time, each let go of once written: a table is held as entities while it is split
        // and encoded, and the shards' rows would otherwise stay alive until the last table is written.
        long tenantRows = 0;
        var evidence = await _evidence.WriteAsync(work.RunId, work.Range, work.PublishRanges, partials.SelectMany(p => p.Evidence), cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < partials.Length; i++) partials[i] = partials[i] with { Evidence = [] };
        tenantRows += await _snapshots.WriteAsync(work.RunId, SnapshotSchema.SubscriptionPartners, part,
            partials.Where(p => p.Routed).SelectMany(p => p.Credit.SubscriptionPartners).Select(r => CreditEntities.SubscriptionPartnerEntity(r, asOf)), work.PublishRanges, cancellationToken).ConfigureAwait(false);
        tenantRows += await _snapshots.WriteAsync(work.RunId, SnapshotSchema.PartnerSubscriptions, part,
            partials.Where(p => p.Routed).SelectMany(p => p.PartnerIndex).Select(CreditEntities.PartnerSubscriptionEntity), work.PublishRanges, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < partials.Length; i++) partials[i] = partials[i] with { Credit = partials[i].Credit with { SubscriptionPartners = [] }, PartnerIndex = [] };
        tenantRows += await _snapshots.WriteAsync(work.RunId, SnapshotSchema.IncentiveEligibility, part,
            partials.Where(p => p.Routed).SelectMany(p => p.Credit.IncentiveEligibility).Select(r => CreditEntities.IncentiveEligibilityEntity(r, asOf)), work.PublishRanges, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < partials.Length; i++) partials[i] = partials[i] with { Credit = partials[i].Credit with { IncentiveEligibility = [] } };
        tenantRows += await _snapshots.WriteAsync(work.RunId, SnapshotSchema.ScoreCustomers, part,
            partials.SelectMany(p => p.Credit.ScoreCustomers).Select(CreditEntities.ScoreCustomerEntity), work.PublishRanges, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < partials.Length; i++) partials[i] = partials[i] with { Credit = partials[i].Credit with { ScoreCustomers = [] } };
        var written = await Task.WhenAll(
            _snapshots.WriteAsync(work.RunId, SnapshotSchema.PartnerCapabilityScore, part,
                scores.Select(r => CreditEntities.PartnerCapabilityScoreEntity(r, results.RulesVersion)), work.PublishRanges, cancellationToken),
            _snapshots.WriteAsync(work.RunId, SnapshotSchema.PartnerCredit, part,
                results.PartnerCredit.Select(r => CreditEntities.PartnerCreditEntity(r, work.AsOf, results.RulesVersion)), work.PublishRanges, cancellationToken),
            _snapshots.WriteAsync(work.RunId, SnapshotSchema.GlobalPartnerCredit, part,
                results.GlobalPartnerCredit.Select(r => CreditEntities.GlobalPartnerCreditEntity(r, work.AsOf, results.RulesVersion)), work.PublishRanges, cancellationToken))
            .ConfigureAwait(false);
        return (tenantRows + written.Sum(), evidence);
    }

    /// <summary>
    /// Keeps, per asOf, the published run's snapshot and the one it replaced (a reader may have resolved it a moment
    /// ago), and the latest two of each scenario; drops older runs' files and every finished run's partials.
    /// Runs still Running or Publishing are never touched.
    /// </summary>
    public async Task CleanUpAsync(IReadOnlyList<RecalculationRun> runs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var finished = runs.Where(r => r.Status is RunStatus.Succeeded or RunStatus.Failed).ToList();
        var keep = new HashSet<string>(StringComparer.Ordinal);
        if (finished.Where(r => r.Published && r.Scenario is null).OrderByDescending(r => r.CompletedAt).FirstOrDefault() is { } published)
        {
            keep.Add(published.RunId);
            if (published.BaseRunId is { } previous) keep.Add(previous);
        }
        foreach (var scenario in finished.Where(r => r.Scenario is not null && r.Status == RunStatus.Succeeded).GroupBy(r => r.Scenario))
            foreach (var r in scenario.OrderByDescending(r => r.CompletedAt).Take(2)) keep.Add(r.RunId);
        foreach (var run in finished)
        {
            if (keep.Contains(run.RunId)) await _snapshots.DeletePartialsAsync(run.RunId, cancellationToken).ConfigureAwait(false);
            else if (!run.Published) await _snapshots.DeleteRunAsync(run.RunId, cancellationToken).ConfigureAwait(false);
        }
    }
}
