using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Storage;

/// <summary>
/// A lock across processes: a lease on a small blob (made once, kept), renewed while held, released on dispose. A holder
/// that dies frees it when its lease lapses. A failed release is said and counted (it lapses by itself).
/// </summary>
internal sealed class BlobLock : IAsyncDisposable
{
    private readonly BlobLeaseClient _lease;
    private readonly string _name;
    private readonly TimeSpan _duration;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewing;

    private BlobLock(BlobLeaseClient lease, string name, TimeSpan duration, ILogger logger)
    {
        _lease = lease;
        _name = name;
        _duration = duration;
        _logger = logger;
        _renewing = RenewAsync();
    }

    /// <summary>
    /// Takes the lock, waiting while another holds it (pauses from 50 ms doubling to 500 ms); null when
    /// <paramref name="stopWaiting"/> says the wait is no longer needed.
    /// </summary>
    public static async Task<BlobLock?> AcquireAsync(BlobClient blob, TimeSpan duration, Func<CancellationToken, Task<bool>> stopWaiting, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(stopWaiting);
        try
        {
            await blob.UploadAsync(BinaryData.Empty, new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            // The lock blob exists (made by an earlier holder and kept).
        }
        var lease = blob.GetBlobLeaseClient();
        var pause = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                await lease.AcquireAsync(duration, cancellationToken: cancellationToken).ConfigureAwait(false);
                return new BlobLock(lease, blob.Name, duration, logger);
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                if (await stopWaiting(cancellationToken).ConfigureAwait(false)) return null;
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                pause = TimeSpan.FromMilliseconds(Math.Min(500, pause.TotalMilliseconds * 2));
            }
        }
    }

    private async Task RenewAsync()
    {
        try
        {
            while (true)
            {
                await Task.Delay(_duration / 3, _stop.Token).ConfigureAwait(false);
                await _lease.RenewAsync(cancellationToken: _stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Released.
        }
        catch (RequestFailedException e)
        {
            // Lost: the release below fails too and says so.
            _logger.LeaseRenewalFailed(_name, e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewing.ConfigureAwait(false);
        _stop.Dispose();
        try
        {
            await _lease.ReleaseAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
        catch (RequestFailedException e)
        {
            _logger.GateReleaseFailed(_name, _duration, e);
        }
    }
}
