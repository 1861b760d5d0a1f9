using System.Globalization;

namespace Attribution.Local.Synthetic;

/// <summary>
/// A minimal forward-only RFC 4180 writer for the synthetic feeds: formats straight into the
/// <see cref="TextWriter"/> buffer (no per-row strings), invariant culture, LF line endings.
/// Counts the characters it writes; the generator only writes ASCII, so that is also the byte count.
/// </summary>
internal sealed class CsvOut(TextWriter writer)
{
    private bool _rowStarted;

    /// <summary>Data rows ended so far (the header is not counted).</summary>
    public long Rows { get; private set; }

    /// <summary>Characters written so far, header included.</summary>
    public long Chars { get; private set; }

    public void Header(params ReadOnlySpan<string> names)
    {
        foreach (var name in names) Raw(name);
        writer.Write('\n');
        Chars++;
        _rowStarted = false;
    }

    public void EndRow()
    {
        writer.Write('\n');
        Chars++;
        Rows++;
        _rowStarted = false;
    }

    private void Separator()
    {
        if (_rowStarted)
        {
            writer.Write(',');
            Chars++;
        }
        _rowStarted = true;
    }

    /// <summary>A field known not to need quoting.</summary>
    public void Raw(ReadOnlySpan<char> value)
    {
        Separator();
        writer.Write(value);
        Chars += value.Length;
    }

    public void Empty() => Separator();

    /// <summary>Free text: quoted (inner quotes doubled) when it holds a comma, quote or line break.</summary>
    public void Text(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            Empty();
            return;
        }
        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            Raw(value);
            return;
        }
        Separator();
        var quoted = "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        writer.Write(quoted);
        Chars += quoted.Length;
    }

    public void Guid(Guid value)
    {
        Span<char> buffer = stackalloc char[36];
        value.TryFormat(buffer, out var n, "D");
        Raw(buffer[..n]);
    }

    public void Int(long value)
    {
        Span<char> buffer = stackalloc char[20];
        value.TryFormat(buffer, out var n, default, CultureInfo.InvariantCulture);
        Raw(buffer[..n]);
    }

    public void Date(DateOnly value)
    {
        Span<char> buffer = stackalloc char[10];
        value.TryFormat(buffer, out var n, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        Raw(buffer[..n]);
    }

    public void Date(DateOnly? value)
    {
        if (value is { } d) Date(d);
        else Empty();
    }

    /// <summary>A non-negative amount with two decimals and a '.' decimal point.</summary>
    public void Money(double value)
    {
        Span<char> buffer = stackalloc char[32];
        value.TryFormat(buffer, out var n, "0.00", CultureInfo.InvariantCulture);
        Raw(buffer[..n]);
    }
}
