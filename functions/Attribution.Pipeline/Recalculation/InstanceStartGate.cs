using Attribution.Pipeline.Storage;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Recalculation;

/// <summary>
/// Makes "start unless one is running" atomic for an instance id, whatever the Durable backend does: its own
/// deduplication checks the instance, then creates it, so two starts racing (the timer and a POST, two POSTs) can both
/// pass the check. A start holds a blob lease named after the instance id while it checks and schedules; a second start
/// waits for it (a schedule takes milliseconds; a holder that died frees the lease when it lapses) and then sees the
/// instance the first one started.
/// </summary>
public sealed class InstanceStartGate(StorageAccount storage, ILogger<InstanceStartGate> logger)
{
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(15);

    /// <summary>At most this long waiting for another start of the same instance (longer than a lapsed lease).</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs <paramref name="start"/> unless <paramref name="state"/> reports an active instance, with no other start of
    /// the same id in between. Returns false for "already running".
    /// </summary>
    public async Task<bool> StartOnceAsync(string instanceId, Func<CancellationToken, Task<InstanceState?>> state, Func<CancellationToken, Task<bool>> start, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(start);
        var container = storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer);
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var gate = container.GetBlobClient($"start-gates/{instanceId}");
        try
        {
            await gate.UploadAsync(BinaryData.Empty, new Azure.Storage.Blobs.Models.BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            // The gate exists (it is made once per instance id and kept).
        }
        var lease = gate.GetBlobLeaseClient();
        var deadline = DateTimeOffset.UtcNow + MaxWait;
        var pause = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                await lease.AcquireAsync(LeaseDuration, cancellationToken: cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (RequestFailedException e) when (e.Status == 409 && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                pause = TimeSpan.FromMilliseconds(Math.Min(500, pause.TotalMilliseconds * 2));
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                throw new TimeoutException($"Another start of {instanceId} held its start gate for over {MaxWait.TotalSeconds:0} s; try again.", e);
            }
        }
        try
        {
            if (RecalculationStarter.IsActive(await state(cancellationToken).ConfigureAwait(false))) return false;
            return await start(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                await lease.ReleaseAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
            catch (RequestFailedException e)
            {
                // Lapsed or lost: it frees itself within the lease's duration.
                logger.GateReleaseFailed(gate.Name, LeaseDuration, e);
            }
        }
    }
}
