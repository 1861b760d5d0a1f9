using System.Text.Json;
using nietras.SeparatedValues;

namespace Attribution.Domain.Feeds;

public enum FeedFormat
{
    Csv,
    JsonLines,
}

/// <summary>
/// Streams the records of one feed file as rows addressed by <see cref="FeedColumn"/>, whatever the format.
/// Blank lines are not records and are skipped. Over a network stream, open it with <see cref="OpenAsync"/> and read
/// rows with <c>await foreach</c> (or <see cref="MoveNextAsync"/>): the stream is then only read with ReadAsync, so no
/// thread blocks on the network. The row is the reader itself, positioned on it until the next move.
/// </summary>
public abstract class FeedRowReader : IDisposable, IAsyncEnumerable<FeedRowReader>
{
    protected FeedRowReader(FeedSchema schema) => Schema = schema;

    public FeedSchema Schema { get; protected set; }

    /// <summary>Line of the current record's start (CSV: physical line, counting quoted newlines; JSONL: the line).</summary>
    public long Line { get; protected set; }

    /// <summary>Why the current row cannot be read at all (malformed JSON, wrong field count), or null.</summary>
    public string? RowProblem { get; protected set; }

    public abstract bool MoveNext();

    /// <summary>
    /// <see cref="MoveNext"/> reading its stream asynchronously. Readers over content already in memory (Service Bus
    /// records) have nothing to wait for and keep this default.
    /// </summary>
    public virtual ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken = default) => new(MoveNext());

    public IAsyncEnumerator<FeedRowReader> GetAsyncEnumerator(CancellationToken cancellationToken = default) => new Rows(this, cancellationToken);

    private sealed class Rows(FeedRowReader reader, CancellationToken cancellationToken) : IAsyncEnumerator<FeedRowReader>
    {
        public FeedRowReader Current => reader;

        public ValueTask<bool> MoveNextAsync() => reader.MoveNextAsync(cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the reader belongs to whoever opened it
    }

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
    /// <param name="fileName">The file's name, which an error about its content may suggest changing.</param>
    public static FeedRowReader Open(Stream stream, FeedSource source, FeedFormat format, bool gzip, string? fileName = null)
    {
        var text = Text(stream, format, gzip, fileName);
        try
        {
            return format == FeedFormat.Csv ? CsvFeedRowReader.Open(text, source) : new JsonLinesFeedRowReader(text, source);
        }
        catch
        {
            text.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <see cref="Open"/> for a stream to read asynchronously (a blob): the header is read with ReadAsync, and so is every
    /// row when moved to with <see cref="MoveNextAsync"/> or <c>await foreach</c>. Same failures as <see cref="Open"/>.
    /// </summary>
    public static async ValueTask<FeedRowReader> OpenAsync(Stream stream, FeedSource source, FeedFormat format, bool gzip, string? fileName = null,
        CancellationToken cancellationToken = default)
    {
        var text = Text(stream, format, gzip, fileName);
        try
        {
            return format == FeedFormat.Csv
                ? await CsvFeedRowReader.OpenAsync(text, source, cancellationToken).ConfigureAwait(false)
                : new JsonLinesFeedRowReader(text, source);
        }
        catch
        {
            text.Dispose();
            throw;
        }
    }

    private static FeedTextReader Text(Stream stream, FeedFormat format, bool gzip, string? fileName)
    {
        Stream input = gzip ? new StrictGzipStream(stream, leaveOpen: true) : stream;
        return new FeedTextReader(input, csvQuotes: format == FeedFormat.Csv, leaveOpen: !gzip, decompressed: gzip, fileName: fileName);
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

    // Quotes are parsed and unescaped by Sep; the header is read as a plain row so we control matching and
    // duplicate names, and field counts are checked per row so one bad row is rejected, not the file.
    private static SepReaderOptions Options =>
        Sep.New(',').Reader(o => o with { HasHeader = false, Unescape = true, DisableColCountCheck = true, DisableFastFloat = true });

    public static CsvFeedRowReader Open(FeedTextReader text, FeedSource source)
    {
        var sep = Options.From(text);
        try
        {
            return sep.MoveNext() ? new CsvFeedRowReader(text, sep, source) : throw Empty();
        }
        catch
        {
            sep.Dispose();
            throw;
        }
    }

    public static async ValueTask<CsvFeedRowReader> OpenAsync(FeedTextReader text, FeedSource source, CancellationToken cancellationToken)
    {
        var sep = await Options.FromAsync(text, cancellationToken).ConfigureAwait(false);
        try
        {
            return await sep.MoveNextAsync(cancellationToken).ConfigureAwait(false) ? new CsvFeedRowReader(text, sep, source) : throw Empty();
        }
        catch
        {
            sep.Dispose();
            throw;
        }
    }

    private static FeedFormatException Empty() => new("The file is empty: expected a header row.");

    /// <summary>Reads the header, the row <paramref name="sep"/> is on.</summary>
    private CsvFeedRowReader(FeedTextReader text, SepReader sep, FeedSource source) : base(FeedSchema.For(source))
    {
        _text = text;
        _sep = sep;
        var header = _sep.Current;
        _headerCount = header.ColCount;
        if (HasOddQuotes(header.Span)) throw new FeedFormatException("The header row has an unterminated quoted field.");
        var names = _names = new string[_headerCount];
        for (var i = 0; i < _headerCount; i++) names[i] = header[i].ToString().Trim().TrimStart('\uFEFF');
        if (_text.Marked && FeedTextReader.MayHaveMarkers(header.Span))
            CheckHeaderText(names, _text.TakeInvalidOffsets(FeedTextReader.CountInvalid(header.Span)));
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
            _labels[(int)column] = InputText.Escape(names[at]);
            // Two columns the feed reads under one name: which one is meant cannot be guessed, so the file fails.
            // Duplicates among columns the feed ignores are ignored with them.
            var same = Enumerable.Range(at, normalized.Length - at).Where(i => normalized[i] == key).ToList();
            if (same.Count > 1)
                duplicates.Add($"{string.Join(" and ", same.Select(i => $"'{InputText.Quote(names[i])}' (column {i + 1})"))} {(same.Count == 2 ? "both" : "all")} name {name}");
        }
        var kind = Schema.IsReconciliationExport ? "csp reconciliation export" : source.Name();
        var problems = new List<string>();
        if (missing.Count > 0) problems.Add($"The {kind} file lacks required column(s): {string.Join(", ", missing)}.");
        if (duplicates.Count > 0)
            problems.Add($"The {kind} file has duplicate columns (names match ignoring case, spaces, '_' and '-'): {string.Join("; ", duplicates)}. Keep one of each.");
        if (problems.Count > 0) throw new FeedFormatException(string.Join(" ", problems));
    }

    /// <summary>
    /// A header that is not clean text fails the file: its names could not be matched reliably. The error names the
    /// column and, for bytes that are not UTF-8, the byte offset of the first; it shows them escaped (<c>\xE9</c>).
    /// </summary>
    private static void CheckHeaderText(string[] names, long[] invalidOffsets)
    {
        var before = 0; // invalid bytes in the columns before this one (the header's offsets are in column order)
        for (var i = 0; i < names.Length; i++)
        {
            var name = names[i];
            if (FeedTextReader.HasMarker(name, FeedTextReader.StrayQuote) || FeedTextReader.HasMarker(name, FeedTextReader.QuoteAfterClosingQuote))
                throw new FeedFormatException($"The header row has a quote inside an unquoted field (column {i + 1} of line 1, '{InputText.Quote(name)}').");
            var invalid = FeedTextReader.CountInvalid(name);
            if (invalid > 0)
                throw new FeedFormatException($"The header row is not valid UTF-8 (column {i + 1} of line 1, '{InputText.Quote(name)}', " +
                    $"{(before < invalidOffsets.Length ? $"first bad byte at offset {invalidOffsets[before]}" : "bytes that are not UTF-8")}): feeds must be UTF-8 encoded.");
            before += invalid;
        }
    }

    public override bool MoveNext()
    {
        while (_sep.MoveNext())
        {
            if (TakeRow()) return true;
        }
        return false;
    }

    public override ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken = default)
    {
        // Rows come from Sep's buffer far more often than from the stream: those complete without a state machine.
        while (true)
        {
            var next = _sep.MoveNextAsync(cancellationToken);
            if (!next.IsCompletedSuccessfully) return MoveNextAwaitedAsync(next, cancellationToken);
            if (!next.Result) return new(false);
            if (TakeRow()) return new(true);
        }
    }

    private async ValueTask<bool> MoveNextAwaitedAsync(ValueTask<bool> pending, CancellationToken cancellationToken)
    {
        if (!await pending.ConfigureAwait(false)) return false;
        return TakeRow() || await MoveNextAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes the row Sep is on; false for a blank line, which is not a record.</summary>
    private bool TakeRow()
    {
        var row = _sep.Current;
        Line = row.LineNumberFrom;
        if (row.ColCount == 1 && row.Span.Trim().IsEmpty) return false;
        RowProblem = null;
        // Markers (stray quotes, invalid UTF-8) exist only if the text reader wrote one: clean files skip the scan.
        var marked = _text.Marked && FeedTextReader.MayHaveMarkers(row.Span);
        // Every row that holds invalid bytes takes their offsets, whether or not they end up in its reason.
        var offsets = marked ? _text.TakeInvalidOffsets(FeedTextReader.CountInvalid(row.Span)) : [];
        if (HasOddQuotes(row.Span))
            RowProblem = "unterminated quoted field (the record runs on to the end of the file)";
        else if (marked && QuoteProblem(row) is { } quote)
            RowProblem = quote;
        else if (row.ColCount != _headerCount)
            RowProblem = $"has {row.ColCount} field(s); the header has {_headerCount}";
        else if (marked)
            RowProblem = Utf8Problem(row, offsets);
        return true;
    }

    private static bool HasOddQuotes(ReadOnlySpan<char> span) => (span.Count('"') & 1) == 1;

    private string FieldName(int i) => i < _names.Length && _names[i].Length > 0 ? InputText.Escape(_names[i]) : $"field {i + 1}";

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

    /// <summary>
    /// Invalid UTF-8 in a column the feed reads rejects the row, naming the column, the value with its bad bytes escaped
    /// and the offset of the first in the file; in an ignored column it is ignored with it.
    /// </summary>
    private string? Utf8Problem(SepReader.Row row, long[] offsets)
    {
        foreach (var (column, _, _) in Schema.Columns)
        {
            var at = _index[(int)column];
            if (at < 0 || at >= row.ColCount) continue;
            var field = row[at].Span;
            if (!FeedTextReader.HasInvalidUtf8(field)) continue;
            var before = 0; // the field's first bad byte is the row's first after those of the fields before it
            for (var i = 0; i < at; i++) before += FeedTextReader.CountInvalid(row[i].Span);
            return Utf8Reason(_labels[(int)column], field, before < offsets.Length ? offsets[before] : null);
        }
        return null;
    }

    internal static string Utf8Reason(string label, ReadOnlySpan<char> value, long? offset) =>
        $"{label}: invalid UTF-8 in '{InputText.Quote(value)}'{(offset is { } o ? $" (first bad byte at offset {o})" : "")}: bytes that are not UTF-8 text; the file must be UTF-8 encoded";

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
            if (TakeLine(line)) return true;
        }
        return false;
    }

    public override ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken = default)
    {
        // A line already in the buffer completes without a state machine.
        while (true)
        {
            var next = _text.ReadLineAsync(cancellationToken);
            if (!next.IsCompletedSuccessfully) return MoveNextAwaitedAsync(next, cancellationToken);
            if (next.Result is not { } line) return new(false);
            if (TakeLine(line)) return new(true);
        }
    }

    private async ValueTask<bool> MoveNextAwaitedAsync(ValueTask<string?> pending, CancellationToken cancellationToken)
    {
        if (await pending.ConfigureAwait(false) is not { } line) return false;
        return TakeLine(line) || await MoveNextAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes the next line; false for a blank line, which is not a record.</summary>
    private bool TakeLine(string line)
    {
        _lineNumber++;
        if (string.IsNullOrWhiteSpace(line)) return false;
        _line = line;
        Line = _lineNumber;
        Array.Clear(_values);
        Array.Clear(_labels);
        RowProblem = null;
        // Invalid UTF-8 marks are lone surrogates, which JSON text cannot hold: on the rare line that has them,
        // each becomes its own private-use character the line does not contain, so a value can be traced to its
        // field, and each bad byte to its value and offset.
        var json = line;
        InvalidBytes? invalid = null;
        if (_text.Marked && FeedTextReader.HasInvalidUtf8(line))
        {
            var offsets = _text.TakeInvalidOffsets(FeedTextReader.CountInvalid(line));
            invalid = InvalidBytes.StandIn(line, offsets, out json);
            if (invalid is null)
            {
                RowProblem = offsets.Length > 0 ? $"line is not valid UTF-8 (first bad byte at offset {offsets[0]})" : "line is not valid UTF-8";
                return true;
            }
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
            // The parser's message quotes the character it stopped at, which may be a control character.
            RowProblem = invalid is null
                ? $"line is not valid JSON ({InputText.Escape(e.Message)})"
                : $"line is not valid JSON: it has bytes that are not UTF-8 text outside any string value (first bad byte at offset {invalid.FirstOffset})";
        }
        return true;
    }

    public override ReadOnlySpan<char> this[FeedColumn column] => _values[(int)column];

    public override string Label(FeedColumn column) =>
        _labels[(int)column] is { } label ? InputText.Escape(label) : Schema.Columns.FirstOrDefault(c => c.Column == column).Name ?? column.ToString();

    public override string RawText() => FeedTextReader.Printable(_line);

    internal FeedSource Source => _source;

    protected override void Dispose(bool disposing)
    {
        if (disposing) _text.Dispose();
    }
}

/// <summary>
/// The bytes of a JSONL line that are not UTF-8, each replaced for parsing by a private-use character the line does not
/// hold (the k-th bad byte by the k-th such character), so a parsed value maps back to its bytes and their offsets.
/// </summary>
internal sealed class InvalidBytes
{
    private readonly Dictionary<char, (char Marker, long Offset)> _byStandIn;

    private InvalidBytes(Dictionary<char, (char Marker, long Offset)> byStandIn, long firstOffset)
    {
        _byStandIn = byStandIn;
        FirstOffset = firstOffset;
    }

    public long FirstOffset { get; }

    /// <summary>Null when the line holds too many distinct private-use characters to spare one per bad byte.</summary>
    public static InvalidBytes? StandIn(string line, long[] offsets, out string json)
    {
        var chars = line.ToCharArray();
        var map = new Dictionary<char, (char, long)>();
        var next = '\uE000';
        var k = 0;
        for (var i = 0; i < chars.Length; i++)
        {
            if (FeedTextReader.InvalidByte(chars[i]) is null || (i > 0 && char.IsHighSurrogate(chars[i - 1]))) continue;
            while (next <= '\uF8FF' && line.Contains(next, StringComparison.Ordinal)) next++;
            if (next > '\uF8FF')
            {
                json = line;
                return null;
            }
            map[next] = (chars[i], k < offsets.Length ? offsets[k] : -1);
            chars[i] = next++;
            k++;
        }
        json = new string(chars);
        return new InvalidBytes(map, offsets.Length > 0 ? offsets[0] : -1);
    }

    /// <summary>The reason for a value that holds bad bytes, or null when it holds none.</summary>
    public string? Problem(string label, string value)
    {
        if (value.IndexOfAnyInRange('\uE000', '\uF8FF') < 0) return null;
        var restored = value.ToCharArray();
        var found = false;
        long? first = null;
        for (var i = 0; i < restored.Length; i++)
        {
            if (!_byStandIn.TryGetValue(restored[i], out var bad)) continue; // a private-use character of the file's own
            restored[i] = bad.Marker;
            if (!found && bad.Offset >= 0) first = bad.Offset;
            found = true;
        }
        return found ? CsvFeedRowReader.Utf8Reason(label, restored, first) : null;
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
    public static string? Read(JsonElement obj, Dictionary<string, FeedColumn> byName, string?[] values, string?[] labels, InvalidBytes? invalidUtf8 = null)
    {
        var seen = 0UL; // one bit per FeedColumn (there are fewer than 64)
        foreach (var property in obj.EnumerateObject())
        {
            if (!byName.TryGetValue(FeedSchema.NormalizeName(property.Name), out var column)) continue; // unknown fields are ignored
            var bit = 1UL << (int)column;
            if ((seen & bit) != 0)
                return $"{InputText.Escape(property.Name)}: duplicate of field '{InputText.Escape(labels[(int)column])}' (field names match ignoring case, spaces, '_' and '-')";
            seen |= bit;
            labels[(int)column] = property.Name;
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.String:
                    var text = property.Value.GetString();
                    if (invalidUtf8 is not null && text is not null && invalidUtf8.Problem(InputText.Escape(property.Name), text) is { } problem) return problem;
                    values[(int)column] = text;
                    break;
                case JsonValueKind.Number:
                    values[(int)column] = property.Value.GetRawText();
                    break;
                case JsonValueKind.Null:
                    values[(int)column] = null;
                    break;
                default:
                    return $"{InputText.Escape(property.Name)}: expected a string or a number, found {property.Value.ValueKind}";
            }
        }
        return null;
    }
}
