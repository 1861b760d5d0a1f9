using System.Globalization;
using Attribution.Domain;

namespace Attribution.Domain.Feeds;

/// <summary>
/// The value rules of the feed contract (§2.2). Each parser returns null on success or the problem,
/// phrased to follow "{column}: " in a rejection reason.
/// </summary>
public static class ValueRules
{
    public const int MaxPartnerIdDigits = PartnerId.MaxDigits;

    /// <summary>GUID in any case, with or without braces; nothing else (no bare 32 digits, no parentheses).</summary>
    public static string? ParseGuid(ReadOnlySpan<char> text, out Guid value)
    {
        text = text.Trim();
        if (Guid.TryParseExact(text, "D", out value) || Guid.TryParseExact(text, "B", out value)) return null;
        value = default;
        return $"'{Show(text)}' is not a GUID (expected 8-4-4-4-12 hex digits, optionally in braces)";
    }

    /// <summary>Location partner ID (MPN ID): 1–10 decimal digits after trimming; leading zeros dropped (<see cref="PartnerId.TryParse"/>).</summary>
    public static string? ParsePartnerId(ReadOnlySpan<char> text, out PartnerId value) =>
        PartnerId.TryParse(text, out value) ? null
            : $"'{Show(text.Trim())}' is not a partner ID (expected 1 to {MaxPartnerIdDigits} decimal digits)";

    /// <summary>
    /// `yyyy-MM-dd`; an ISO 8601 date-time with an offset or `Z` (its UTC date counts);
    /// or US `M/d/yyyy` optionally followed by a time, as Partner Center exports it.
    /// </summary>
    public static string? ParseDate(ReadOnlySpan<char> text, out DateOnly value)
    {
        text = text.Trim();
        value = default;
        if (text.Length == 10 && text[4] == '-' && text[7] == '-')
        {
            return DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out value)
                ? null
                : $"'{Show(text)}' is not a valid date";
        }
        if (text.Length > 10 && text[4] == '-' && text[7] == '-' && text[10] is 'T' or 't' or ' ')
        {
            if (!HasOffset(text[11..]))
                return $"'{Show(text)}' is a date-time without an offset or Z";
            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var dto))
                return $"'{Show(text)}' is not a valid ISO 8601 date-time";
            value = DateOnly.FromDateTime(dto.UtcDateTime);
            return null;
        }
        var slash1 = text.IndexOf('/');
        if (slash1 is 1 or 2)
        {
            var rest = text[(slash1 + 1)..];
            var slash2 = rest.IndexOf('/');
            if (slash2 is 1 or 2 && rest.Length >= slash2 + 5)
            {
                var yearPart = rest.Slice(slash2 + 1, 4);
                var timePart = rest[(slash2 + 5)..];
                if (int.TryParse(text[..slash1], NumberStyles.None, CultureInfo.InvariantCulture, out var m)
                    && int.TryParse(rest[..slash2], NumberStyles.None, CultureInfo.InvariantCulture, out var d)
                    && int.TryParse(yearPart, NumberStyles.None, CultureInfo.InvariantCulture, out var y)
                    && y >= 1 && m is >= 1 and <= 12 && d >= 1 && d <= DateTime.DaysInMonth(y, m)
                    && (timePart.IsEmpty || IsUsTime(timePart)))
                {
                    value = new DateOnly(y, m, d);
                    return null;
                }
            }
        }
        return $"'{Show(text)}' is not a date (expected yyyy-MM-dd, an ISO 8601 date-time with offset, or M/d/yyyy)";
    }

    private static bool HasOffset(ReadOnlySpan<char> timePart)
    {
        if (timePart.IsEmpty) return false;
        if (timePart[^1] is 'Z' or 'z') return true;
        // ±hh:mm or ±hhmm at the end
        var plus = timePart.LastIndexOfAny('+', '-');
        return plus > 0 && timePart.Length - plus is 6 or 5 or 3;
    }

    private static readonly string[] UsTimeFormats =
        ["H:mm", "H:mm:ss", "h:mm tt", "h:mm:ss tt", "HH:mm", "HH:mm:ss", "hh:mm tt", "hh:mm:ss tt", "h:mm:ss.FFFFFFF tt", "H:mm:ss.FFFFFFF"];

    private static bool IsUsTime(ReadOnlySpan<char> timePart) =>
        char.IsWhiteSpace(timePart[0])
        && DateTime.TryParseExact(timePart.Trim(), UsTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AllowInnerWhite, out _);

    public static string? ParseMonth(ReadOnlySpan<char> text, out Domain.YearMonth value) =>
        Domain.YearMonth.TryParse(text, out value) ? null : $"'{Show(text.Trim())}' is not a month (expected yyyy-MM)";

    /// <summary>A decimal ≥ 0, invariant culture, `.` as the decimal point, no thousands separators.</summary>
    public static string? ParseAmount(ReadOnlySpan<char> text, out double value)
    {
        text = text.Trim();
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)
            || !double.IsFinite(value))
            return $"'{Show(text)}' is not a decimal number";
        if (value < 0) return $"'{Show(text)}' is negative; must be >= 0";
        if (value == 0) value = 0; // normalise -0
        return null;
    }

    /// <summary>An integer ≥ 0.</summary>
    public static string? ParseCount(ReadOnlySpan<char> text, out long value)
    {
        text = text.Trim();
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
            return $"'{Show(text)}' is not a whole number";
        if (value < 0) return $"'{Show(text)}' is negative; must be >= 0";
        return null;
    }

    public const int MaxPersonIdLength = 64;
    public const int MaxCertificationLength = 32;

    /// <summary>
    /// A person ID: 1–64 characters after trimming (a character outside the BMP counts once), no control characters
    /// and nothing that is not text (a byte that is not UTF-8). Opaque: kept as written, compared exactly.
    /// </summary>
    public static string? ParsePersonId(ReadOnlySpan<char> text, out string value)
    {
        value = "";
        text = text.Trim();
        if (text.IsEmpty) return "is empty";
        var length = 0;
        for (var i = 0; i < text.Length; i++, length++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            // A lone surrogate is the reader's marker of a byte that is not UTF-8 (or a broken pair in JSON).
            if (char.IsSurrogate(c)) return $"'{Show(text)}' is not valid UTF-8 text";
            if (char.IsControl(c)) return $"'{Show(text)}' contains a control character";
        }
        if (length > MaxPersonIdLength) return $"'{Show(text)}' is longer than {MaxPersonIdLength} characters";
        value = text.ToString();
        return null;
    }

    /// <summary>
    /// A certification code: 1–32 ASCII letters, digits or `-` after trimming; case does not matter, so it is stored
    /// upper-case (`az-104` → `AZ-104`).
    /// </summary>
    public static string? ParseCertificationCode(ReadOnlySpan<char> text, out string value)
    {
        value = "";
        text = text.Trim();
        if (text.IsEmpty) return "is empty";
        if (text.Length > MaxCertificationLength)
            return $"'{Show(text)}' is longer than {MaxCertificationLength} characters";
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-')
                return $"'{Show(text)}' is not a certification code (expected letters, digits and '-')";
        }
        value = text.ToString().ToUpperInvariant();
        return null;
    }

    /// <summary>Shortens a value for a reason message.</summary>
    /// <summary>A value as a reason quotes it: cut to 60 characters, control characters and bad bytes escaped.</summary>
    internal static string Show(ReadOnlySpan<char> text) => InputText.Quote(text);
}
