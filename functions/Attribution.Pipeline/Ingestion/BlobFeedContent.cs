using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Attribution.Pipeline.Ingestion;

/// <summary>
/// The content changed between (or during) the passes of an ingestion: what the write pass would store is not what the
/// validation pass hashed and claimed. The attempt ends Failed and stores nothing; the new content is ingested on its
/// own (a blob overwritten raises its own trigger).
/// </summary>
public sealed class FeedContentChangedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A feed blob read by both passes at the version the ingestion started with: every read is conditioned on that
/// version's ETag (If-Match), so an overwrite in between fails the read (412) instead of handing the write pass other
/// bytes than the validation pass hashed. Used by the blob-triggered function.
/// </summary>
public sealed class BlobFeedContent
{
    private readonly BlobClient _blob;

    private BlobFeedContent(BlobClient blob, ETag etag, long length)
    {
        _blob = blob;
        ETag = etag;
        Length = length;
    }

    /// <summary>The version every pass reads.</summary>
    public ETag ETag { get; }

    public long Length { get; }

    /// <summary>Pins the blob's current version.</summary>
    public static async Task<BlobFeedContent> PinAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return new BlobFeedContent(blob, properties.Value.ETag, properties.Value.ContentLength);
    }

    /// <summary>A <see cref="FeedContentOpener"/>: each call opens the pinned version, or throws <see cref="FeedContentChangedException"/>.</summary>
    public async Task<Stream> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            // allowModifications: false makes the SDK condition each ranged read on the ETag as well.
            var stream = await _blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { Conditions = new BlobRequestConditions { IfMatch = ETag } },
                cancellationToken).ConfigureAwait(false);
            return new PinnedStream(stream, this);
        }
        catch (RequestFailedException e) when (IsChanged(e))
        {
            throw Changed(e);
        }
    }

    private static bool IsChanged(RequestFailedException e) => e.Status == 412 || (e.Status == 404 && e.ErrorCode == BlobErrorCode.BlobNotFound);

    private FeedContentChangedException Changed(RequestFailedException e) =>
        new($"The blob {_blob.BlobContainerName}/{_blob.Name} changed while it was being ingested (it is no longer the version {ETag} that the validation pass read" +
            (e.Status == 404 ? ": it was deleted" : "") + "); nothing of this attempt was stored. The new version is ingested on its own.", e);

    /// <summary>Turns the SDK's 412 on a ranged read (the blob was overwritten mid-pass) into the same clear failure.</summary>
    private sealed class PinnedStream(Stream inner, BlobFeedContent content) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            try
            {
                return inner.Read(buffer);
            }
            catch (RequestFailedException e) when (IsChanged(e))
            {
                throw content.Changed(e);
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (IsChanged(e))
            {
                throw content.Changed(e);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
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
}
