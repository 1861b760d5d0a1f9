namespace Attribution.Testing;

/// <summary>
/// A read-only stream that refuses every synchronous read: what a network stream read without blocking a thread must
/// see. Reads through ReadAsync pass to the inner stream and are counted; a synchronous one is counted and throws.
/// </summary>
public sealed class AsyncOnlyStream(Stream inner) : Stream
{
    private int _asyncReads, _syncReads;

    public int AsyncReads => Volatile.Read(ref _asyncReads);

    /// <summary>Synchronous reads attempted (each threw): the count survives a caller that catches the exception.</summary>
    public int SyncReads => Volatile.Read(ref _syncReads);

    private InvalidOperationException Refused()
    {
        Interlocked.Increment(ref _syncReads);
        return new InvalidOperationException("Synchronous read of a stream that must only be read asynchronously (it stands for a network stream).");
    }

    public override int Read(byte[] buffer, int offset, int count) => throw Refused();
    public override int Read(Span<byte> buffer) => throw Refused();
    public override int ReadByte() => throw Refused();
    public override IAsyncResult BeginRead(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state) => throw Refused();
    public override void CopyTo(Stream destination, int bufferSize) => throw Refused();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _asyncReads);
        return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
