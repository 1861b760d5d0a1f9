using System.Globalization;

namespace Attribution.Core.Domain;

/// <summary>A calendar month (`yyyy-MM`), stored as a month index so windows are integer ranges.</summary>
public readonly record struct YearMonth(int Index) : IComparable<YearMonth>
{
    public YearMonth(int year, int month) : this(year * 12 + (month - 1)) { }

    public int Year => Index / 12;
    public int Month => Index % 12 + 1;
    public DateOnly FirstDay => new(Year, Month, 1);
    public DateOnly LastDay => new(Year, Month, DaysInMonth);
    public int DaysInMonth => DateTime.DaysInMonth(Year, Month);

    public YearMonth AddMonths(int months) => new(Index + months);

    public static YearMonth Of(DateOnly date) => new(date.Year, date.Month);

    public int CompareTo(YearMonth other) => Index.CompareTo(other.Index);
    public static bool operator <(YearMonth a, YearMonth b) => a.Index < b.Index;
    public static bool operator >(YearMonth a, YearMonth b) => a.Index > b.Index;
    public static bool operator <=(YearMonth a, YearMonth b) => a.Index <= b.Index;
    public static bool operator >=(YearMonth a, YearMonth b) => a.Index >= b.Index;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Year:D4}-{Month:D2}");

    /// <summary>Strict `yyyy-MM`.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out YearMonth month)
    {
        month = default;
        text = text.Trim();
        if (text.Length != 7 || text[4] != '-') return false;
        if (!int.TryParse(text[..4], NumberStyles.None, CultureInfo.InvariantCulture, out var y)) return false;
        if (!int.TryParse(text[5..], NumberStyles.None, CultureInfo.InvariantCulture, out var m)) return false;
        if (y < 1 || m is < 1 or > 12) return false;
        month = new YearMonth(y, m);
        return true;
    }

    public static YearMonth Parse(string text) =>
        TryParse(text, out var m) ? m : throw new FormatException($"'{text}' is not a month in the form yyyy-MM.");
}
