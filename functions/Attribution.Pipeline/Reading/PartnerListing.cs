using System.Globalization;
using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;

namespace Attribution.Pipeline.Reading;

/// <summary>How a partner listing is ordered: by partner ID, or by a metric, highest first.</summary>
public enum PartnerSort
{
    PartnerId,

    /// <summary>Highest level first, then nearest the next level.</summary>
    Progress,
    Acr,
    Users,
    Customers,
}

/// <summary>
/// Which partners to list. <paramref name="Competency"/> narrows the listing to one competency's credit (filter,
/// sort and counts read only it); without it a level filter matches a partner holding the level on any competency
/// and a sort reads each partner's best competency.
/// </summary>
public sealed record PartnerListingQuery(string? Competency = null, string? Level = null, PartnerSort Sort = PartnerSort.PartnerId, int? Top = null, bool Global = false);

/// <summary>One listed partner: its credit on the listed competencies (one, with a competency filter; else all).</summary>
public sealed record PartnerListingRow(string PartnerId, string? PartnerName, string? GlobalPartnerId, string? Locations, IReadOnlyList<CompetencyCredit> Competencies);

/// <summary>How many of the matching partners hold a level of a competency.</summary>
public sealed record CompetencyLevelCount(string Competency, CompetencyLevel Level, int Partners);

/// <summary>
/// A run's partners, filtered, sorted and cut to the top N: the shape of `attribution partners --format json`.
/// <paramref name="Matching"/> counts the partners the filters matched (before --top); the level counts are of those.
/// </summary>
public sealed record PartnerListingView(
    YearMonth AsOf,
    string Scope,
    string RunId,
    string RulesVersion,
    string? Scenario,
    string? Competency,
    CompetencyLevel? Level,
    string Sort,
    int? Top,
    int Matching,
    IReadOnlyList<PartnerListingRow> Partners,
    IReadOnlyList<CompetencyLevelCount> LevelCounts);

/// <summary>
/// Lists a run's partner credit (read from its snapshot, with the run's own rules to name competencies and levels and
/// to rank levels): one implementation for `attribution run`, `recalc` and `partners`.
/// </summary>
public sealed class PartnerListing(CreditReader reader, EvidenceService evidence, RecordStore records)
{
    private readonly CreditReader _reader = reader;
    private readonly EvidenceService _evidence = evidence;
    private readonly RecordStore _records = records;

    public async Task<PartnerListingView> ReadAsync(RecalculationRun run, PartnerListingQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(query);
        var rules = await _evidence.RulesOfAsync(run, cancellationToken).ConfigureAwait(false);
        var (competency, level) = Resolve(rules, query.Competency, query.Level); // before the snapshot is read: a typo fails fast
        var partners = await _reader.AllPartnersAsync(run, query.Global, cancellationToken).ConfigureAwait(false);
        var names = await NamesAsync(_records, run, cancellationToken).ConfigureAwait(false);
        var rows = partners.Select(p => new PartnerListingRow(p.PartnerId, names.GetValueOrDefault(p.PartnerId), p.GlobalPartnerId, p.Locations, p.Competencies)).ToList();
        return Apply(rules, run, query with { Competency = competency, Level = level?.Name }, rows);
    }

    /// <summary>Partner names by ID from the directory at the run's records version (partners without a name left out).</summary>
    internal static async Task<Dictionary<string, string>> NamesAsync(RecordStore store, RecalculationRun run, CancellationToken cancellationToken)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var records = await store.AtAsync(run.RecordsVersion, cancellationToken).ConfigureAwait(false);
        await foreach (var p in records.PartnersAsync(cancellationToken).ConfigureAwait(false))
            if (p.PartnerName is not null) names[p.PartnerId.ToString(CultureInfo.InvariantCulture)] = p.PartnerName;
        return names;
    }

    /// <summary>The competency and level as the rules spell them; <see cref="UnknownNameException"/> names the valid ones.</summary>
    public static (string? Competency, CompetencyLevel? Level) Resolve(CreditRules rules, string? competency, string? level)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var name = competency is null ? null : EvidenceService.ResolveCompetency(rules, competency);
        if (level is null) return (name, null);
        var levels = LevelsOf(rules, name);
        var found = levels.FindIndex(l => l.Name.Equals(level.Trim(), StringComparison.OrdinalIgnoreCase));
        return found >= 0 ? (name, levels[found])
            : throw new UnknownNameException($"'{level}' is not a level of {(name is null ? $"rules {rules.RulesVersion}" : name)} ({string.Join(", ", levels)}).");
    }

    /// <summary>A competency's levels, highest first, then None (every competency's, without one).</summary>
    private static List<CompetencyLevel> LevelsOf(CreditRules rules, string? competency) =>
    [
        .. rules.Competencies.Where(c => competency is null || c.Name == competency)
            .SelectMany(c => c.Levels.Select((l, i) => (Name: l.Level, Rank: i + 1)))
            .GroupBy(l => l.Name).OrderByDescending(g => g.Max(l => l.Rank)).ThenBy(g => g.Key.Name, StringComparer.Ordinal).Select(g => g.Key),
        CompetencyLevel.None,
    ];

    internal static PartnerListingView Apply(CreditRules rules, RecalculationRun run, PartnerListingQuery query, IReadOnlyList<PartnerListingRow> partners)
    {
        if (query.Top is < 1) throw new ArgumentOutOfRangeException(nameof(query), "Top must be at least 1.");
        var ranks = rules.Competencies.ToDictionary(c => c.Name, c => c.Levels.Select((l, i) => (l.Level, i + 1)).ToDictionary(x => x.Level, x => x.Item2), StringComparer.Ordinal);
        int RankOf(CompetencyCredit c) => ranks.GetValueOrDefault(c.Competency)?.GetValueOrDefault(c.Level) ?? 0;

        CompetencyLevel? level = query.Level is null ? null : new CompetencyLevel(query.Level);
        var listed = partners
            .Select(p => query.Competency is null ? p : p with { Competencies = [.. p.Competencies.Where(c => c.Competency == query.Competency)] })
            .Where(p => p.Competencies.Count > 0)
            .Where(p => level is null || p.Competencies.Any(c => c.Level == level))
            .ToList();
        // Each partner ranks by its best listed competency; ties keep partner ID order (a stable sort over an ordered list).
        var ordered = query.Sort switch
        {
            PartnerSort.Progress => listed.OrderByDescending(p => p.Competencies.Max(c => (RankOf(c), c.Progress))),
            PartnerSort.Acr => listed.OrderByDescending(p => p.Competencies.Max(c => c.AcrUsdTtm)),
            PartnerSort.Users => listed.OrderByDescending(p => p.Competencies.Max(c => c.PeakMonthlyActiveUsers)),
            PartnerSort.Customers => listed.OrderByDescending(p => p.Competencies.Max(c => c.Customers)),
            _ => listed.OrderBy(_ => 0),
        };
        var shown = ordered.Take(query.Top ?? int.MaxValue).ToList();

        var counts = new List<CompetencyLevelCount>();
        foreach (var rule in rules.Competencies.Where(c => query.Competency is null || c.Name == query.Competency))
        {
            foreach (var held in LevelsOf(rules, rule.Name))
            {
                var n = listed.Count(p => p.Competencies.Any(c => c.Competency == rule.Name && c.Level == held));
                counts.Add(new CompetencyLevelCount(rule.Name, held, n));
            }
        }
        return new PartnerListingView(run.AsOf, query.Global ? "global" : "location", run.RunId, rules.RulesVersion, run.Scenario,
            query.Competency, level, SortName(query.Sort), query.Top, listed.Count, shown, counts);
    }

    public static string SortName(PartnerSort sort) => sort switch
    {
        PartnerSort.PartnerId => "partnerId",
        PartnerSort.Progress => "progress",
        PartnerSort.Acr => "acr",
        PartnerSort.Users => "users",
        _ => "customers",
    };
}
