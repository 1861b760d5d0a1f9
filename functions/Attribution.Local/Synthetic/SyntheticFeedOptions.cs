using Attribution.Domain;

namespace Attribution.Local.Synthetic;

/// <summary>What <see cref="SyntheticFeedGenerator.Generate"/> produces.</summary>
/// <param name="Tenants">Customer tenants to generate (≥ 1). Location partners ≈ Tenants / 4.</param>
/// <param name="Seed">Same seed and options ⇒ byte-identical files.</param>
/// <param name="LastMonth">The last month with usage (default 2026-10, so <c>--as-of 2026-10</c> covers the whole set).</param>
/// <param name="Months">Months of usage ending with <paramref name="LastMonth"/> (default 24: a credit window and the year
/// before it, so trends across years can be read).</param>
public sealed record SyntheticFeedOptions(int Tenants = 100, int Seed = 1, YearMonth? LastMonth = null, int Months = 24)
{
    public static YearMonth DefaultLastMonth { get; } = new(2026, 10);

    public YearMonth EffectiveLastMonth => LastMonth ?? DefaultLastMonth;

    public YearMonth FirstMonth => EffectiveLastMonth.AddMonths(1 - Months);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Tenants, 1, nameof(Tenants));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Tenants, 50_000_000, nameof(Tenants));
        ArgumentOutOfRangeException.ThrowIfLessThan(Months, 1, nameof(Months));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Months, 120, nameof(Months));
        if (EffectiveLastMonth.Year is < 2005 or > 9000)
            throw new ArgumentOutOfRangeException(nameof(LastMonth), EffectiveLastMonth, "LastMonth must be a plausible month (2005–9000).");
    }
}

/// <summary>One file the generator wrote.</summary>
/// <param name="Source">The feed name (<c>partners</c>, <c>dpor</c>, …, <c>usage</c>).</param>
/// <param name="Path">Full path of the file.</param>
/// <param name="Rows">Data rows (the header is not counted).</param>
/// <param name="Bytes">File size.</param>
public sealed record SyntheticFeedFile(string Source, string Path, long Rows, long Bytes);

/// <summary>What a <see cref="SyntheticFeedGenerator.Generate"/> call wrote, one file per source in feed order.</summary>
public sealed record SyntheticFeedSummary(
    IReadOnlyList<SyntheticFeedFile> Files,
    int Tenants,
    long Subscriptions,
    int LocationPartners,
    int GlobalPartners)
{
    public long TotalRows => Files.Sum(f => f.Rows);

    public long TotalBytes => Files.Sum(f => f.Bytes);

    /// <summary>The file of one source (<c>usage</c>, …); throws when there is none.</summary>
    public SyntheticFeedFile File(string source) =>
        Files.FirstOrDefault(f => string.Equals(f.Source, source, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"No synthetic file for source '{source}'.");
}
