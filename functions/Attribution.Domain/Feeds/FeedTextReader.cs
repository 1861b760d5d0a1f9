using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Attribution.Domain.Feeds;

/// <summary>
/// Decodes a feed's UTF-8 bytes into text and marks what the row readers must reject, without failing the file:
/// <list type="bullet">
/// <item>Each byte of an invalid UTF-8 sequence becomes a marker that holds the byte (U+DC80–U+DCFF, as Python's
/// "surrogateescape") instead of a silent U+FFFD, so a row reader can tell it from a genuine U+FFFD in the input, reject
/// the row naming its column, and show the byte (<c>\xE9</c>). The byte offset of each is kept until the row reader
/// takes it (<see cref="TakeInvalidOffsets"/>): a reason can say where in the file the bad byte is.</item>
/// <item>In CSV mode, a quote that RFC 4180 does not allow — inside a field that does not start with a quote, or
/// after a quoted field's closing quote — becomes <see cref="StrayQuote"/> or <see cref="QuoteAfterClosingQuote"/>.
/// The CSV parser then sees no quote there, so the row keeps its own fields and the rows after it are not
/// swallowed into a quoted field; the row reader rejects the marked row.</item>
/// </list>
/// The markers are lone low surrogates. Decoded valid UTF-8 never contains one (a surrogate code point is not
/// valid UTF-8 and a supplementary character decodes to a pair), so they cannot collide with the file's text; a
/// low surrogate right after a high surrogate is half of a real pair, never a marker. The text keeps its length
/// and its newlines, so line numbers are unchanged. A UTF-8 byte order mark is skipped; a UTF-16/UTF-32 one fails
/// the file, and so does content that is compressed under a plain name (gzip or zip signatures), saying so. The hot
/// path is two vectorized scans per buffer (UTF-8 transcoding and the search for quotes).
/// </summary>
internal sealed class FeedTextReader : TextReader
{
    /// <summary>The first and last marker of a byte that is not UTF-8 (U+DC00 + the byte, which is always 0x80 or more).</summary>
    public const char FirstInvalidByte = '\uDC80';
    public const char LastInvalidByte = '\uDCFF';
    public const char StrayQuote = '\uDC22';
    public const char QuoteAfterClosingQuote = '\uDC23';

    private const int BufferSize = 1 << 16;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly bool _csvQuotes;
    private readonly bool _decompressed;
    private readonly string? _fileName;
    private readonly Queue<long> _invalidAt = new(); // offsets of invalid bytes decoded and not yet taken by the row reader
    private long _bufferStart; // offset in the input of _bytes[0]
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

    /// <param name="decompressed">The stream is the content of a .gz file (its signature check says so differently).</param>
    /// <param name="fileName">The file's name, for the rename an error suggests.</param>
    public FeedTextReader(Stream stream, bool csvQuotes, bool leaveOpen, bool decompressed = false, string? fileName = null)
    {
        _stream = stream;
        _csvQuotes = csvQuotes;
        _leaveOpen = leaveOpen;
        _decompressed = decompressed;
        _fileName = fileName;
    }

    /// <summary>The byte a marker stands for, or null if <paramref name="c"/> is no invalid-byte marker.</summary>
    public static byte? InvalidByte(char c) => c is >= FirstInvalidByte and <= LastInvalidByte ? (byte)(c - '\uDC00') : null;

    /// <summary>How many invalid-byte markers the text holds (halves of real surrogate pairs are not markers).</summary>
    public static int CountInvalid(ReadOnlySpan<char> text)
    {
        var n = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] is >= FirstInvalidByte and <= LastInvalidByte && (i == 0 || !char.IsHighSurrogate(text[i - 1]))) n++;
        }
        return n;
    }

    /// <summary>
    /// The input offsets of the next <paramref name="count"/> invalid bytes, in text order. The row reader takes those
    /// of every row that holds markers, so the queue only spans the text read ahead of it.
    /// </summary>
    public long[] TakeInvalidOffsets(int count)
    {
        var offsets = new long[Math.Min(count, _invalidAt.Count)];
        for (var i = 0; i < offsets.Length; i++) offsets[i] = _invalidAt.Dequeue();
        return offsets;
    }

    /// <summary>Whether any marker has been written so far: until one is, no row needs to look for them.</summary>
    public bool Marked { get; private set; }

    /// <summary>True when the text holds an invalid-byte marker.</summary>
    public static bool HasInvalidUtf8(ReadOnlySpan<char> text) => MayHaveMarkers(text) && CountInvalid(text) > 0;

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

    /// <summary>The text as the file has it, for raw rows: quotes back, invalid bytes and control characters escaped.</summary>
    public static string Printable(ReadOnlySpan<char> text) => InputText.Raw(text);

    public override int Peek() => _charPos < _charLen || Fill() ? _chars[_charPos] : -1;

    public override int Read() => _charPos < _charLen || Fill() ? _chars[_charPos++] : -1;

    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    public override int Read(Span<char> buffer)
    {
        if (buffer.IsEmpty) return 0;
        if (_charPos == _charLen && !Fill()) return 0;
        return CopyOut(buffer);
    }

    // Sep's async reader (FromAsync, MoveNextAsync) reads through this: the stream is read with ReadAsync, never Read.
    public override ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty) return new(0);
        return _charPos < _charLen ? new(CopyOut(buffer.Span)) : ReadFilledAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(char[] buffer, int index, int count) => ReadAsync(buffer.AsMemory(index, count)).AsTask();

    private async ValueTask<int> ReadFilledAsync(Memory<char> buffer, CancellationToken cancellationToken) =>
        await FillAsync(async: true, cancellationToken).ConfigureAwait(false) ? CopyOut(buffer.Span) : 0;

    private int CopyOut(Span<char> buffer)
    {
        var n = Math.Min(buffer.Length, _charLen - _charPos);
        _chars.AsSpan(_charPos, n).CopyTo(buffer);
        _charPos += n;
        return n;
    }

    /// <summary>A line without its terminator (\n, \r\n or \r), as StreamReader reads it.</summary>
    public override string? ReadLine() => TryReadBufferedLine(out var line) ? line : Completed(ReadLineCoreAsync(async: false, default));

    public override ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) =>
        TryReadBufferedLine(out var line) ? new(line) : ReadLineCoreAsync(async: true, cancellationToken);

    public override Task<string?> ReadLineAsync() => ReadLineAsync(default).AsTask();

    /// <summary>The common case without a state machine: the line and what follows its terminator are in the buffer.</summary>
    private bool TryReadBufferedLine(out string? line)
    {
        var span = _chars.AsSpan(_charPos, _charLen - _charPos);
        var end = span.IndexOfAny('\r', '\n');
        if (end < 0 || (span[end] == '\r' && end + 1 == span.Length))
        {
            line = null;
            return false;
        }
        line = new string(span[..end]);
        _charPos += end + 1;
        if (span[end] == '\r' && span[end + 1] == '\n') _charPos++;
        return true;
    }

    private async ValueTask<string?> ReadLineCoreAsync(bool async, CancellationToken cancellationToken)
    {
        if (_charPos == _charLen && !await FillAsync(async, cancellationToken).ConfigureAwait(false)) return null;
        StringBuilder? partial = null;
        while (true)
        {
            var end = _chars.AsSpan(_charPos, _charLen - _charPos).IndexOfAny('\r', '\n');
            if (end >= 0)
            {
                var line = partial is null ? new string(_chars, _charPos, end) : partial.Append(_chars, _charPos, end).ToString();
                var terminator = _chars[_charPos + end];
                _charPos += end + 1;
                if (terminator == '\r' && (_charPos < _charLen || await FillAsync(async, cancellationToken).ConfigureAwait(false)) && _chars[_charPos] == '\n') _charPos++;
                return line;
            }
            (partial ??= new StringBuilder(_charLen - _charPos + 256)).Append(_chars, _charPos, _charLen - _charPos);
            _charPos = _charLen;
            if (!await FillAsync(async, cancellationToken).ConfigureAwait(false)) return partial.ToString();
        }
    }

    /// <summary>The result of a ValueTask of the synchronous path, which never awaits anything pending.</summary>
    private static T Completed<T>(ValueTask<T> task)
    {
        System.Diagnostics.Debug.Assert(task.IsCompleted);
        return task.GetAwaiter().GetResult();
    }

    private bool Fill() => Completed(FillAsync(async: false, default));

    /// <summary>Decodes the next buffer of text, reading the stream with Read or (<paramref name="async"/>) ReadAsync. False at the end of the stream.</summary>
    private async ValueTask<bool> FillAsync(bool async, CancellationToken cancellationToken)
    {
        _charPos = 0;
        _charLen = 0;
        if (!_started) await StartAsync(async, cancellationToken).ConfigureAwait(false);
        while (_charLen < _chars.Length)
        {
            if (_bytePos == _byteLen)
            {
                if (_eof || _charLen > 0) break;
                _bufferStart += _byteLen;
                _bytePos = _byteLen = 0;
                await ReadBytesAsync(async, cancellationToken).ConfigureAwait(false);
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
                _bufferStart += _bytePos;
                _bytes.AsSpan(_bytePos, _byteLen - _bytePos).CopyTo(_bytes);
                _byteLen -= _bytePos;
                _bytePos = 0;
                await ReadBytesAsync(async, cancellationToken).ConfigureAwait(false);
            }
            else if (status == System.Buffers.OperationStatus.InvalidData)
            {
                // One marker per byte of the maximal invalid subsequence (at most 3), each holding its byte.
                Rune.DecodeFromUtf8(_bytes.AsSpan(_bytePos, _byteLen - _bytePos), out _, out var invalid);
                invalid = Math.Max(invalid, 1);
                if (_charLen + invalid > _chars.Length) break;
                for (var k = 0; k < invalid; k++)
                {
                    _invalidAt.Enqueue(_bufferStart + _bytePos);
                    _chars[_charLen++] = (char)('\uDC00' | _bytes[_bytePos++]);
                }
                Marked = true;
            }
        }
        if (_charLen == 0) return false;
        if (_csvQuotes) MarkStrayQuotes(_chars.AsSpan(0, _charLen));
        return true;
    }

    private async ValueTask ReadBytesAsync(bool async, CancellationToken cancellationToken)
    {
        var n = async
            ? await _stream.ReadAsync(_bytes.AsMemory(_byteLen, _bytes.Length - _byteLen), cancellationToken).ConfigureAwait(false)
            : _stream.Read(_bytes, _byteLen, _bytes.Length - _byteLen);
        if (n == 0) _eof = true;
        _byteLen += n;
    }

    /// <summary>
    /// Skips a UTF-8 byte order mark; refuses UTF-16 and UTF-32 ones (feeds are UTF-8), and compressed content whose
    /// name does not say so: decoded as text it would only be noise, in a header error that hides the real fix.
    /// </summary>
    private async ValueTask StartAsync(bool async, CancellationToken cancellationToken)
    {
        _started = true;
        while (_byteLen < 4 && !_eof) await ReadBytesAsync(async, cancellationToken).ConfigureAwait(false);
        var head = _bytes.AsSpan(0, _byteLen);
        if (head.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) _bytePos = 3;
        else if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || head.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
            throw new FeedFormatException($"The file is not UTF-8: it starts with the UTF-16/UTF-32 byte order mark {Convert.ToHexString(head[..2])}. Save it as UTF-8.");
        else if (head.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]))
        {
            throw new FeedFormatException(_decompressed
                ? "The content is gzip-compressed twice: once decompressed it starts with the gzip signature 1F 8B again. Compress the feed file once."
                : $"The content is gzip-compressed (it starts with the gzip signature 1F 8B) but the name does not end in .gz: rename it to {Suggest(".gz")}.");
        }
        else if (head.StartsWith((ReadOnlySpan<byte>)[0x50, 0x4B, 0x03, 0x04]))
        {
            throw new FeedFormatException($"The content is a zip archive (it starts with the zip signature 50 4B 03 04); zip archives are not supported: " +
                $"extract the feed file from it, or compress the feed file with gzip and name it {Suggest(_decompressed ? "" : ".gz")}.");
        }
    }

    /// <summary>The file's name with <paramref name="suffix"/>, or a placeholder when the name is not known.</summary>
    private string Suggest(string suffix) => _fileName is { Length: > 0 } name ? InputText.Escape(name) + suffix : "NAME.csv" + (suffix.Length > 0 ? suffix : ".gz");

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
