using System.Globalization;
using Attribution.Domain;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;

namespace Attribution.Pipeline.Reading;

/// <summary>One side of a comparison: the run read, and what it was computed with.</summary>
/// <param name="ScoredPartners">Global partners with capability score rows (0: a run published before scores existed, or rules without designations).</param>
public sealed record ComparedRun(YearMonth AsOf, string RunId, string RulesVersion, string? Scenario, int Partners, int ScoredPartners);

/// <summary>A partner whose level on a competency moved (from → to, as each run's rules name them).</summary>
public sealed record LevelChange(string PartnerId, CompetencyLevel From, CompetencyLevel To);

/// <summary>A partner's metrics on a competency in both runs (zero and None where a run did not credit it).</summary>
public sealed record CreditMover(
    string PartnerId,
    CompetencyLevel FromLevel,
    CompetencyLevel ToLevel,
    double FromAcrUsdTtm,
    double ToAcrUsdTtm,
    double AcrUsdTtmChange,
    double FromProgress,
    double ToProgress,
    double ProgressChange);

/// <summary>What changed on one competency between the two runs.</summary>
public sealed record CompetencyChanges(
    string Competency,
    IReadOnlyList<LevelChange> Gained,
    IReadOnlyList<LevelChange> Lost,
    IReadOnlyList<string> NewPartners,
    IReadOnlyList<string> GonePartners,
    IReadOnlyList<CreditMover> AcrUsdTtmMovers,
    IReadOnlyList<CreditMover> ProgressMovers);

/// <summary>
/// Global partners whose status on a designation (§7.3) moved: eligible (qualified in a month of the qualification
/// window) and qualified (at asOf), each gained or lost. A partner without a score row in a run is neither.
/// </summary>
public sealed record DesignationChanges(
    string Designation,
    IReadOnlyList<string> EligibleGained,
    IReadOnlyList<string> EligibleLost,
    IReadOnlyList<string> QualifiedGained,
    IReadOnlyList<string> QualifiedLost);

/// <summary>
/// What changed between two runs: two published months ("months"), or a scenario run and the published run of its
/// month ("scenario"). Partners new or gone are whole partners (credited in one run only); per competency, new and gone
/// are partners credited on it in one run only.
/// </summary>
public sealed record CreditChangesView(
    string Comparison,
    ComparedRun From,
    ComparedRun To,
    IReadOnlyList<string> NewPartners,
    IReadOnlyList<string> GonePartners,
    IReadOnlyList<CompetencyChanges> Competencies,
    IReadOnlyList<DesignationChanges> Designations,
    string? DesignationsNote = null);

/// <summary>
/// There is nothing to compare as asked: a month has no published run, there is no earlier published month, or the
/// scenario has no run. <see cref="IsBadRequest"/> when the request itself is wrong (e.g. --since not before --as-of).
/// </summary>
public sealed class ComparisonUnavailableException(string message, bool isBadRequest = false) : Exception(message)
{
    public bool IsBadRequest { get; } = isBadRequest;
}

/// <summary>
/// "What changed": reads both runs' location-level PartnerCredit from their snapshots and compares them partner by
/// partner. Whether a level was gained or lost follows each run's own rules' level order (None below the first level),
/// never the names' spelling.
/// </summary>
public sealed class CreditChanges(CreditReader reader, RunStore runs, EvidenceService evidence, ScoreReader scores)
{
    public const int DefaultTop = 10;

    private readonly CreditReader _reader = reader;
    private readonly RunStore _runs = runs;
    private readonly EvidenceService _evidence = evidence;

    /// <summary>
    /// The two runs to compare. Without a scenario: the published run of asOf (latest when null) against the published
    /// run of since (default: the latest published month before it). With one: the scenario's latest run (of asOf, or
    /// any) against the published run of that run's month.
    /// </summary>
    public async Task<(RecalculationRun From, RecalculationRun To)> ResolveAsync(YearMonth? asOf, YearMonth? since, string? scenario, CancellationToken cancellationToken = default)
    {
        if (scenario is not null)
        {
            if (since is not null)
                throw new ComparisonUnavailableException("A scenario is compared with the published run of its own month: give --since or --scenario, not both.", isBadRequest: true);
            var run = await _reader.ResolveRunAsync(asOf, scenario, cancellationToken).ConfigureAwait(false)
                ?? throw new ComparisonUnavailableException(asOf is null ? $"Scenario '{scenario}' has no finished run." : $"Scenario '{scenario}' has no finished run for {asOf}.");
            var published = await _reader.ResolveRunAsync(run.AsOf, null, cancellationToken).ConfigureAwait(false)
                ?? throw new ComparisonUnavailableException($"No published recalculation for {run.AsOf} to compare scenario '{scenario}' with.");
            return (published, run);
        }

        var to = await _reader.ResolveRunAsync(asOf, null, cancellationToken).ConfigureAwait(false)
            ?? throw new ComparisonUnavailableException(asOf is null ? "Nothing has been published yet: run 'attribution recalc' first." : $"No published recalculation for {asOf}.");
        if (since is { } s)
        {
            if (s >= to.AsOf)
                throw new ComparisonUnavailableException($"The month to compare with ({s}) must be before {to.AsOf}.", isBadRequest: true);
            var from = await _reader.ResolveRunAsync(s, null, cancellationToken).ConfigureAwait(false)
                ?? throw new ComparisonUnavailableException($"No published recalculation for {s}.");
            return (from, to);
        }
        var earlier = (await _runs.ListAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            .Where(r => r.Published && r.Scenario is null && r.AsOf < to.AsOf)
            .Select(r => (YearMonth?)r.AsOf).Max()
            ?? throw new ComparisonUnavailableException($"No published month before {to.AsOf} to compare with: publish an earlier month, or compare a scenario.");
        var previous = await _reader.ResolveRunAsync(earlier, null, cancellationToken).ConfigureAwait(false)
            ?? throw new ComparisonUnavailableException($"No published recalculation for {earlier}.");
        return (previous, to);
    }

    /// <summary>Compares two runs; <paramref name="top"/> movers per competency and measure.</summary>
    public async Task<CreditChangesView> CompareAsync(RecalculationRun from, RecalculationRun to, int top = DefaultTop, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        var fromRules = await _evidence.RulesOfAsync(from, cancellationToken).ConfigureAwait(false);
        var toRules = await _evidence.RulesOfAsync(to, cancellationToken).ConfigureAwait(false);
        var before = Index(await _reader.AllPartnersAsync(from, cancellationToken).ConfigureAwait(false));
        var after = Index(await _reader.AllPartnersAsync(to, cancellationToken).ConfigureAwait(false));

        var competencies = toRules.Competencies.Select(c => c.Name)
            .Concat(fromRules.Competencies.Select(c => c.Name))
            .Distinct(StringComparer.Ordinal).ToList();
        var partners = before.Keys.Union(after.Keys).Order().ToList();
        var changes = competencies.Select(name => Compare(name, partners, before, after, fromRules, toRules, top)).ToList();

        var scoresBefore = await StatusesAsync(from, cancellationToken).ConfigureAwait(false);
        var scoresAfter = await StatusesAsync(to, cancellationToken).ConfigureAwait(false);
        var designations = toRules.Designations.Select(d => d.Name)
            .Concat(fromRules.Designations.Select(d => d.Name))
            .Distinct(StringComparer.Ordinal)
            .Select(name => CompareDesignation(name, scoresBefore, scoresAfter)).ToList();
        var fromSide = Side(from, fromRules, before.Count, scoresBefore.Partners);
        var toSide = Side(to, toRules, after.Count, scoresAfter.Partners);
        // Only worth a word when it decides the result: one side scored nobody while the other scored someone.
        var unscored = fromSide.ScoredPartners == 0 && toSide.ScoredPartners > 0 ? fromSide
            : toSide.ScoredPartners == 0 && fromSide.ScoredPartners > 0 ? toSide : null;
        var note = unscored is null ? null
            : $"{unscored.AsOf} (run {unscored.RunId}) has no capability scores (published before scores existed, or its rules define no designations): every designation counts as neither eligible nor qualified there.";

        return new CreditChangesView(
            to.Scenario is null ? "months" : "scenario",
            fromSide,
            toSide,
            [.. after.Keys.Except(before.Keys).Order().Select(Id)],
            [.. before.Keys.Except(after.Keys).Order().Select(Id)],
            changes,
            designations,
            note);
    }

    private static ComparedRun Side(RecalculationRun run, CreditRules rules, int partners, int scored) =>
        new(run.AsOf, run.RunId, rules.RulesVersion, run.Scenario, partners, scored);

    /// <summary>Each scored global partner's (designation → eligible, qualified) in a run; none for a run without score rows.</summary>
    private async Task<ScoreStatuses> StatusesAsync(RecalculationRun run, CancellationToken cancellationToken)
    {
        var status = new Dictionary<(long, string), (bool, bool)>();
        var partners = 0;
        await foreach (var p in scores.AllAsync(run, cancellationToken).ConfigureAwait(false))
        {
            partners++;
            var id = long.Parse(p.GlobalPartnerId, CultureInfo.InvariantCulture);
            foreach (var d in p.Designations) status[(id, d.Designation)] = (d.Eligible, d.Qualified);
        }
        return new ScoreStatuses(partners, status);
    }

    private sealed record ScoreStatuses(int Partners, Dictionary<(long Partner, string Designation), (bool Eligible, bool Qualified)> Status);

    private static DesignationChanges CompareDesignation(string designation, ScoreStatuses before, ScoreStatuses after)
    {
        var partners = before.Status.Keys.Concat(after.Status.Keys).Where(k => k.Designation == designation).Select(k => k.Partner).Distinct().Order().ToList();
        List<string> Moved(Func<(bool Eligible, bool Qualified), bool> held, bool gained) =>
            [.. partners.Where(p => held(after.Status.GetValueOrDefault((p, designation))) == gained && held(before.Status.GetValueOrDefault((p, designation))) != gained).Select(Id)];
        return new DesignationChanges(designation,
            Moved(s => s.Eligible, gained: true), Moved(s => s.Eligible, gained: false),
            Moved(s => s.Qualified, gained: true), Moved(s => s.Qualified, gained: false));
    }

    private static Dictionary<long, Dictionary<string, CompetencyCredit>> Index(List<PartnerCreditView> views) =>
        views.ToDictionary(
            v => long.Parse(v.PartnerId, CultureInfo.InvariantCulture),
            v => v.Competencies.GroupBy(c => c.Competency, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal));

    private static CompetencyChanges Compare(string competency, List<long> partners,
        Dictionary<long, Dictionary<string, CompetencyCredit>> before, Dictionary<long, Dictionary<string, CompetencyCredit>> after,
        CreditRules fromRules, CreditRules toRules, int top)
    {
        var gained = new List<LevelChange>();
        var lost = new List<LevelChange>();
        var added = new List<string>();
        var gone = new List<string>();
        var movers = new List<CreditMover>();
        foreach (var partner in partners)
        {
            var was = Credit(before, partner, competency);
            var now = Credit(after, partner, competency);
            if (was is null && now is null) continue;
            var id = Id(partner);
            var fromLevel = was?.Level ?? CompetencyLevel.None;
            var toLevel = now?.Level ?? CompetencyLevel.None;
            var rank = Rank(toRules, competency, toLevel).CompareTo(Rank(fromRules, competency, fromLevel));
            if (rank > 0) gained.Add(new LevelChange(id, fromLevel, toLevel));
            else if (rank < 0) lost.Add(new LevelChange(id, fromLevel, toLevel));
            if (was is null) added.Add(id);
            if (now is null) gone.Add(id);
            double fromAcr = was?.AcrUsdTtm ?? 0, toAcr = now?.AcrUsdTtm ?? 0, fromProgress = was?.Progress ?? 0, toProgress = now?.Progress ?? 0;
            movers.Add(new CreditMover(id, fromLevel, toLevel, fromAcr, toAcr, Math.Round(toAcr - fromAcr, 6), fromProgress, toProgress, Math.Round(toProgress - fromProgress, 6)));
        }
        return new CompetencyChanges(competency, gained, lost, added, gone, Top(movers, m => m.AcrUsdTtmChange, top), Top(movers, m => m.ProgressChange, top));
    }

    // Biggest change first, either way; ties by partner id so the list is stable.
    private static List<CreditMover> Top(List<CreditMover> movers, Func<CreditMover, double> change, int top) =>
        [.. movers.Where(m => change(m) != 0).OrderByDescending(m => Math.Abs(change(m))).ThenBy(m => long.Parse(m.PartnerId, CultureInfo.InvariantCulture)).Take(top)];

    /// <summary>The partner's credit on the competency, or null when the run credited it nothing there.</summary>
    private static CompetencyCredit? Credit(Dictionary<long, Dictionary<string, CompetencyCredit>> run, long partner, string competency) =>
        run.TryGetValue(partner, out var credits) && credits.TryGetValue(competency, out var c)
            && (c.AcrUsdTtm != 0 || c.PeakMonthlyActiveUsers != 0 || c.Customers != 0 || !c.Level.IsNone) ? c : null;

    /// <summary>0 for None (or a competency the rules do not have), then 1.. in the rules' ascending level order.</summary>
    private static int Rank(CreditRules rules, string competency, CompetencyLevel level)
    {
        var rule = rules.Competencies.FirstOrDefault(c => c.Name == competency);
        if (rule is null) return 0;
        for (var i = 0; i < rule.Levels.Count; i++)
            if (rule.Levels[i].Level == level) return i + 1;
        return 0;
    }

    private static string Id(long partner) => partner.ToString(CultureInfo.InvariantCulture);
}
