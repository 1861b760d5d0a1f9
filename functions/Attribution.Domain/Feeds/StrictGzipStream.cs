using ICSharpCode.SharpZipLib;
using ICSharpCode.SharpZipLib.GZip;

namespace Attribution.Domain.Feeds;

/// <summary>
/// Decompresses a gzip feed and refuses anything that is not complete, intact gzip. System.IO.Compression's
/// GZipStream returns a prefix of a truncated stream without an error and ignores a missing trailer, which would
/// store part of a file as if it were all of it. SharpZipLib checks every member's trailer (CRC-32 and length) and
/// reports a stream that ends early; this wrapper adds the signature check it lacks (it reads an empty input as an
/// empty stream) and turns its exceptions into one <see cref="InvalidDataException"/> whose message says what is wrong.
/// Concatenated members (multi-member gzip, as `cat a.gz b.gz` makes) are read as one stream.
/// </summary>
internal sealed class StrictGzipStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private GZipInputStream? _gzip;
    private long _decompressed;

    public StrictGzipStream(Stream inner, bool leaveOpen)
    {
        _inner = inner;
        _leaveOpen = leaveOpen;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var gzip = _gzip ??= Start();
        int n;
        try
        {
            n = gzip.Read(buffer);
        }
        catch (Exception e) when (e is SharpZipBaseException or EndOfStreamException)
        {
            throw new InvalidDataException(Describe(e, _decompressed), e);
        }
        _decompressed += n;
        return n;
    }

    /// <summary>Checks the signature (1F 8B) and hands the stream, signature included, to SharpZipLib.</summary>
    private GZipInputStream Start()
    {
        Span<byte> magic = stackalloc byte[2];
        var got = 0;
        while (got < 2 && _inner.Read(magic[got..]) is var n and > 0) got += n;
        if (got == 0) throw new InvalidDataException("not gzip data (no gzip signature): the file is empty.");
        if (got == 2 && magic[0] == 0x50 && magic[1] == 0x4B)
            throw new InvalidDataException("not gzip data: it is a zip archive (it starts with the zip signature 50 4B); zip archives are not supported: extract the feed file from it and compress that with gzip.");
        if (got < 2 || magic[0] != 0x1F || magic[1] != 0x8B)
            throw new InvalidDataException($"not gzip data (no gzip signature 1F 8B; the file starts with {Convert.ToHexString(magic[..got])}): is it really compressed?");
        return new GZipInputStream(new PrefixedStream(magic.ToArray(), _inner)) { IsStreamOwner = false };
    }

    /// <summary>
    /// One sentence per failure SharpZipLib reports (1.4.2): its exception types say little, so the messages it uses
    /// for the trailer checks are matched, and anything else keeps SharpZipLib's own words.
    /// </summary>
    internal static string Describe(Exception e, long decompressedBytes)
    {
        var at = $"after {decompressedBytes:N0} decompressed bytes";
        return e switch
        {
            EndOfStreamException => $"corrupt gzip: truncated — the stream ends {at}, before its 8-byte trailer (CRC-32 and length); the file was cut short.",
            GZipException when e.Message.Contains("crc", StringComparison.OrdinalIgnoreCase) =>
                $"corrupt gzip: CRC-32 mismatch — the decompressed data does not match the checksum in the gzip trailer ({at}).",
            GZipException when e.Message.Contains("bytes mismatch", StringComparison.OrdinalIgnoreCase) =>
                $"corrupt gzip: length mismatch — the decompressed size does not match the length in the gzip trailer ({at}).",
            _ when e.Message.Contains("EOF", StringComparison.Ordinal) =>
                $"corrupt gzip: truncated — the compressed data ends {at}, in the middle of a gzip member; the file was cut short.",
            _ => $"corrupt gzip: invalid compressed data {at} ({e.Message}).",
        };
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
            _gzip?.Dispose();
            if (!_leaveOpen) _inner.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>The bytes already read to check the signature, then the rest of the stream.</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream rest) : Stream
    {
        private int _prefixPos;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_prefixPos < prefix.Length)
            {
                var n = Math.Min(buffer.Length, prefix.Length - _prefixPos);
                prefix.AsSpan(_prefixPos, n).CopyTo(buffer);
                _prefixPos += n;
                return n;
            }
            return rest.Read(buffer);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
