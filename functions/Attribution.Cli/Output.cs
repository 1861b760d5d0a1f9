using System.CommandLine;
using System.Globalization;
using System.Text;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>What a command prints: a table for people, or one JSON document / CSV for scripts.</summary>
internal enum OutputFormat
{
    Table,
    Json,
    Csv,
}

/// <summary>`--format table|json|csv` and its older alias `--json`, added to every command that prints a table.</summary>
internal sealed class FormatOptions
{
    private readonly Option<string?> _format;
    private readonly Option<bool> _json;

    private FormatOptions(Option<string?> format, Option<bool> json)
    {
        _format = format;
        _json = json;
    }

    /// <param name="csvRows">What a CSV row is; null for a command whose output does not flatten into rows (table or json only).</param>
    public static FormatOptions AddTo(Command command, string? csvRows)
    {
        var format = csvRows is null
            ? new Option<string?>("--format") { Description = "table (default) or json (one document).", HelpName = "table|json" }
            : new Option<string?>("--format") { Description = $"table (default), json (one document) or csv (a header row, then {csvRows}).", HelpName = "table|json|csv" };
        if (csvRows is null) format.AcceptOnlyFromAmong("table", "json");
        else format.AcceptOnlyFromAmong("table", "json", "csv");
        var json = new Option<bool>("--json") { Description = "Same as --format json." };
        command.Options.Add(format);
        command.Options.Add(json);
        return new FormatOptions(format, json);
    }

    /// <summary>The format asked for; JSON or CSV also keeps progress bars off stdout.</summary>
    public OutputFormat Get(ParseResult parse)
    {
        var chosen = Parse(parse);
        if (Commands.Context.Value is { } context) context.MachineOutput = chosen != OutputFormat.Table;
        return chosen;
    }

    private OutputFormat Parse(ParseResult parse)
    {
        var format = parse.GetValue(_format) switch
        {
            "json" => OutputFormat.Json,
            "csv" => OutputFormat.Csv,
            "table" => OutputFormat.Table,
            _ => (OutputFormat?)null,
        };
        if (!parse.GetValue(_json)) return format ?? OutputFormat.Table;
        if (format is not (null or OutputFormat.Json)) throw new CliException($"--json is --format json; it cannot be combined with --format {parse.GetValue(_format)}.", ExitCodes.BadUsage);
        return OutputFormat.Json;
    }
}

/// <summary>RFC 4180 CSV: a header row, CRLF line ends, fields quoted when they hold a comma, a quote or a line break.</summary>
internal static class Csv
{
    public static async Task WriteAsync(TextWriter output, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<object?>> rows)
    {
        var text = new StringBuilder();
        Line(text, header);
        foreach (var row in rows) Line(text, row);
        await output.WriteAsync(text.ToString());
    }

    private static void Line<T>(StringBuilder text, IReadOnlyList<T> fields)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0) text.Append(',');
            var value = Field(fields[i]);
            if (value.AsSpan().IndexOfAny(",\"\r\n") >= 0) text.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            else text.Append(value);
        }
        text.Append("\r\n");
    }

    // Numbers as JSON writes them (invariant, round-trip), booleans in lower case, null as an empty field.
    private static string Field(object? value) => value switch
    {
        null => "",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>How a column gives way when the table is wider than the terminal.</summary>
internal enum Fit
{
    /// <summary>Wraps between words (never inside one).</summary>
    Wrap,

    /// <summary>Free text quoted as it was (a rejected row): wraps between words, and inside one only when it is longer than the column.</summary>
    Fold,

    /// <summary>Never wraps: ids, numbers.</summary>
    Keep,

    /// <summary>A ';' list: drops whole items from the end, marking the cut with "…".</summary>
    List,

    /// <summary>A file path: drops whole leading folders, marking the cut with "…/".</summary>
    Path,
}

/// <param name="Drop">0: always shown; otherwise columns are left out, highest first, while the table does not fit.</param>
/// <param name="Short">A shorter header used (and explained under the table) when the full one does not fit.</param>
internal sealed record CliColumn(string Header, Fit Fit = Fit.Wrap, bool Right = false, int Drop = 0, string? Short = null);

internal readonly record struct CliCell(string Text, string? Style = null)
{
    public static implicit operator CliCell(string text) => new(text);
}

/// <summary>
/// A table laid out for the console's width: columns wrap between words, lists and paths are cut at whole items,
/// long headers shorten, and low-value columns are left out (and said so) until it fits. No word or id is ever split.
/// </summary>
internal sealed class CliTable(params CliColumn[] columns)
{
    // Simple border: an edge on each side and one separator between columns; one space of padding to the right.
    private const int PadRight = 1;

    private readonly List<CliCell[]> _rows = [];

    public CliTable AddRow(params CliCell[] cells)
    {
        if (cells.Length != columns.Length) throw new ArgumentException($"{cells.Length} cells for {columns.Length} columns.", nameof(cells));
        _rows.Add(cells);
        return this;
    }

    public void Write(IAnsiConsole console)
    {
        var width = console.Profile.Width;
        // Leave columns out rather than squeeze wrapping text into a sliver (a name one word a line); only when even
        // that cannot fit do wrapping columns go down to their longest word.
        var shown = Fitting(width, i => columns[i].Fit is Fit.Wrap or Fit.Fold ? Math.Max(MinWidth(i), Math.Min(MaxWidth(i), Comfortable)) : MinWidth(i))
            ?? Fitting(width, MinWidth)
            ?? [.. Enumerable.Range(0, columns.Length).Where(i => columns[i].Drop == 0)];
        var widths = Distribute(shown, [.. shown.Select(MinWidth)], [.. shown.Select(MaxWidth)], width - Overhead(shown.Count));

        var table = new Table().Border(TableBorder.Simple);
        var legend = new List<string>();
        for (var k = 0; k < shown.Count; k++)
        {
            var column = columns[shown[k]];
            var shortened = column.Short is not null && LongestWord(column.Header) > widths[k];
            var header = shortened ? column.Short! : column.Header;
            if (shortened) legend.Add($"{header} = {column.Header}");
            var tableColumn = new TableColumn(Markup.Escape(header)) { Width = widths[k], Padding = new Padding(0, 0, PadRight, 0) };
            if (column.Right) tableColumn.RightAligned();
            if (column.Fit == Fit.Keep) tableColumn.NoWrap();
            table.AddColumn(tableColumn);
        }
        foreach (var row in _rows)
        {
            table.AddRow(shown.Select((i, k) =>
            {
                var text = Cut(columns[i].Fit, row[i].Text, widths[k]);
                var escaped = Markup.Escape(text);
                return (Spectre.Console.Rendering.IRenderable)new Markup(row[i].Style is { } style && text.Length > 0 ? $"[{style}]{escaped}[/]" : escaped);
            }));
        }
        console.Write(table);
        if (legend.Count > 0) console.MarkupLine($"[grey]{Markup.Escape(string.Join(", ", legend))}.[/]");
        var left = Enumerable.Range(0, columns.Length).Where(i => !shown.Contains(i)).Select(i => columns[i].Header).ToList();
        if (left.Count > 0)
            console.MarkupLine($"[grey]{Markup.Escape($"Left out at {width} columns: {string.Join(", ", left)} (wider: --width N or COLUMNS; every field: --format json or csv).")}[/]");
    }

    /// <summary>Columns wider than this are narrowed before any is left out; narrower ones only when nothing else can give.</summary>
    private const int Comfortable = 12;

    private static int Overhead(int columnCount) => columnCount * (1 + PadRight) + 1;

    /// <summary>The columns left after leaving out the droppable ones, highest Drop first, until their widths fit; null when none do.</summary>
    private List<int>? Fitting(int width, Func<int, int> minWidth)
    {
        var shown = Enumerable.Range(0, columns.Length).ToList();
        while (shown.Sum(minWidth) > width - Overhead(shown.Count))
        {
            if (!shown.Any(i => columns[i].Drop > 0)) return null;
            shown.Remove(shown.Where(i => columns[i].Drop > 0).MaxBy(i => columns[i].Drop));
        }
        return shown;
    }

    private int MinWidth(int i)
    {
        var column = columns[i];
        var header = column.Short?.Length ?? LongestWord(column.Header);
        var cells = column.Fit switch
        {
            Fit.Keep => _rows.Select(r => r[i].Text.Length).DefaultIfEmpty(0).Max(),
            Fit.Wrap => _rows.Select(r => LongestWord(r[i].Text)).DefaultIfEmpty(0).Max(),
            // A list can always be cut down to "…"; a path to its file name.
            Fit.Fold => Math.Min(_rows.Select(r => LongestWord(r[i].Text)).DefaultIfEmpty(0).Max(), 20),
            Fit.List => Math.Min(_rows.Select(r => r[i].Text.Length).DefaultIfEmpty(0).Max(), 6),
            _ => _rows.Select(r => System.IO.Path.GetFileName(r[i].Text).Length).DefaultIfEmpty(0).Max(),
        };
        return Math.Max(header, cells);
    }

    private int MaxWidth(int i) =>
        Math.Max(columns[i].Header.Length, _rows.Select(r => r[i].Text.Split('\n').Max(l => l.Length)).DefaultIfEmpty(0).Max());

    /// <summary>Every column at its widest, then the wrapping ones narrowed (down to their longest word), lists and paths last.</summary>
    private int[] Distribute(List<int> shown, int[] min, int[] max, int available)
    {
        var widths = (int[])max.Clone();
        foreach (var give in new[] { new[] { Fit.Wrap, Fit.Fold }, new[] { Fit.List, Fit.Path } })
        {
            // Each gives in proportion to what it can spare (a long name keeps more than a short cell), the rest one by one.
            var group = Enumerable.Range(0, shown.Count).Where(k => give.Contains(columns[shown[k]].Fit)).ToList();
            var spare = group.Sum(k => widths[k] - min[k]);
            var excess = widths.Sum() - available;
            if (excess > 0 && spare > 0)
                foreach (var k in group) widths[k] -= (int)Math.Min(widths[k] - min[k], (long)excess * (widths[k] - min[k]) / spare);
            while (widths.Sum() > available)
            {
                var candidates = Enumerable.Range(0, shown.Count).Where(k => give.Contains(columns[shown[k]].Fit) && widths[k] > min[k]).ToList();
                if (candidates.Count == 0) break;
                widths[candidates.MaxBy(k => widths[k])]--;
            }
        }
        return widths;
    }

    private static int LongestWord(string text) =>
        text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(w => w.Length).DefaultIfEmpty(0).Max();

    private static string Cut(Fit fit, string text, int width)
    {
        if (text.Length <= width) return text;
        if (fit == Fit.List)
        {
            var items = text.Split(';');
            for (var n = items.Length - 1; n > 0; n--)
            {
                var head = string.Join(';', items[..n]) + ";…";
                if (head.Length <= width) return head;
            }
            return "…";
        }
        if (fit == Fit.Path)
        {
            var parts = text.Split('/', '\\');
            for (var n = parts.Length - 1; n > 0; n--)
            {
                var tail = "…/" + string.Join('/', parts[^n..]);
                if (tail.Length <= width) return tail;
            }
            return parts[^1];
        }
        return text;
    }

    /// <summary>A short name for a column header: the capitals of a CamelCase name (CloudPlatform → CP), else its first letters.</summary>
    public static string Initials(string name)
    {
        var capitals = new string([.. name.Where(char.IsUpper)]);
        return capitals.Length >= 2 ? capitals : name[..Math.Min(3, name.Length)];
    }
}
