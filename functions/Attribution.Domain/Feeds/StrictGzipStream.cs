using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using ICSharpCode.SharpZipLib;
using ICSharpCode.SharpZipLib.Checksum;
using ICSharpCode.SharpZipLib.Zip.Compression;

namespace Attribution.Domain.Feeds;

/// <summary>
/// Decompresses a gzip feed and refuses anything that is not complete, intact gzip. System.IO.Compression's
/// GZipStream returns a prefix of a truncated stream without an error and ignores a missing trailer, which would
/// store part of a file as if it were all of it. This reads the gzip framing itself (RFC 1952: signature, header,
/// trailer with CRC-32 and length, checked for every member) and inflates with SharpZipLib's push-model
/// <see cref="Inflater"/>, which asks for input instead of reading a stream: so <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>
/// reads the compressed bytes asynchronously and never blocks a thread on a network stream (SharpZipLib's own
/// GZipInputStream reads its source synchronously). Every failure is one <see cref="InvalidDataException"/> whose
/// message says what is wrong. Concatenated members (multi-member gzip, as `cat a.gz b.gz` makes) are read as one
/// stream; after a complete member, what does not parse as a gzip header ends the stream, as it did with GZipInputStream.
/// </summary>
internal sealed class StrictGzipStream : Stream
{
    private const int InputSize = 1 << 16;

    // Room kept before new input for the bytes the inflater may still hold in its bit buffer (at most 4): at the end of a
    // member, RemainingInput counts them, so the trailer starts that far back from the end of the input.
    private const int Keep = 8;

    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly Inflater _inflater = new(noHeader: true);
    private readonly Crc32 _crc = new();
    private byte[] _input = ArrayPool<byte>.Shared.Rent(Keep + InputSize);
    private int _inPos, _inLen; // compressed bytes in _input not yet consumed: [_inPos, _inLen)
    private State _state = State.Header;
    private bool _completedMember;
    private long _decompressed;

    private enum State
    {
        Header,
        Body,
        Done,
    }

    public StrictGzipStream(Stream inner, bool leaveOpen)
    {
        _inner = inner;
        _leaveOpen = leaveOpen;
    }

    public override int Read(byte[] buffer, int offset, int count) => Completed(ReadCoreAsync(buffer, offset, count, async: false, default));

    public override int Read(Span<byte> buffer)
    {
        var rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            var n = Read(rented, 0, buffer.Length);
            rented.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadCoreAsync(buffer, offset, count, async: true, cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        MemoryMarshal.TryGetArray<byte>(buffer, out var array)
            ? ReadCoreAsync(array.Array!, array.Offset, array.Count, async: true, cancellationToken)
            : ReadCopiedAsync(buffer, cancellationToken);

    private async ValueTask<int> ReadCopiedAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            var n = await ReadCoreAsync(rented, 0, buffer.Length, async: true, cancellationToken).ConfigureAwait(false);
            rented.AsSpan(0, n).CopyTo(buffer.Span);
            return n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The result of a ValueTask of the synchronous path, which never awaits anything pending.</summary>
    private static T Completed<T>(ValueTask<T> task)
    {
        Debug.Assert(task.IsCompleted);
        return task.GetAwaiter().GetResult();
    }

    /// <summary>One read, over the inner stream's Read or (<paramref name="async"/>) ReadAsync.</summary>
    private async ValueTask<int> ReadCoreAsync(byte[] buffer, int offset, int count, bool async, CancellationToken cancellationToken)
    {
        if (count == 0) return 0;
        while (true)
        {
            if (_state == State.Done) return 0;
            if (_state == State.Header)
            {
                if (!await ReadHeaderAsync(async, cancellationToken).ConfigureAwait(false))
                {
                    _state = State.Done;
                    return 0;
                }
                _state = State.Body;
            }
            var n = 0;
            try
            {
                while (!_inflater.IsFinished)
                {
                    if (_inflater.IsNeedingInput)
                    {
                        if (_inPos == _inLen && !await FillAsync(async, cancellationToken).ConfigureAwait(false))
                            throw Corrupt($"truncated — the compressed data ends {After()}, in the middle of a gzip member; the file was cut short.");
                        _inflater.SetInput(_input, _inPos, _inLen - _inPos);
                        _inPos = _inLen;
                    }
                    n += _inflater.Inflate(buffer, offset + n, count - n);
                    if (n == count) break;
                    if (_inflater.IsNeedingDictionary) throw Corrupt($"invalid compressed data {After()} (a deflate stream that needs a preset dictionary).");
                }
            }
            catch (SharpZipBaseException e)
            {
                throw Corrupt($"invalid compressed data {After()} ({e.Message}).", e);
            }
            if (n > 0)
            {
                _crc.Update(new ArraySegment<byte>(buffer, offset, n));
                _decompressed += n;
            }
            if (_inflater.IsFinished) await ReadTrailerAsync(async, cancellationToken).ConfigureAwait(false);
            if (n > 0) return n;
        }
    }

    /// <summary>
    /// A member's header (RFC 1952 2.3). False at the end of the stream after a complete member. The first member's
    /// signature is checked with messages of its own (an empty file, a zip archive, plain text); after a complete member,
    /// anything that is not a gzip header ends the stream (trailing bytes), as it did with GZipInputStream.
    /// </summary>
    private async ValueTask<bool> ReadHeaderAsync(bool async, CancellationToken cancellationToken)
    {
        var first = !_completedMember;
        var id1 = await ReadByteAsync(async, cancellationToken).ConfigureAwait(false);
        if (id1 < 0)
        {
            if (first) throw new InvalidDataException("not gzip data (no gzip signature): the file is empty.");
            return false;
        }
        var id2 = await ReadByteAsync(async, cancellationToken).ConfigureAwait(false);
        // The file ends one byte into the next member's signature: cut short, not trailing bytes.
        if (!first && id1 == 0x1F && id2 < 0)
            throw Truncated($"truncated — the stream ends {After()}, in a gzip member's signature; the file was cut short.");
        if (id1 != 0x1F || id2 != 0x8B)
        {
            if (!first) return false;
            if (id1 == 0x50 && id2 == 0x4B)
                throw new InvalidDataException("not gzip data: it is a zip archive (it starts with the zip signature 50 4B); zip archives are not supported: extract the feed file from it and compress that with gzip.");
            var start = id2 < 0 ? $"{id1:X2}" : $"{id1:X2}{id2:X2}";
            throw new InvalidDataException($"not gzip data (no gzip signature 1F 8B; the file starts with {start}): is it really compressed?");
        }
        var headCrc = new Crc32();
        headCrc.Update(id1);
        headCrc.Update(id2);
        async ValueTask<int> Next()
        {
            var b = await ReadByteAsync(async, cancellationToken).ConfigureAwait(false);
            if (b < 0) throw Truncated($"truncated — the stream ends {After()}, in a gzip member's header; the file was cut short.");
            headCrc.Update(b);
            return b;
        }
        try
        {
            var method = await Next().ConfigureAwait(false);
            if (method != 8) throw Corrupt($"invalid gzip header {After()} (compression method {method}; gzip defines only 8, deflate).");
            var flags = await Next().ConfigureAwait(false);
            if ((flags & 0xE0) != 0) throw Corrupt($"invalid gzip header {After()} (reserved flag bits set: {flags:X2}).");
            for (var i = 0; i < 6; i++) await Next().ConfigureAwait(false); // modification time, extra flags, OS
            if ((flags & 0x04) != 0) // FEXTRA
            {
                var length = await Next().ConfigureAwait(false) | (await Next().ConfigureAwait(false) << 8);
                for (var i = 0; i < length; i++) await Next().ConfigureAwait(false);
            }
            if ((flags & 0x08) != 0) while (await Next().ConfigureAwait(false) != 0) { } // FNAME, zero-terminated
            if ((flags & 0x10) != 0) while (await Next().ConfigureAwait(false) != 0) { } // FCOMMENT, zero-terminated
            if ((flags & 0x02) != 0) // FHCRC: the low 16 bits of the CRC-32 of the header before it
            {
                var expected = (int)(headCrc.Value & 0xFFFF);
                var stored = await Next().ConfigureAwait(false) | (await Next().ConfigureAwait(false) << 8);
                if (stored != expected) throw Corrupt($"invalid gzip header {After()} (its CRC-16 does not match).");
            }
        }
        catch (InvalidDataException e) when (!first && !e.Data.Contains(TruncatedMark))
        {
            // After a complete member, bytes with a gzip signature but no valid header are trailing bytes, as before;
            // a header the file ends inside is a file cut short, and fails it whole.
            return false;
        }
        _crc.Reset();
        return true;
    }

    /// <summary>The member's 8-byte trailer: CRC-32 and length (mod 2^32) of its decompressed data.</summary>
    private async ValueTask ReadTrailerAsync(bool async, CancellationToken cancellationToken)
    {
        var memberLength = _inflater.TotalOut & 0xFFFFFFFF;
        _inPos = _inLen - _inflater.RemainingInput; // the bytes after the deflate data (some may be in its bit buffer)
        _inflater.Reset();
        var trailer = new byte[8];
        for (var i = 0; i < trailer.Length; i++)
        {
            var b = await ReadByteAsync(async, cancellationToken).ConfigureAwait(false);
            if (b < 0) throw Corrupt($"truncated — the stream ends {After()}, before its 8-byte trailer (CRC-32 and length); the file was cut short.");
            trailer[i] = (byte)b;
        }
        if (BitConverter.ToUInt32(trailer, 0) != (uint)_crc.Value)
            throw Corrupt($"CRC-32 mismatch — the decompressed data does not match the checksum in the gzip trailer ({After()}).");
        if (BitConverter.ToUInt32(trailer, 4) != memberLength)
            throw Corrupt($"length mismatch — the decompressed size does not match the length in the gzip trailer ({After()}).");
        _completedMember = true;
        _state = State.Header;
    }

    private string After() => $"after {_decompressed:N0} decompressed bytes";

    private static InvalidDataException Corrupt(string what, Exception? inner = null) => new("corrupt gzip: " + what, inner);

    // Marks a file cut short inside a member's header, which is never taken for trailing bytes.
    private const string TruncatedMark = "gzip-truncated";

    private static InvalidDataException Truncated(string what)
    {
        var e = Corrupt(what);
        e.Data[TruncatedMark] = true;
        return e;
    }

    private async ValueTask<int> ReadByteAsync(bool async, CancellationToken cancellationToken)
    {
        if (_inPos == _inLen && !await FillAsync(async, cancellationToken).ConfigureAwait(false)) return -1;
        return _input[_inPos++];
    }

    /// <summary>Reads more compressed bytes behind the last <see cref="Keep"/> ones; false at the end of the stream.</summary>
    private async ValueTask<bool> FillAsync(bool async, CancellationToken cancellationToken)
    {
        var kept = Math.Min(Keep, _inLen);
        _input.AsSpan(_inLen - kept, kept).CopyTo(_input);
        var n = async
            ? await _inner.ReadAsync(_input.AsMemory(kept, InputSize), cancellationToken).ConfigureAwait(false)
            : _inner.Read(_input, kept, InputSize);
        _inPos = kept;
        _inLen = kept + n;
        return n > 0;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _decompressed; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (!_leaveOpen) _inner.Dispose();
            if (_input.Length > 0) ArrayPool<byte>.Shared.Return(_input);
            _input = [];
        }
        base.Dispose(disposing);
    }
}
