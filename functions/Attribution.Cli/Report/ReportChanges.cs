using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;

namespace Attribution.Cli.Report;

/// <summary>A partner's level on one competency that differs from the previous published month.</summary>
internal sealed record ReportLevelChange(string PartnerId, string? Name, string Competency, string From, string To, bool Gained);

/// <summary>A partner whose ACR on a competency moved between the two months.</summary>
internal sealed record ReportMover(string PartnerId, string? Name, string Competency, double PreviousAcrUsdTtm, double AcrUsdTtm)
{
    public double Delta => AcrUsdTtm - PreviousAcrUsdTtm;
}

/// <summary>
/// What changed since the previous published month, as the changes read model (<see cref="CreditChanges"/>, the
/// one behind `attribution changes`) computes it: levels gained and lost by the rules' order, partners new and gone,
/// and the largest ACR movers over all competencies.
/// </summary>
internal sealed record ReportChanges(
    Attribution.Domain.YearMonth PreviousAsOf,
    IReadOnlyList<string> NewPartners,
    IReadOnlyList<string> GonePartners,
    IReadOnlyList<ReportLevelChange> Levels,
    IReadOnlyList<ReportMover> Movers)
{
    public const int MaxMovers = 10;

    /// <summary>Null when no month before the report's one is published.</summary>
    public static async Task<ReportChanges?> ComputeAsync(
        CliStorage storage, RecalculationRun run, IReadOnlyDictionary<string, string> names, CancellationToken ct)
    {
        var changes = storage.Get<CreditChanges>();
        RecalculationRun previous;
        try
        {
            (previous, _) = await changes.ResolveAsync(run.AsOf, null, null, ct);
        }
        catch (ComparisonUnavailableException)
        {
            return null; // the first published month: nothing before it
        }
        var view = await changes.CompareAsync(previous, run, MaxMovers, ct);
        var levels = view.Competencies
            .SelectMany(c => c.Gained.Select(l => (c.Competency, l, Gained: true)).Concat(c.Lost.Select(l => (c.Competency, l, Gained: false))))
            .Select(x => new ReportLevelChange(x.l.PartnerId, names.GetValueOrDefault(x.l.PartnerId), x.Competency, x.l.From.Name, x.l.To.Name, x.Gained))
            .OrderBy(l => long.Parse(l.PartnerId, System.Globalization.CultureInfo.InvariantCulture)).ThenBy(l => l.Competency, StringComparer.Ordinal)
            .ToList();
        var movers = view.Competencies
            .SelectMany(c => c.AcrUsdTtmMovers.Select(m => new ReportMover(m.PartnerId, names.GetValueOrDefault(m.PartnerId), c.Competency, m.FromAcrUsdTtm, m.ToAcrUsdTtm)))
            .OrderByDescending(m => Math.Abs(m.Delta)).ThenBy(m => long.Parse(m.PartnerId, System.Globalization.CultureInfo.InvariantCulture))
            .Take(MaxMovers).ToList();
        return new ReportChanges(view.From.AsOf, view.NewPartners, view.GonePartners, levels, movers);
    }
}
