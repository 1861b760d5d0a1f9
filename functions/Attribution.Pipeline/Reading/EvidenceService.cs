using System.Globalization;
using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Recalculation.Snapshots;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;

namespace Attribution.Pipeline.Reading;

/// <summary>The feed record a stored record came from.</summary>
public sealed record FeedRecordRef(string IngestionId, long Line);

public sealed record EvidenceAssociationView(string Source, string ValidFrom, string? ValidTo, string? SubscriptionId, string Workloads, FeedRecordRef FeedRecord);

public sealed record EvidenceRowView(
    string CustomerTenantId,
    string SubscriptionId,
    string Workload,
    string Month,
    double? ConsumedRevenueUsd,
    long? ActiveUsers,
    double Share,
    double CreditedRevenueUsd,
    double CreditedActiveUsers,
    int DporDays,
    int DaysInMonth,
    string Sources,
    FeedRecordRef UsageRecord,
    IReadOnlyList<EvidenceAssociationView> Associations);

/// <summary>How far a metric is from the next level's threshold.</summary>
public sealed record ThresholdGap(string Metric, double Required, double Current, double Missing);

/// <summary>Why a partner has its credit on a competency: the metrics, the gap to the next level, and the rows.</summary>
public sealed record EvidenceView(
    string PartnerId,
    string Competency,
    YearMonth AsOf,
    string RunId,
    string RulesVersion,
    string CreditPolicy,
    CompetencyLevel Level,
    CompetencyLevel? NextLevel,
    double Progress,
    double AcrUsdTtm,
    double PeakMonthlyActiveUsers,
    int Customers,
    double IncentiveEligibleAcrUsdTtm,
    string Sources,
    IReadOnlyList<ThresholdGap> GapToNextLevel,
    int TotalRows,
    IReadOnlyList<EvidenceRowView> Rows,
    string? ContinuationToken);

/// <summary>Thrown for a request that names something the rules do not know (e.g. a competency).</summary>
public sealed class UnknownNameException(string message) : Exception(message);

/// <summary>
/// Explains a partner's credit: reads the run's evidence index for the partner (only its range's files), reloads the
/// records of those tenants at the run's records version and walks them with the engine's own Explain (the same code
/// path that computed the metrics), with the run's exact rules.
/// </summary>
public sealed class EvidenceService(StorageAccount storage, RecordStore records, RulesStore rules)
{
    private readonly SnapshotStore _snapshots = new(storage);
    private readonly EvidenceIndexStore _evidence = new(storage);
    private readonly RecordStore _records = records;
    private readonly RulesStore _rules = rules;

    /// <summary>
    /// The exact rules a run was computed with: by the hash its row names (the copy on the row only when it is that very
    /// text); a row from before rules by hash, by its copy. Never other rules: when the run's own cannot be found,
    /// <see cref="RulesUnavailableException"/> names the run.
    /// </summary>
    public async Task<CreditRules> RulesOfAsync(RecalculationRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var what = $"run {run.RunId} of {run.AsOf}";
        var recalculate = $"it cannot be explained with other rules; recalculate {run.AsOf}";
        if (run.RulesHash is not { } hash)
        {
            // Before rules by hash the row kept the text itself, and nothing when it was too long for a property.
            return run.RulesJson is { } legacy
                ? ParseRulesOf(what, legacy)
                : throw new RulesUnavailableException($"The rules of {what} are not recorded (its RecalculationRuns row names no rulesHash): {recalculate}.");
        }
        CreditRules? rules;
        try
        {
            rules = await _rules.FindAsync(hash, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or RulesValidationException)
        {
            throw new RulesUnavailableException($"The rules of {what} (sha256 {hash}) cannot be read ({e.Message}): {recalculate}.");
        }
        if (rules is not null) return rules;
        if (run.RulesJson is { } copy && RulesStore.HashOf(copy) == hash) return ParseRulesOf(what, copy);
        throw new RulesUnavailableException($"The rules of {what} (sha256 {hash}) are not stored: {recalculate}.");
    }

    private static CreditRules ParseRulesOf(string what, string json)
    {
        try
        {
            return CreditRulesLoader.Parse(json);
        }
        catch (RulesValidationException e)
        {
            throw new RulesUnavailableException($"The rules of {what} no longer parse ({e.Message}).");
        }
    }

    /// <summary>The competency as the rules spell it, or <see cref="UnknownNameException"/>.</summary>
    public static string ResolveCompetency(CreditRules rules, string competency)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(competency);
        return rules.Competencies.FirstOrDefault(c => c.Name.Equals(competency.Trim(), StringComparison.OrdinalIgnoreCase))?.Name
            ?? throw new UnknownNameException($"'{competency}' is not a competency of rules {rules.RulesVersion} ({string.Join(", ", rules.Competencies.Select(c => c.Name))}).");
    }

    /// <summary>Tenants whose records one explanation from the records reads at once.</summary>
    private const int TenantReadsInFlight = 16;

    /// <summary>
    /// The evidence of a partner's credit on a competency in a run, or null when the run credited the partner on
    /// nothing. Read from the run's explanation index (the partner's section, written by the shards as they credited
    /// each row) and the partner's PartnerCredit row of the run's snapshot; a run begun before the index is explained
    /// from its records instead.
    /// </summary>
    public async Task<EvidenceView?> ExplainAsync(PartnerId partnerId, string competency, RecalculationRun run, int offset = 0, int pageSize = int.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        CreditReader.RequireSnapshot(run);
        var rules = await RulesOfAsync(run, cancellationToken).ConfigureAwait(false);
        var name = ResolveCompetency(rules, competency);
        var rule = rules.Competencies.First(c => c.Name == name);
        var lookup = _evidence.ReadAsync(run.RunId, partnerId.Value, run.PublishRanges, run.ReduceRanges, cancellationToken);
        var credit = _snapshots.ReadPartitionAsync(run.RunId, SnapshotSchema.PartnerCredit, partnerId.ToString(), run.PublishRanges, cancellationToken);
        switch (await lookup.ConfigureAwait(false))
        {
            case EvidenceLookup.NotCredited:
                await credit.ConfigureAwait(false); // read alongside the index; observed, not needed
                return null;
            case EvidenceLookup.Found found:
                var (total, rows) = EvidenceIndex.Read(found.Section, rule.Workloads, offset, pageSize);
                var key = $"{run.AsOf}|{name}";
                var metrics = (await credit.ConfigureAwait(false)).FirstOrDefault(e => e.RowKey == key) is { } row
                    ? CreditReader.Metrics(row)
                    : CompetencyMetrics.Judge(rule, 0, 0, 0, 0, "");
                return View(partnerId, run, rules, rows, total, offset, metrics);
            default:
                await credit.ConfigureAwait(false);
                // A run begun before the index has the partner → tenant index instead: its customers' records, re-walked.
                var index = await _snapshots.ReadPartitionAsync(run.RunId, SnapshotSchema.PartnerSubscriptions, partnerId.ToString(), run.PublishRanges, cancellationToken).ConfigureAwait(false);
                if (index.Count == 0) return null;
                var tenants = index.Select(e => Guid.Parse(e.GetString("customerTenantId")!)).Distinct().ToList();
                return await ExplainFromRecordsAsync(partnerId, name, run, tenants, offset, pageSize, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The evidence re-computed from the run's records: the given customers' records at the run's version (their buckets
    /// only), walked with the engine's Explain and the run's rules. How runs without an explanation index are explained;
    /// the tests and the bench hold the index to it.
    /// </summary>
    internal async Task<EvidenceView> ExplainFromRecordsAsync(PartnerId partnerId, string competency, RecalculationRun run, IReadOnlyCollection<Guid> customers, int offset = 0, int pageSize = int.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(customers);
        var rules = await RulesOfAsync(run, cancellationToken).ConfigureAwait(false);
        var name = ResolveCompetency(rules, competency);
        var asOf = run.AsOf;
        var tenants = customers.Distinct().Order().ToList();
        var records = await _records.AtAsync(run.RecordsVersion, cancellationToken).ConfigureAwait(false);
        var usage = new List<UsageRecord>();
        var associations = new List<Association>();
        var dpor = new List<DporEvent>();
        // Each tenant is a few range reads of its bucket: in parallel, so a partner with hundreds of customers does not
        // wait on them one after another; gathered in tenant order so the rows stay in order.
        var perTenant = new TenantRecords[tenants.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, tenants.Count), new ParallelOptions { MaxDegreeOfParallelism = TenantReadsInFlight, CancellationToken = cancellationToken },
            async (i, ct) => perTenant[i] = await records.TenantAsync(tenants[i], rules.WindowStart(asOf), asOf, ct).ConfigureAwait(false)).ConfigureAwait(false);
        foreach (var t in perTenant)
        {
            usage.AddRange(t.Usage);
            associations.AddRange(t.Associations);
            dpor.AddRange(t.DporEvents);
        }
        var evidence = CreditEngine.Explain(new CreditInput
        {
            AsOf = asOf,
            Rules = rules,
            Usage = usage,
            Associations = associations,
            DporEvents = dpor,
            GlobalPartnerOf = await records.GlobalPartnerMapAsync(cancellationToken).ConfigureAwait(false),
        }, partnerId, name);
        var page = evidence.Rows.Skip(offset).Take(pageSize).ToList();
        return View(partnerId, run, rules, page, evidence.Rows.Count, offset, evidence.Credit);
    }

    private static EvidenceView View(PartnerId partnerId, RecalculationRun run, CreditRules rules, List<EvidenceRow> page, int total, int offset, CompetencyMetrics credit)
    {
        var next = offset + page.Count < total ? offset + page.Count : (int?)null;
        return new EvidenceView(
            partnerId.ToString(), credit.Competency, run.AsOf, run.RunId, rules.RulesVersion,
            rules.CreditPolicy switch { CreditPolicy.Split => "split", CreditPolicy.DporOnly => "dporOnly", _ => "full" },
            credit.Level, credit.NextLevel, credit.Progress, credit.AcrUsdTtm, credit.PeakMonthlyActiveUsers, credit.Customers,
            credit.IncentiveEligibleAcrUsdTtm, credit.Sources, Gaps(rules, credit), total, page.Select(ToView).ToList(),
            next is { } n ? ContinuationToken.Encode(ContinuationToken.EvidenceList(partnerId, credit.Competency), run, n) : null);
    }

    private static List<ThresholdGap> Gaps(CreditRules rules, CompetencyMetrics e)
    {
        var rule = rules.Competencies.First(c => c.Name == e.Competency);
        var next = rule.Levels.FirstOrDefault(l => l.Level == e.NextLevel);
        if (next is null) return [];
        return next.Thresholds.Select(t =>
        {
            var current = CreditLevels.Metric(t.Metric, e.AcrUsdTtm, e.PeakMonthlyActiveUsers, e.Customers);
            return new ThresholdGap(CreditRules.MetricName(t.Metric), t.Minimum, current, Math.Max(0, t.Minimum - current));
        }).ToList();
    }

    private static EvidenceRowView ToView(EvidenceRow r) => new(
        r.CustomerTenantId.ToString("D"), r.SubscriptionId.ToString("D"), r.Workload.ToString(), r.Month.ToString(),
        r.ConsumedRevenueUsd, r.ActiveUsers, r.Share, r.CreditedRevenueUsd, r.CreditedActiveUsers, r.DporDays, r.DaysInMonth, r.Sources,
        new FeedRecordRef(r.UsageLineage.IngestionId, r.UsageLineage.Line),
        r.Associations.Select(a => new EvidenceAssociationView(
            a.SourceName.Length > 0 ? a.SourceName : a.Source.Name(),
            a.ValidFrom.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            a.ValidTo?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            a.SubscriptionId?.ToString("D"),
            a.Workloads.IsEmpty ? "*" : a.Workloads.ToString(),
            new FeedRecordRef(a.IngestionId, a.Line))).ToList());
}

/// <summary>Where a paged list continues: the list, the run its first page was read from, and the offset of the next item.</summary>
public sealed record ContinuationPosition(string List, YearMonth AsOf, string RunId, int Offset);

/// <summary>
/// Opaque continuation tokens for paged lists (base64url of <c>v3|list|asOf|runId|offset</c>), bound to the list they
/// page and to the run its first page came from: a later page is read from the same run even after a new publish (or
/// fails clearly when that run is gone), never from a mix of runs, and a token pages no other list.
/// </summary>
public static class ContinuationToken
{
    private const string Version = "v3";

    /// <summary>The evidence rows of a partner on a competency (the name compares case-insensitively, as the rules do).</summary>
    public static string EvidenceList(PartnerId partnerId, string competency)
    {
        ArgumentNullException.ThrowIfNull(competency);
        return string.Create(CultureInfo.InvariantCulture, $"evidence/{partnerId}/{competency.Trim().ToUpperInvariant()}");
    }

    /// <summary>The partners of a subscription.</summary>
    public static string SubscriptionList(Guid subscriptionId) => $"subscription/{subscriptionId:D}";

    public static string Encode(string list, RecalculationRun run, int offset)
    {
        ArgumentException.ThrowIfNullOrEmpty(list);
        ArgumentNullException.ThrowIfNull(run);
        if (list.Contains('|', StringComparison.Ordinal) || run.RunId.Contains('|', StringComparison.Ordinal))
            throw new ArgumentException($"A list or run id with '|' cannot be put in a token: {list}, {run.RunId}.", nameof(list));
        var text = string.Create(CultureInfo.InvariantCulture, $"{Version}|{list}|{run.AsOf}|{run.RunId}|{offset}");
        return Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>False for a token this API did not issue (or an older format); true with null for no token.</summary>
    public static bool TryDecode(string? token, out ContinuationPosition? position)
    {
        position = null;
        if (string.IsNullOrEmpty(token)) return true;
        if (token.Length > 1000) return false;
        try
        {
            var b64 = token.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            var parts = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Convert.FromBase64String(b64)).Split('|');
            if (parts.Length != 5 || parts[0] != Version || parts[1].Length is 0 or > 200 || !YearMonth.TryParse(parts[2], out var asOf)
                || parts[3].Length is 0 or > 100 || !int.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)) return false;
            position = new ContinuationPosition(parts[1], asOf, parts[3], offset);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            return false;
        }
    }
}
