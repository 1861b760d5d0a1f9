using Attribution.Domain.Feeds;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Ingestion;

/// <summary>
/// Renews a running attempt's <c>heartbeatAt</c> every <paramref name="every"/> until disposed. When the process dies,
/// the beats stop, and readers and the next attempt of the same file can tell the row belongs to no one
/// (<see cref="FeedIngestionResult.IsAbandoned"/>), whatever point the attempt had reached.
/// </summary>
internal sealed class AttemptHeartbeat : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _beating;

    public AttemptHeartbeat(IngestionStore store, FeedSource source, string ingestionId, TimeSpan every, TimeProvider time, ILogger logger) =>
        _beating = BeatAsync(store, source, ingestionId, every, time, logger, _stop.Token);

    private static async Task BeatAsync(IngestionStore store, FeedSource source, string ingestionId, TimeSpan every, TimeProvider time, ILogger logger, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, time, stop).ConfigureAwait(false);
                await store.BeatAsync(source, ingestionId, time.GetUtcNow(), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is Azure.RequestFailedException or IOException or HttpRequestException or AggregateException)
            {
                // A missed beat. If storage stays away past the timeout, readers call the attempt abandoned, which is
                // what its row can no longer contradict; the attempt's own end, if it gets there, still replaces it.
                logger.HeartbeatFailed(ingestionId, e);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _beating.ConfigureAwait(false);
        _stop.Dispose();
    }
}
