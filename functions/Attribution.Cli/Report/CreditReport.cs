using System.Globalization;
using Attribution.Domain;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;

namespace Attribution.Cli.Report;

/// <summary>A partner as the report shows it: its published rows of the month and their ACR total.</summary>
internal sealed record ReportPartner(string PartnerId, string? Name, double AcrUsdTtm, IReadOnlyList<CompetencyCredit> Competencies);

/// <summary>A partner's published figures in one month (null when it had no rows that month).</summary>
internal sealed record MonthFigures(YearMonth Month, double AcrUsdTtm, double PeakMonthlyActiveUsers);

internal sealed record PartnerMonths(string PartnerId, string? Name, IReadOnlyList<MonthFigures?> Months);

/// <summary>ACR and rows of one association source: rows whose <c>sources</c> name it (a row may name several).</summary>
internal sealed record SourceCredit(string Source, double AcrUsdTtm, int Rows, int LevelsHeld);

/// <summary>
/// Where the published credit came from, read from each PartnerCredit row's <c>sources</c>: a row credited by DPOR
/// only, by DPOR and other sources, or by other sources only (no DPOR designation touched it).
/// </summary>
internal sealed record CreditOrigin(
    double DporOnlyAcr, double MixedAcr, double NonDporOnlyAcr,
    int LevelsHeld, int LevelsDporOnly, int LevelsMixed, int LevelsNonDporOnly,
    IReadOnlyList<SourceCredit> BySource)
{
    public double TotalAcr => DporOnlyAcr + MixedAcr + NonDporOnlyAcr;
    public double NonDporOnlyShare => TotalAcr > 0 ? NonDporOnlyAcr / TotalAcr : 0;
    public double LevelsNonDporOnlyShare => LevelsHeld > 0 ? (double)LevelsNonDporOnly / LevelsHeld : 0;
}

/// <summary>A global partner's score on a designation and its status there (qualified, eligible only, or none).</summary>
internal sealed record ReportScore(string GlobalPartnerId, string? Name, double Score, DesignationStatus Status);

/// <summary>A designation's scored global partners, in ID order, and its bar.</summary>
internal sealed record ReportDesignation(string Designation, double QualifyingPoints, IReadOnlyList<ReportScore> Partners)
{
    public const int Buckets = 10;

    /// <summary>Partners per 10-point score bucket, 0–10 … 90–100; a score of 100 (or above, with rules whose points add up to more) is in the last.</summary>
    public int[] Histogram()
    {
        var counts = new int[Buckets];
        foreach (var p in Partners) counts[Math.Clamp((int)Math.Floor(p.Score / 10), 0, Buckets - 1)]++;
        return counts;
    }
}

/// <summary>Everything `attribution report` shows, read from published runs only (no HTML here).</summary>
internal sealed record CreditReport(
    YearMonth AsOf,
    string RunId,
    string RulesVersion,
    int PartnerCount,
    IReadOnlyList<string> Competencies,
    IReadOnlyDictionary<string, IReadOnlyList<string>> LevelsOf,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> LevelCounts,
    IReadOnlyList<ReportPartner> HeatMap,
    CreditOrigin Origin,
    IReadOnlyList<YearMonth> Months,
    IReadOnlyList<PartnerMonths> Monthly,
    ReportChanges? Changes,
    IReadOnlyList<ReportDesignation> Designations);

internal static class CreditReportBuilder
{
    public const int HeatMapPartners = 40;
    public const int MonthlyPartners = 8;
    public const int MaxMonths = 24;
    private const string Dpor = "dpor";

    public static async Task<CreditReport> BuildAsync(CliStorage storage, YearMonth? asOf, CancellationToken ct)
    {
        var reader = storage.Get<CreditReader>();
        var run = await reader.ResolveRunAsync(asOf, null, ct)
            ?? throw new CliException(asOf is null ? "Nothing has been published yet: run 'attribution recalc' first." : $"No published recalculation for {asOf}.");
        var rules = await storage.Get<EvidenceService>().RulesOfAsync(run, ct);
        var partners = await reader.AllPartnersAsync(run, ct);
        var names = await PartnerNamesAsync(storage, ct);

        // Competencies and their levels in the rules' order; a level a row names that the rules do not (none expected) goes last.
        var competencies = rules.Competencies.Select(c => c.Name).ToList();
        foreach (var extra in partners.SelectMany(p => p.Competencies).Select(c => c.Competency).Distinct(StringComparer.Ordinal).Where(c => !competencies.Contains(c)).Order(StringComparer.Ordinal))
            competencies.Add(extra);
        var levelsOf = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var counts = new Dictionary<string, IReadOnlyDictionary<string, int>>(StringComparer.Ordinal);
        foreach (var competency in competencies)
        {
            var rows = partners.SelectMany(p => p.Competencies).Where(c => c.Competency == competency).ToList();
            var levels = new List<string> { CompetencyLevel.NoneName };
            levels.AddRange(rules.Competencies.FirstOrDefault(c => c.Name == competency)?.Levels.Select(l => l.Level.Name) ?? []);
            levels.AddRange(rows.Select(r => r.Level.Name).Distinct(StringComparer.Ordinal).Where(l => !levels.Contains(l)).Order(StringComparer.Ordinal));
            levelsOf[competency] = levels;
            counts[competency] = levels.ToDictionary(l => l, l => rows.Count(r => r.Level.Name == l), StringComparer.Ordinal);
        }

        var ranked = partners
            .Select(p => new ReportPartner(p.PartnerId, names.GetValueOrDefault(p.PartnerId), p.Competencies.Sum(c => c.AcrUsdTtm), p.Competencies))
            .OrderByDescending(p => p.AcrUsdTtm).ThenBy(p => long.Parse(p.PartnerId, CultureInfo.InvariantCulture))
            .ToList();

        var months = (await storage.Get<RunStore>().ListAsync(cancellationToken: ct))
            .Where(r => r is { Published: true, Scenario: null } && r.AsOf <= run.AsOf)
            .Select(r => r.AsOf).Distinct().Order().TakeLast(MaxMonths).ToList();
        var monthly = await MonthlyAsync(reader, ranked.Take(MonthlyPartners).ToList(), months, ct);

        return new CreditReport(run.AsOf, run.RunId, rules.RulesVersion, partners.Count, competencies, levelsOf, counts,
            ranked.Take(HeatMapPartners).ToList(), Origin(partners), months, monthly,
            await ReportChanges.ComputeAsync(storage, run, names, ct),
            await DesignationsAsync(storage, run, rules, names, ct));
    }

    /// <summary>Each designation of the run's rules with its scored global partners (none when the run has no score rows).</summary>
    private static async Task<List<ReportDesignation>> DesignationsAsync(CliStorage storage, RecalculationRun run, Attribution.Domain.Rules.CreditRules rules,
        IReadOnlyDictionary<string, string> names, CancellationToken ct)
    {
        var scores = rules.Designations.ToDictionary(d => d.Name, _ => new List<ReportScore>(), StringComparer.Ordinal);
        await foreach (var partner in storage.Get<ScoreReader>().AllAsync(run, ct))
            foreach (var d in partner.Designations)
                if (scores.TryGetValue(d.Designation, out var list))
                    list.Add(new ReportScore(partner.GlobalPartnerId, names.GetValueOrDefault(partner.GlobalPartnerId), d.Score, DesignationListing.StatusOf(d)));
        return [.. rules.Designations.Select(d => new ReportDesignation(d.Name, d.QualifyingPoints, scores[d.Name]))];
    }

    /// <summary>Each top partner's figures in each published month, read from that month's own published run.</summary>
    private static async Task<List<PartnerMonths>> MonthlyAsync(CreditReader reader, List<ReportPartner> top, List<YearMonth> months, CancellationToken ct)
    {
        var runs = new List<RecalculationRun>();
        foreach (var m in months)
            runs.Add((await reader.ResolveRunAsync(m, null, ct))!);
        var result = new List<PartnerMonths>();
        foreach (var p in top)
        {
            var id = new PartnerId(long.Parse(p.PartnerId, CultureInfo.InvariantCulture));
            var figures = new List<MonthFigures?>();
            foreach (var run in runs)
            {
                var view = await reader.PartnerAsync(id, run, global: false, ct);
                figures.Add(view is null ? null : new MonthFigures(run.AsOf, view.Competencies.Sum(c => c.AcrUsdTtm), view.Competencies.Sum(c => c.PeakMonthlyActiveUsers)));
            }
            result.Add(new PartnerMonths(p.PartnerId, p.Name, figures));
        }
        return result;
    }

    internal static CreditOrigin Origin(IEnumerable<PartnerCreditView> partners)
    {
        double dporOnly = 0, mixed = 0, other = 0;
        int held = 0, heldDpor = 0, heldMixed = 0, heldOther = 0;
        var bySource = new SortedDictionary<string, (double Acr, int Rows, int Levels)>(StringComparer.Ordinal);
        foreach (var row in partners.SelectMany(p => p.Competencies))
        {
            var sources = row.Sources.Split(';', StringSplitOptions.RemoveEmptyEntries);
            if (sources.Length == 0) continue;
            var hasDpor = sources.Contains(Dpor, StringComparer.Ordinal);
            var onlyDpor = hasDpor && sources.Length == 1;
            var hasLevel = !row.Level.IsNone;
            if (onlyDpor) dporOnly += row.AcrUsdTtm;
            else if (hasDpor) mixed += row.AcrUsdTtm;
            else other += row.AcrUsdTtm;
            if (hasLevel)
            {
                held++;
                if (onlyDpor) heldDpor++;
                else if (hasDpor) heldMixed++;
                else heldOther++;
            }
            foreach (var s in sources)
            {
                var (acr, rows, levels) = bySource.GetValueOrDefault(s);
                bySource[s] = (acr + row.AcrUsdTtm, rows + 1, levels + (hasLevel ? 1 : 0));
            }
        }
        return new CreditOrigin(dporOnly, mixed, other, held, heldDpor, heldMixed, heldOther,
            bySource.Select(kv => new SourceCredit(kv.Key, kv.Value.Acr, kv.Value.Rows, kv.Value.Levels)).ToList());
    }

    private static async Task<Dictionary<string, string>> PartnerNamesAsync(CliStorage storage, CancellationToken ct)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var records = await storage.Get<RecordStore>().LatestAsync(ct);
        await foreach (var p in records.PartnersAsync(ct))
            if (p.PartnerName is not null) names[p.PartnerId.ToString(CultureInfo.InvariantCulture)] = p.PartnerName;
        return names;
    }
}
