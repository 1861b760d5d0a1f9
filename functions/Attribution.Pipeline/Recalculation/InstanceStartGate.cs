using Attribution.Pipeline.Storage;
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
        var deadline = DateTimeOffset.UtcNow + MaxWait;
        var gate = await BlobLock.AcquireAsync(container.GetBlobClient($"start-gates/{instanceId}"), LeaseDuration,
            _ => Task.FromResult(DateTimeOffset.UtcNow >= deadline), logger, cancellationToken).ConfigureAwait(false)
            ?? throw new TimeoutException($"Another start of {instanceId} held its start gate for over {MaxWait.TotalSeconds:0} s; try again.");
        await using (gate.ConfigureAwait(false))
        {
            if (RecalculationStarter.IsActive(await state(cancellationToken).ConfigureAwait(false))) return false;
            return await start(cancellationToken).ConfigureAwait(false);
        }
    }
}
