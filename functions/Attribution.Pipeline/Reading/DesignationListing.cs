using Attribution.Domain;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;

namespace Attribution.Pipeline.Reading;

/// <summary>
/// A designation status (§7.3): qualified at asOf, eligible (qualified in a month of the qualification window, so
/// every qualified partner is eligible too), or none (not eligible).
/// </summary>
public enum DesignationStatus
{
    Qualified,
    Eligible,
    None,
}

/// <summary>One global partner's PartnerCapabilityScore row of the listed designation.</summary>
public sealed record DesignationListingRow(
    string GlobalPartnerId,
    string? PartnerName,
    string Track,
    double Score,
    bool Qualified,
    bool Eligible,
    IReadOnlyList<string> QualifiedMonths,
    double PointsToQualify,
    IReadOnlyList<string> ZeroMetrics);

/// <summary>How many scored global partners are in each status (qualified ones count as eligible too, as --status eligible lists them).</summary>
public sealed record DesignationStatusCounts(int Partners, int Qualified, int Eligible, int None);

/// <summary>
/// `attribution partners --designation D --format json`: the run's scores of D, filtered by status and cut to the
/// top N. <paramref name="Matching"/> counts the partners the status matched (before --top); the counts are of every
/// scored partner of D, whatever the filter.
/// </summary>
public sealed record DesignationListingView(
    YearMonth AsOf,
    string RunId,
    string RulesVersion,
    string? Scenario,
    string Designation,
    double QualifyingPoints,
    string? Status,
    int? Top,
    int Matching,
    IReadOnlyList<DesignationListingRow> Partners,
    DesignationStatusCounts StatusCounts);

/// <summary>Lists a run's capability scores of one designation (§7.4), from the snapshot <see cref="ScoreReader"/> reads, ordered by global partner ID.</summary>
public sealed class DesignationListing(ScoreReader scores, EvidenceService evidence, RecordStore records)
{
    public async Task<DesignationListingView> ReadAsync(RecalculationRun run, string designation, DesignationStatus? status = null, int? top = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(designation);
        if (top is < 1) throw new ArgumentOutOfRangeException(nameof(top), "Top must be at least 1.");
        var rules = await evidence.RulesOfAsync(run, cancellationToken).ConfigureAwait(false);
        var name = ScoreReader.ResolveDesignation(rules, designation); // before the snapshot is read: a typo fails fast
        var names = await PartnerListing.NamesAsync(records, run, cancellationToken).ConfigureAwait(false);
        var rows = new List<DesignationListingRow>();
        await foreach (var partner in scores.AllAsync(run, cancellationToken).ConfigureAwait(false))
        {
            if (partner.Designations.FirstOrDefault(d => d.Designation == name) is not { } d) continue;
            rows.Add(new DesignationListingRow(partner.GlobalPartnerId, names.GetValueOrDefault(partner.GlobalPartnerId), d.Track, d.Score,
                d.Qualified, d.Eligible, d.QualifiedMonths, d.PointsToQualify, d.ZeroMetrics));
        }
        var matching = rows.Where(r => status switch
        {
            DesignationStatus.Qualified => r.Qualified,
            DesignationStatus.Eligible => r.Eligible,
            DesignationStatus.None => !r.Eligible,
            _ => true,
        }).ToList();
        var counts = new DesignationStatusCounts(rows.Count, rows.Count(r => r.Qualified), rows.Count(r => r.Eligible), rows.Count(r => !r.Eligible));
        return new DesignationListingView(run.AsOf, run.RunId, rules.RulesVersion, run.Scenario, name,
            rules.Designations.First(d => d.Name == name).QualifyingPoints, status is { } s ? StatusName(s) : null, top,
            matching.Count, [.. matching.Take(top ?? int.MaxValue)], counts);
    }

    /// <summary>The narrowest status of a score: qualified, else eligible (only), else none.</summary>
    public static DesignationStatus StatusOf(DesignationScoreView score)
    {
        ArgumentNullException.ThrowIfNull(score);
        return score.Qualified ? DesignationStatus.Qualified : score.Eligible ? DesignationStatus.Eligible : DesignationStatus.None;
    }

    public static string StatusName(DesignationStatus status) => status switch
    {
        DesignationStatus.Qualified => "qualified",
        DesignationStatus.Eligible => "eligible",
        _ => "none",
    };
}
