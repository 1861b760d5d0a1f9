using System.Security.Cryptography;

namespace Attribution.Pipeline.Ingestion;

/// <summary>A read-only pass-through that counts bytes and, optionally, hashes them as they stream by.</summary>
internal sealed class ObservedStream(Stream inner, bool hash) : Stream
{
    private readonly IncrementalHash? _hash = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
    private long _read;

    public long BytesRead => Interlocked.Read(ref _read);

    /// <summary>Reads whatever the consumer left unread (a reader may stop early) and returns the lower-case hex SHA-256.</summary>
    public string FinishHash()
    {
        var buffer = new byte[81920];
        while (Read(buffer, 0, buffer.Length) > 0)
        {
        }
        return Convert.ToHexStringLower(_hash!.GetHashAndReset());
    }

    /// <summary><see cref="FinishHash"/> reading the rest with ReadAsync: the ingestion's passes never read a blob synchronously.</summary>
    public async ValueTask<string> FinishHashAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        while (await ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
        {
        }
        return Convert.ToHexStringLower(_hash!.GetHashAndReset());
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Observe(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Observe(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Observe(ReadOnlySpan<byte> data)
    {
        _hash?.AppendData(data);
        Interlocked.Add(ref _read, data.Length);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => inner.Length;
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash?.Dispose();
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
