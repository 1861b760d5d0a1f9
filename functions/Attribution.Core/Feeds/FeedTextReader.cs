using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Attribution.Core.Feeds;

/// <summary>
/// Decodes a feed's UTF-8 bytes into text and marks what the row readers must reject, without failing the file:
/// <list type="bullet">
/// <item>Each invalid UTF-8 sequence becomes <see cref="InvalidUtf8"/> instead of a silent U+FFFD, so a row
/// reader can tell it from a genuine U+FFFD in the input and reject the row naming its column.</item>
/// <item>In CSV mode, a quote that RFC 4180 does not allow — inside a field that does not start with a quote, or
/// after a quoted field's closing quote — becomes <see cref="StrayQuote"/> or <see cref="QuoteAfterClosingQuote"/>.
/// The CSV parser then sees no quote there, so the row keeps its own fields and the rows after it are not
/// swallowed into a quoted field; the row reader rejects the marked row.</item>
/// </list>
/// The markers are lone low surrogates. Decoded valid UTF-8 never contains one (a surrogate code point is not
/// valid UTF-8 and a supplementary character decodes to a pair), so they cannot collide with the file's text; a
/// low surrogate right after a high surrogate is half of a real pair, never a marker. The text keeps its length
/// and its newlines, so line numbers are unchanged. A UTF-8 byte order mark is skipped; a UTF-16/UTF-32 one fails
/// the file. The hot path is two vectorized scans per buffer (UTF-8 transcoding and the search for quotes).
/// </summary>
internal sealed class FeedTextReader : TextReader
{
    public const char InvalidUtf8 = '\uDCFD';
    public const char StrayQuote = '\uDC22';
    public const char QuoteAfterClosingQuote = '\uDC23';

    private const int BufferSize = 1 << 16;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly bool _csvQuotes;
    private byte[] _bytes = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _bytePos, _byteLen;
    private bool _eof, _started;
    private char[] _chars = ArrayPool<char>.Shared.Rent(BufferSize);
    private int _charPos, _charLen;

    // RFC 4180 quote state, carried across buffers.
    private bool _inQuotes;        // inside a quoted field
    private bool _quotePending;    // inside a quoted field, the previous buffer ended with a quote (close or "")
    private bool _afterClose;      // a quoted field closed and text other than a separator followed it
    private char _previous = '\n'; // the character before the current buffer (the start of the file starts a field)

    public FeedTextReader(Stream stream, bool csvQuotes, bool leaveOpen)
    {
        _stream = stream;
        _csvQuotes = csvQuotes;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Whether any marker has been written so far: until one is, no row needs to look for them.</summary>
    public bool Marked { get; private set; }

    /// <summary>True when the text holds a marker: a lone low surrogate equal to <paramref name="marker"/>.</summary>
    public static bool HasMarker(ReadOnlySpan<char> text, char marker)
    {
        var from = 0;
        while (from < text.Length && text[from..].IndexOf(marker) is var i and >= 0)
        {
            var at = from + i;
            if (at == 0 || !char.IsHighSurrogate(text[at - 1])) return true;
            from = at + 1;
        }
        return false;
    }

    /// <summary>Whether the text may hold a marker at all: one vectorized scan for any surrogate.</summary>
    public static bool MayHaveMarkers(ReadOnlySpan<char> text) => text.IndexOfAnyInRange('\uD800', '\uDFFF') >= 0;

    /// <summary>The text as the file has it, for reasons and raw rows: quotes back, invalid bytes as U+FFFD.</summary>
    public static string Printable(ReadOnlySpan<char> text)
    {
        if (!MayHaveMarkers(text)) return text.ToString();
        var chars = text.ToArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (!char.IsLowSurrogate(chars[i]) || (i > 0 && char.IsHighSurrogate(chars[i - 1]))) continue;
            chars[i] = chars[i] switch
            {
                StrayQuote or QuoteAfterClosingQuote => '"',
                _ => '\uFFFD',
            };
        }
        return new string(chars);
    }

    /// <summary>The text with every <paramref name="marker"/> (not a half of a real surrogate pair) replaced.</summary>
    public static string ReplaceMarker(string text, char marker, char replacement)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (chars[i] == marker && (i == 0 || !char.IsHighSurrogate(chars[i - 1]))) chars[i] = replacement;
        }
        return new string(chars);
    }

    public override int Peek() => _charPos < _charLen || Fill() ? _chars[_charPos] : -1;

    public override int Read() => _charPos < _charLen || Fill() ? _chars[_charPos++] : -1;

    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    public override int Read(Span<char> buffer)
    {
        if (buffer.IsEmpty) return 0;
        if (_charPos == _charLen && !Fill()) return 0;
        var n = Math.Min(buffer.Length, _charLen - _charPos);
        _chars.AsSpan(_charPos, n).CopyTo(buffer);
        _charPos += n;
        return n;
    }

    /// <summary>A line without its terminator (\n, \r\n or \r), as StreamReader reads it.</summary>
    public override string? ReadLine()
    {
        if (_charPos == _charLen && !Fill()) return null;
        StringBuilder? partial = null;
        while (true)
        {
            var span = _chars.AsSpan(_charPos, _charLen - _charPos);
            var end = span.IndexOfAny('\r', '\n');
            if (end >= 0)
            {
                var line = partial is null ? new string(span[..end]) : partial.Append(span[..end]).ToString();
                var terminator = span[end];
                _charPos += end + 1;
                if (terminator == '\r' && (_charPos < _charLen || Fill()) && _chars[_charPos] == '\n') _charPos++;
                return line;
            }
            (partial ??= new StringBuilder(span.Length + 256)).Append(span);
            _charPos = _charLen;
            if (!Fill()) return partial.ToString();
        }
    }

    /// <summary>Decodes the next buffer of text. False at the end of the stream.</summary>
    private bool Fill()
    {
        _charPos = 0;
        _charLen = 0;
        if (!_started) Start();
        while (_charLen < _chars.Length)
        {
            if (_bytePos == _byteLen)
            {
                if (_eof || _charLen > 0) break;
                _bytePos = _byteLen = 0;
                ReadBytes();
                continue;
            }
            var status = Utf8.ToUtf16(_bytes.AsSpan(_bytePos, _byteLen - _bytePos), _chars.AsSpan(_charLen), out var read, out var written,
                replaceInvalidSequences: false, isFinalBlock: _eof);
            _bytePos += read;
            _charLen += written;
            if (status == System.Buffers.OperationStatus.DestinationTooSmall) break;
            if (status == System.Buffers.OperationStatus.NeedMoreData)
            {
                // A sequence is split across reads: keep its bytes and read more behind them.
                _bytes.AsSpan(_bytePos, _byteLen - _bytePos).CopyTo(_bytes);
                _byteLen -= _bytePos;
                _bytePos = 0;
                ReadBytes();
            }
            else if (status == System.Buffers.OperationStatus.InvalidData)
            {
                // One marker per maximal invalid subsequence, as a replacement decoder would emit one U+FFFD.
                if (_charLen == _chars.Length) break;
                Rune.DecodeFromUtf8(_bytes.AsSpan(_bytePos, _byteLen - _bytePos), out _, out var invalid);
                _bytePos += Math.Max(invalid, 1);
                _chars[_charLen++] = InvalidUtf8;
                Marked = true;
            }
        }
        if (_charLen == 0) return false;
        if (_csvQuotes) MarkStrayQuotes(_chars.AsSpan(0, _charLen));
        return true;
    }

    private void ReadBytes()
    {
        var n = _stream.Read(_bytes, _byteLen, _bytes.Length - _byteLen);
        if (n == 0) _eof = true;
        _byteLen += n;
    }

    /// <summary>Skips a UTF-8 byte order mark; refuses UTF-16 and UTF-32 ones (feeds are UTF-8).</summary>
    private void Start()
    {
        _started = true;
        while (_byteLen < 3 && !_eof) ReadBytes();
        var head = _bytes.AsSpan(0, _byteLen);
        if (head.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) _bytePos = 3;
        else if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || head.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
            throw new FeedFormatException($"The file is not UTF-8: it starts with the UTF-16/UTF-32 byte order mark {Convert.ToHexString(head[..2])}. Save it as UTF-8.");
    }

    /// <summary>
    /// RFC 4180: a quote opens a quoted field only at the start of a field; inside one, "" is a quote and a single
    /// quote closes it. Any other quote is marked. Scans only from quote to quote.
    /// </summary>
    private void MarkStrayQuotes(Span<char> text)
    {
        var i = 0;
        while (i < text.Length)
        {
            if (_inQuotes)
            {
                if (!_quotePending)
                {
                    var q = text[i..].IndexOf('"');
                    if (q < 0) break;
                    i += q + 1;
                    if (i == text.Length)
                    {
                        _quotePending = true;
                        break;
                    }
                }
                _quotePending = false;
                if (text[i] == '"')
                {
                    i++; // "" inside a quoted field
                    continue;
                }
                _inQuotes = false; // the quote before text[i] closed the field
                _afterClose = text[i] is not (',' or '\r' or '\n');
                continue;
            }
            var next = text[i..].IndexOf('"');
            if (_afterClose && text.Slice(i, next < 0 ? text.Length - i : next).IndexOfAny(',', '\r', '\n') >= 0) _afterClose = false;
            if (next < 0) break;
            var at = i + next;
            var before = at > 0 ? text[at - 1] : _previous;
            if (!_afterClose && before is ',' or '\r' or '\n') _inQuotes = true;
            else
            {
                text[at] = _afterClose ? QuoteAfterClosingQuote : StrayQuote;
                Marked = true;
            }
            i = at + 1;
        }
        _previous = text[^1];
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (!_leaveOpen) _stream.Dispose();
            if (_bytes.Length > 0) ArrayPool<byte>.Shared.Return(_bytes);
            if (_chars.Length > 0) ArrayPool<char>.Shared.Return(_chars);
            _bytes = [];
            _chars = [];
        }
        base.Dispose(disposing);
    }
}
