using System.Globalization;
using Attribution.Core.Domain;
using Attribution.Core.Reading;
using Attribution.Core.Recalculation;

namespace Attribution.Cli.Report;

/// <summary>A partner's level on one competency that differs from the previous published month.</summary>
internal sealed record LevelChange(string PartnerId, string? Name, string Competency, string From, string To, bool Gained);

/// <summary>A partner whose ACR total moved between the two months.</summary>
internal sealed record Mover(string PartnerId, string? Name, double PreviousAcrUsdTtm, double AcrUsdTtm)
{
    public double Delta => AcrUsdTtm - PreviousAcrUsdTtm;
}

/// <summary>What changed between the previous published month and the report's month (both read from their published runs).</summary>
internal sealed record ReportChanges(
    string PreviousAsOf,
    IReadOnlyList<string> NewPartners,
    IReadOnlyList<string> GonePartners,
    IReadOnlyList<LevelChange> Levels,
    IReadOnlyList<Mover> Movers)
{
    public const int MaxMovers = 10;

    /// <summary>Null when no month before the report's one is published.</summary>
    public static async Task<ReportChanges?> ComputeAsync(
        CreditReader reader, RecalculationRun run, IReadOnlyList<string> months,
        IReadOnlyDictionary<string, IReadOnlyList<string>> levelsOf, IReadOnlyDictionary<string, string> names, CancellationToken ct)
    {
        var previous = months.LastOrDefault(m => string.CompareOrdinal(m, run.AsOf) < 0);
        if (previous is null) return null;
        var previousRun = await reader.ResolveRunAsync(YearMonth.Parse(previous), null, ct);
        if (previousRun is null) return null;
        var now = (await reader.AllPartnersAsync(run, ct)).ToDictionary(p => p.PartnerId, StringComparer.Ordinal);
        var before = (await reader.AllPartnersAsync(previousRun, ct)).ToDictionary(p => p.PartnerId, StringComparer.Ordinal);

        var added = now.Keys.Where(k => !before.ContainsKey(k)).OrderBy(Id).ToList();
        var gone = before.Keys.Where(k => !now.ContainsKey(k)).OrderBy(Id).ToList();
        var levels = new List<LevelChange>();
        // A partner absent in a month holds no level in it: a new partner's levels are gains, a gone one's are losses.
        foreach (var id in now.Keys.Union(before.Keys).OrderBy(Id))
        {
            var a = now.GetValueOrDefault(id)?.Competencies ?? [];
            var b = before.GetValueOrDefault(id)?.Competencies ?? [];
            foreach (var competency in a.Select(c => c.Competency).Union(b.Select(c => c.Competency)).Order(StringComparer.Ordinal))
            {
                var to = a.FirstOrDefault(c => c.Competency == competency)?.Level ?? "None";
                var from = b.FirstOrDefault(c => c.Competency == competency)?.Level ?? "None";
                if (to == from) continue;
                var order = levelsOf.GetValueOrDefault(competency) ?? ["None"];
                levels.Add(new LevelChange(id, names.GetValueOrDefault(id), competency, from, to, Rank(order, to) > Rank(order, from)));
            }
        }
        var movers = now.Keys.Union(before.Keys)
            .Select(id => new Mover(id, names.GetValueOrDefault(id),
                before.GetValueOrDefault(id)?.Competencies.Sum(c => c.AcrUsdTtm) ?? 0, now.GetValueOrDefault(id)?.Competencies.Sum(c => c.AcrUsdTtm) ?? 0))
            .Where(m => m.Delta != 0)
            .OrderByDescending(m => Math.Abs(m.Delta)).ThenBy(m => Id(m.PartnerId)).Take(MaxMovers).ToList();
        return new ReportChanges(previous, added, gone, levels, movers);
    }

    private static int Rank(IReadOnlyList<string> order, string level)
    {
        for (var i = 0; i < order.Count; i++)
            if (order[i] == level) return i;
        return level == "None" ? 0 : order.Count;
    }

    internal static long Id(string partnerId) => long.Parse(partnerId, CultureInfo.InvariantCulture);
}
