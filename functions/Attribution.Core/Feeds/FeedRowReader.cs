using System.Text.Json;
using nietras.SeparatedValues;

namespace Attribution.Core.Feeds;

public enum FeedFormat
{
    Csv,
    JsonLines,
}

/// <summary>
/// Streams the records of one feed file as rows addressed by <see cref="FeedColumn"/>, whatever the format.
/// Blank lines are not records and are skipped.
/// </summary>
public abstract class FeedRowReader : IDisposable
{
    protected FeedRowReader(FeedSchema schema) => Schema = schema;

    public FeedSchema Schema { get; protected set; }

    /// <summary>Line of the current record's start (CSV: physical line, counting quoted newlines; JSONL: the line).</summary>
    public long Line { get; protected set; }

    /// <summary>Why the current row cannot be read at all (malformed JSON, wrong field count), or null.</summary>
    public string? RowProblem { get; protected set; }

    public abstract bool MoveNext();

    /// <summary>The current row's value of a column; empty when absent or null.</summary>
    public abstract ReadOnlySpan<char> this[FeedColumn column] { get; }

    /// <summary>The column's name as the file spells it, for reasons.</summary>
    public abstract string Label(FeedColumn column);

    /// <summary>The row as it appears in the file.</summary>
    public abstract string RawText();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);

    /// <summary>Format by extension: .csv, .jsonl (also .ndjson), either with .gz appended.</summary>
    public static bool TryDetectFormat(string name, out FeedFormat format, out bool gzip)
    {
        var lower = name.ToLowerInvariant();
        gzip = lower.EndsWith(".gz", StringComparison.Ordinal);
        if (gzip) lower = lower[..^3];
        if (lower.EndsWith(".csv", StringComparison.Ordinal)) { format = FeedFormat.Csv; return true; }
        if (lower.EndsWith(".jsonl", StringComparison.Ordinal) || lower.EndsWith(".ndjson", StringComparison.Ordinal)) { format = FeedFormat.JsonLines; return true; }
        format = default;
        return false;
    }

    /// <summary>
    /// Opens a reader over a (possibly gzip) stream; the caller keeps ownership of <paramref name="stream"/>.
    /// Throws <see cref="FeedFormatException"/> for a bad header, and <see cref="InvalidDataException"/> — from here or
    /// from <see cref="MoveNext"/> — for gzip that is not gzip, truncated or corrupt: the file fails as a whole.
    /// </summary>
    public static FeedRowReader Open(Stream stream, FeedSource source, FeedFormat format, bool gzip)
    {
        Stream input = gzip ? new StrictGzipStream(stream, leaveOpen: true) : stream;
        var text = new FeedTextReader(input, csvQuotes: format == FeedFormat.Csv, leaveOpen: !gzip);
        try
        {
            return format == FeedFormat.Csv ? new CsvFeedRowReader(text, source) : new JsonLinesFeedRowReader(text, source);
        }
        catch
        {
            text.Dispose();
            throw;
        }
    }
}

internal sealed class CsvFeedRowReader : FeedRowReader
{
    private readonly FeedTextReader _text;
    private readonly SepReader _sep;
    private readonly int[] _index = new int[FeedSchema.ColumnCount];
    private readonly string[] _labels = new string[FeedSchema.ColumnCount];
    private readonly string[] _names;
    private readonly int _headerCount;

    public CsvFeedRowReader(FeedTextReader text, FeedSource source) : base(FeedSchema.For(source))
    {
        _text = text;
        // Quotes are parsed and unescaped by Sep; the header is read as a plain row so we control matching and
        // duplicate names, and field counts are checked per row so one bad row is rejected, not the file.
        _sep = Sep.New(',').Reader(o => o with { HasHeader = false, Unescape = true, DisableColCountCheck = true, DisableFastFloat = true })
            .From(text);
        if (!_sep.MoveNext()) throw new FeedFormatException("The file is empty: expected a header row.");
        var header = _sep.Current;
        _headerCount = header.ColCount;
        if (HasOddQuotes(header.Span)) throw new FeedFormatException("The header row has an unterminated quoted field.");
        var names = _names = new string[_headerCount];
        for (var i = 0; i < _headerCount; i++) names[i] = header[i].ToString().Trim().TrimStart('\uFEFF');
        if (_text.Marked && FeedTextReader.MayHaveMarkers(header.Span)) CheckHeaderText(names);
        var normalized = names.Select(n => FeedSchema.NormalizeName(n)).ToArray();
        Schema = FeedSchema.ForHeader(source, normalized);
        Array.Fill(_index, -1);
        var missing = new List<string>();
        var duplicates = new List<string>();
        foreach (var (column, name, required) in Schema.Columns)
        {
            var key = FeedSchema.NormalizeName(name);
            var at = Array.IndexOf(normalized, key);
            if (at < 0)
            {
                if (required) missing.Add(name);
                continue;
            }
            _index[(int)column] = at;
            _labels[(int)column] = names[at];
            // Two columns the feed reads under one name: which one is meant cannot be guessed, so the file fails.
            // Duplicates among columns the feed ignores are ignored with them.
            var same = Enumerable.Range(at, normalized.Length - at).Where(i => normalized[i] == key).ToList();
            if (same.Count > 1)
                duplicates.Add($"{string.Join(" and ", same.Select(i => $"'{names[i]}' (column {i + 1})"))} {(same.Count == 2 ? "both" : "all")} name {name}");
        }
        var kind = Schema.IsReconciliationExport ? "csp reconciliation export" : source.Name();
        var problems = new List<string>();
        if (missing.Count > 0) problems.Add($"The {kind} file lacks required column(s): {string.Join(", ", missing)}.");
        if (duplicates.Count > 0)
            problems.Add($"The {kind} file has duplicate columns (names match ignoring case, spaces, '_' and '-'): {string.Join("; ", duplicates)}. Keep one of each.");
        if (problems.Count > 0) throw new FeedFormatException(string.Join(" ", problems));
    }

    /// <summary>A header that is not clean text fails the file: its names could not be matched reliably.</summary>
    private static void CheckHeaderText(string[] names)
    {
        for (var i = 0; i < names.Length; i++)
        {
            var name = names[i];
            if (FeedTextReader.HasMarker(name, FeedTextReader.StrayQuote) || FeedTextReader.HasMarker(name, FeedTextReader.QuoteAfterClosingQuote))
                throw new FeedFormatException($"The header row has a quote inside an unquoted field (column {i + 1}, {FeedTextReader.Printable(name)}).");
            if (FeedTextReader.HasMarker(name, FeedTextReader.InvalidUtf8))
                throw new FeedFormatException($"The header row is not valid UTF-8 (column {i + 1}, '{FeedTextReader.Printable(name)}'): feeds must be UTF-8 encoded.");
        }
    }

    public override bool MoveNext()
    {
        while (_sep.MoveNext())
        {
            var row = _sep.Current;
            Line = row.LineNumberFrom;
            if (row.ColCount == 1 && row.Span.Trim().IsEmpty) continue; // a blank line is not a record
            RowProblem = null;
            // Markers (stray quotes, invalid UTF-8) exist only if the text reader wrote one: clean files skip the scan.
            var marked = _text.Marked && FeedTextReader.MayHaveMarkers(row.Span);
            if (HasOddQuotes(row.Span))
                RowProblem = "unterminated quoted field (the record runs on to the end of the file)";
            else if (marked && QuoteProblem(row) is { } quote)
                RowProblem = quote;
            else if (row.ColCount != _headerCount)
                RowProblem = $"has {row.ColCount} field(s); the header has {_headerCount}";
            else if (marked)
                RowProblem = Utf8Problem(row);
            return true;
        }
        return false;
    }

    private static bool HasOddQuotes(ReadOnlySpan<char> span) => (span.Count('"') & 1) == 1;

    private string FieldName(int i) => i < _names.Length && _names[i].Length > 0 ? _names[i] : $"field {i + 1}";

    private string? QuoteProblem(SepReader.Row row)
    {
        for (var i = 0; i < row.ColCount; i++)
        {
            var field = row[i].Span;
            if (FeedTextReader.HasMarker(field, FeedTextReader.StrayQuote))
                return $"{FieldName(i)}: quote inside an unquoted field (RFC 4180: a field that holds a quote must be enclosed in quotes, the quote doubled)";
            if (FeedTextReader.HasMarker(field, FeedTextReader.QuoteAfterClosingQuote))
                return $"{FieldName(i)}: quote after the closing quote of a quoted field (inside a quoted field, write a quote as \"\")";
        }
        return null;
    }

    /// <summary>Invalid UTF-8 in a column the feed reads rejects the row; in an ignored column it is ignored with it.</summary>
    private string? Utf8Problem(SepReader.Row row)
    {
        foreach (var (column, _, _) in Schema.Columns)
        {
            var at = _index[(int)column];
            if (at < 0 || at >= row.ColCount) continue;
            var field = row[at].Span;
            if (FeedTextReader.HasMarker(field, FeedTextReader.InvalidUtf8))
                return $"{_labels[(int)column]}: invalid UTF-8 in '{ValueRules.Show(FeedTextReader.Printable(field))}' (bytes that are not UTF-8 text; the file must be UTF-8 encoded)";
        }
        return null;
    }

    public override ReadOnlySpan<char> this[FeedColumn column]
    {
        get
        {
            var at = _index[(int)column];
            var row = _sep.Current;
            return at < 0 || at >= row.ColCount ? default : row[at].Span;
        }
    }

    public override string Label(FeedColumn column) => _labels[(int)column] ?? column.ToString();

    public override string RawText() => FeedTextReader.Printable(_sep.Current.Span);

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        _sep.Dispose();
        _text.Dispose();
    }
}

internal sealed class JsonLinesFeedRowReader : FeedRowReader
{
    private readonly FeedTextReader _text;
    private readonly string?[] _values = new string?[FeedSchema.ColumnCount];
    private readonly string?[] _labels = new string?[FeedSchema.ColumnCount];
    private readonly Dictionary<string, FeedColumn> _byName;
    private readonly FeedSource _source;
    private string _line = "";
    private long _lineNumber;

    public JsonLinesFeedRowReader(FeedTextReader text, FeedSource source) : base(FeedSchema.For(source))
    {
        _text = text;
        _source = source;
        _byName = Schema.Columns.ToDictionary(c => FeedSchema.NormalizeName(c.Name), c => c.Column);
    }

    public override bool MoveNext()
    {
        while (_text.ReadLine() is { } line)
        {
            _lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            _line = line;
            Line = _lineNumber;
            Array.Clear(_values);
            Array.Clear(_labels);
            RowProblem = null;
            // Invalid UTF-8 marks are lone surrogates, which JSON text cannot hold: on the rare line that has one,
            // they become a private-use character the line does not contain, so a value can be traced to its field.
            var json = line;
            var invalid = '\0';
            if (_text.Marked && FeedTextReader.HasMarker(line, FeedTextReader.InvalidUtf8))
            {
                invalid = UnusedPrivateUseCharacter(line);
                if (invalid == '\0')
                {
                    RowProblem = "line is not valid UTF-8";
                    return true;
                }
                json = FeedTextReader.ReplaceMarker(line, FeedTextReader.InvalidUtf8, invalid);
            }
            try
            {
                using var doc = JsonDocument.Parse(json);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    RowProblem = $"line is JSON but not an object ({doc.RootElement.ValueKind})";
                    return true;
                }
                RowProblem = JsonRecord.Read(doc.RootElement, _byName, _values, _labels, invalid);
            }
            catch (JsonException e)
            {
                RowProblem = invalid == '\0'
                    ? $"line is not valid JSON ({e.Message})"
                    : "line is not valid JSON: it has bytes that are not UTF-8 text outside any string value";
            }
            return true;
        }
        return false;
    }

    public override ReadOnlySpan<char> this[FeedColumn column] => _values[(int)column];

    public override string Label(FeedColumn column) => _labels[(int)column] ?? Schema.Columns.FirstOrDefault(c => c.Column == column).Name ?? column.ToString();

    public override string RawText() => FeedTextReader.Printable(_line);

    private static char UnusedPrivateUseCharacter(string line)
    {
        for (var c = '\uE000'; c <= '\uF8FF'; c++)
        {
            if (!line.Contains(c, StringComparison.Ordinal)) return c;
        }
        return '\0';
    }

    internal FeedSource Source => _source;

    protected override void Dispose(bool disposing)
    {
        if (disposing) _text.Dispose();
    }
}

/// <summary>Reads one JSON record (JSONL line or Service Bus record) into column values.</summary>
internal static class JsonRecord
{
    /// <summary>
    /// Fills <paramref name="values"/> (and <paramref name="labels"/>, which must start cleared); strings and numbers
    /// are values, null is empty. Returns a problem or null. A field the feed reads that appears twice under names
    /// that match after normalisation is a problem; so is a string value holding <paramref name="invalidUtf8"/>
    /// (when not '\0'), the stand-in for bytes that were not UTF-8.
    /// </summary>
    public static string? Read(JsonElement obj, Dictionary<string, FeedColumn> byName, string?[] values, string?[] labels, char invalidUtf8 = '\0')
    {
        var seen = 0UL; // one bit per FeedColumn (there are fewer than 64)
        foreach (var property in obj.EnumerateObject())
        {
            if (!byName.TryGetValue(FeedSchema.NormalizeName(property.Name), out var column)) continue; // unknown fields are ignored
            var bit = 1UL << (int)column;
            if ((seen & bit) != 0)
                return $"{property.Name}: duplicate of field '{labels[(int)column]}' (field names match ignoring case, spaces, '_' and '-')";
            seen |= bit;
            labels[(int)column] = property.Name;
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.String:
                    var text = property.Value.GetString();
                    if (invalidUtf8 != '\0' && text is not null && text.Contains(invalidUtf8, StringComparison.Ordinal))
                        return $"{property.Name}: invalid UTF-8 in '{ValueRules.Show(text.Replace(invalidUtf8, '\uFFFD'))}' (bytes that are not UTF-8 text; the file must be UTF-8 encoded)";
                    values[(int)column] = text;
                    break;
                case JsonValueKind.Number:
                    values[(int)column] = property.Value.GetRawText();
                    break;
                case JsonValueKind.Null:
                    values[(int)column] = null;
                    break;
                default:
                    return $"{property.Name}: expected a string or a number, found {property.Value.ValueKind}";
            }
        }
        return null;
    }
}
