using System.IO.Compression;
using System.Text;
using Attribution.Domain.Feeds;

namespace Attribution.Domain.Tests.Feeds;

/// <summary>
/// The gzip framing StrictGzipStream reads itself (RFC 1952): header fields, members split anywhere across reads,
/// trailing bytes. Truncation, CRC and length failures are covered end to end in FeedIntegrityIngestionTests.
/// </summary>
public sealed class StrictGzipStreamTests
{
    private static readonly byte[] Text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 20_000).Select(i => $"line {i},{i * 7919 % 10007}\n")));

    private static byte[] Gzip(ReadOnlySpan<byte> content, CompressionLevel level)
    {
        using var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, level, leaveOpen: true)) gz.Write(content);
        return buffer.ToArray();
    }

    /// <summary>Hands out at most a few bytes per read (1, 2, ... 7, 1, ...): every boundary falls somewhere new.</summary>
    private sealed class Trickle(byte[] data) : Stream
    {
        private int _pos, _turn;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(Math.Min(buffer.Length, 1 + _turn++ % 7), data.Length - _pos);
            data.AsSpan(_pos, n).CopyTo(buffer);
            _pos += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            return Read(buffer.Span);
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

    private static async Task<byte[]> Decompress(byte[] gz, bool async)
    {
        using var gzip = new StrictGzipStream(new Trickle(gz), leaveOpen: false);
        using var output = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = async ? await gzip.ReadAsync(buffer) : gzip.Read(buffer)) > 0) output.Write(buffer, 0, n);
        return output.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Members_split_at_every_few_bytes_decompress_to_the_text_read_or_read_async(bool async)
    {
        var third = Text.Length / 3;
        byte[] gz = [.. Gzip(Text.AsSpan(0, third), CompressionLevel.Optimal), .. Gzip(Text.AsSpan(third, third), CompressionLevel.NoCompression),
            .. Gzip([], CompressionLevel.Fastest), .. Gzip(Text.AsSpan(2 * third), CompressionLevel.Fastest)];
        Assert.Equal(Text, await Decompress(gz, async));
    }

    [Fact]
    public async Task Optional_header_fields_are_skipped_and_the_header_crc_is_checked()
    {
        var plain = Gzip(Text, CompressionLevel.Fastest);
        // FEXTRA (2-byte length, then bytes), FNAME and FCOMMENT (zero-terminated), then FHCRC: the low 16 bits of the
        // CRC-32 of the header before it.
        var header = new List<byte>(plain[..10]) { [3] = 0x04 | 0x08 | 0x10 | 0x02 };
        header.AddRange([3, 0, (byte)'a', (byte)'b', (byte)'c']);
        header.AddRange([.. "usage.csv"u8, 0]);
        header.AddRange([.. "a comment"u8, 0]);
        var crc = Crc32([.. header]);
        byte[] gz = [.. header, (byte)crc, (byte)(crc >> 8), .. plain[10..]];
        Assert.Equal(Text, await Decompress(gz, async: true));

        gz[header.Count] ^= 0xFF;
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Decompress(gz, async: true));
        Assert.StartsWith("corrupt gzip: invalid gzip header", e.Message);
    }

    [Fact]
    public async Task Bytes_after_a_complete_member_that_are_no_gzip_header_end_the_stream_as_before()
    {
        byte[] gz = [.. Gzip(Text, CompressionLevel.Fastest), .. "\0\0\0 padding"u8];
        Assert.Equal(Text, await Decompress(gz, async: true));
    }

    [Theory]
    [InlineData(1)] // only the first signature byte of the next member
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(10)] // the fixed header whole, no data
    [InlineData(20)] // inside the deflate data
    public async Task A_later_member_cut_anywhere_fails_the_whole_file_instead_of_ending_it_short(int keep)
    {
        var second = Gzip(Text.AsSpan(0, 1000), CompressionLevel.Optimal);
        Assert.True(keep < second.Length);
        byte[] gz = [.. Gzip(Text, CompressionLevel.Fastest), .. second[..keep]];
        foreach (var async in new[] { false, true })
        {
            var e = await Assert.ThrowsAsync<InvalidDataException>(() => Decompress(gz, async));
            Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        }
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
