using System.Globalization;
using System.Text;

namespace Attribution.Domain.Feeds;

/// <summary>
/// Input text as errors and reject reasons quote it: never the raw bytes of a file. A reason is read on a terminal, in
/// a log or a table viewer, so what cannot be shown as itself is written as a visible escape:
/// <list type="bullet">
/// <item>a byte that is not UTF-8 (the reader's marker for it) as <c>\xE9</c>, never U+FFFD;</item>
/// <item>control characters as <c>\x1F</c> (<c>\t</c>, <c>\r</c>, <c>\n</c> by name), and a genuine U+FFFD, a format
/// character (bidi controls, zero-width) or a stray surrogate as <c>\uXXXX</c>.</item>
/// </list>
/// Backslashes are left as they are: a value holding the text <c>\x41</c> reads the same as an escaped byte, a
/// rarity that is worth less than keeping paths and the like readable.
/// </summary>
internal static class InputText
{
    /// <summary>A value quoted in a reason: at most <paramref name="max"/> characters of input, then escaped.</summary>
    public static string Quote(ReadOnlySpan<char> text, int max = 60)
    {
        if (text.Length <= max) return Escape(text);
        var cut = max - 3;
        if (cut > 0 && char.IsHighSurrogate(text[cut - 1])) cut--; // never half a pair
        return Escape(text[..cut]) + "...";
    }

    /// <summary>Everything that cannot be shown as itself, escaped (see the class).</summary>
    public static string Escape(ReadOnlySpan<char> text) => Render(text, keepLayout: false);

    /// <summary>
    /// A rejected row's raw text (RejectedRecords.raw): the row as the file has it, its tabs and line breaks included,
    /// with stray quotes back in place and only what would be noise escaped: bytes that are not UTF-8 and other
    /// control characters. A genuine U+FFFD is the file's own text and stays.
    /// </summary>
    public static string Raw(ReadOnlySpan<char> text) => Render(text, keepLayout: true);

    private static string Render(ReadOnlySpan<char> text, bool keepLayout)
    {
        if (!NeedsWork(text, keepLayout)) return text.ToString();
        var sb = new StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]); // a real pair: a character outside the BMP
                continue;
            }
            if (char.IsSurrogate(c))
            {
                if (FeedTextReader.InvalidByte(c) is { } b) sb.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}");
                else if (c is FeedTextReader.StrayQuote or FeedTextReader.QuoteAfterClosingQuote) sb.Append('"');
                else sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
                continue;
            }
            if (keepLayout && c is '\t' or '\r' or '\n')
            {
                sb.Append(c);
                continue;
            }
            switch (c)
            {
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                case '\n': sb.Append("\\n"); break;
                default:
                    if (char.IsControl(c)) sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}");
                    else if (!keepLayout && IsInvisible(c)) sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
                    else sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>U+FFFD and characters that show as nothing or reorder the text around them.</summary>
    private static bool IsInvisible(char c) =>
        c == '\uFFFD' || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    /// <summary>One scan: most text is plain and is returned as it is.</summary>
    private static bool NeedsWork(ReadOnlySpan<char> text, bool keepLayout)
    {
        foreach (var c in text)
        {
            if (c < ' ' ? !(keepLayout && c is '\t' or '\r' or '\n') : c >= '\u007F' && (char.IsControl(c) || char.IsSurrogate(c) || (!keepLayout && IsInvisible(c))))
                return true;
        }
        return false;
    }
}
