using System.Security.Cryptography;
using System.Text;
using Attribution.Domain.Feeds;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Storage;

internal enum ClaimOutcome
{
    /// <summary>This attempt holds the claim (a lease, renewed until it commits or fails).</summary>
    Acquired,

    /// <summary>The content is already committed, by <see cref="ClaimResult.Holder"/>.</summary>
    Committed,

    /// <summary>Another live attempt (<see cref="ClaimResult.Holder"/>) held it for the whole wait.</summary>
    Busy,
}

/// <param name="Abandoned">When acquired: an earlier holder whose lease expired without a commit (its process died).</param>
internal sealed record ClaimResult(ClaimOutcome Outcome, string? Holder, ClaimLease? Lease = null, string? Abandoned = null);

/// <summary>An attempt starts waiting on another live attempt's claim: <paramref name="Holder"/> holds it, the wait began at
/// <paramref name="Since"/> and ends at the latest at <paramref name="Until"/> (ClaimWait).</summary>
internal sealed record ClaimWaitStarted(string? Holder, DateTimeOffset Since, DateTimeOffset Until, TimeSpan Lease);

/// <summary>The holder lost the claim (lease expired and taken over, or broken) before it could commit.</summary>
internal sealed class ClaimLostException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// One claim blob per content (source + SHA-256) or per message id, created with If-None-Match:* and held by a blob
/// lease while an attempt works, so the same content is committed once however many attempts run at the same time.
/// Its metadata names the holder and says `running`, `committed` or `failed`.
/// <list type="bullet">
/// <item>committed: the attempt is a Duplicate of the holder;</item>
/// <item>leased by a live attempt: wait (bounded, exponential backoff) until it commits or its lease ends;</item>
/// <item>free, holder `running`: that attempt died; take over — unless its commit landed and only the claim's update
/// was lost, which the log tells (then it is committed after all).</item>
/// </list>
/// </summary>
/// <param name="logger">Where a held claim's failed lease renewal or release is said (the ingestion's logger).</param>
internal sealed class ContentClaims(RecordLog log, ILogger logger)
{
    private const string HolderKey = "ingestionid";
    private const string StateKey = "state";

    public static string ContentKey(FeedSource source, string sha256) => $"_claims/{source.Name()}/{sha256}";

    /// <summary>Message ids are arbitrary text: the claim is named by their hash.</summary>
    public static string MessageKey(FeedSource source, string messageId) =>
        $"_claims/{source.Name()}/message-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(messageId)))}";

    /// <param name="breakLiveLease">Messages: Service Bus delivers a message again only once the earlier delivery's
    /// lock is gone, so a live lease belongs to a delivery that lost its message; it is broken (its commit then fails
    /// its claim check) rather than waited for.</param>
    /// <param name="waiting">Called once, when this attempt starts waiting on another's live lease: a wait is never silent.</param>
    public async Task<ClaimResult> AcquireAsync(string key, string ingestionId, bool breakLiveLease, CancellationToken cancellationToken,
        Func<ClaimWaitStarted, CancellationToken, Task>? waiting = null)
    {
        var blob = log.Container.GetBlobClient(key);
        await RecordLog.TryCreateAsync(blob, BinaryData.Empty, cancellationToken).ConfigureAwait(false);
        var since = log.Time.GetUtcNow();
        var deadline = since + log.Options.ClaimWait;
        var announced = false;
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            var (holder, state) = await ReadAsync(blob, cancellationToken).ConfigureAwait(false);
            if (state == "committed") return new ClaimResult(ClaimOutcome.Committed, holder);
            var leaseClient = blob.GetBlobLeaseClient();
            try
            {
                await leaseClient.AcquireAsync(log.Options.ClaimLease, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                if (breakLiveLease)
                {
                    await leaseClient.BreakAsync(TimeSpan.Zero, cancellationToken: cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (log.Time.GetUtcNow() >= deadline) return new ClaimResult(ClaimOutcome.Busy, holder);
                if (!announced && waiting is not null)
                {
                    announced = true;
                    await waiting(new ClaimWaitStarted(holder, since, deadline, log.Options.ClaimLease), cancellationToken).ConfigureAwait(false);
                }
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                continue;
            }

            var lease = new ClaimLease(blob, leaseClient, log.Options.ClaimLease, logger);
            try
            {
                // Read again under the lease: the previous holder may have committed between our read and the acquire.
                (holder, state) = await ReadAsync(blob, cancellationToken).ConfigureAwait(false);
                if (state == "committed")
                {
                    await lease.ReleaseAsync(cancellationToken).ConfigureAwait(false);
                    return new ClaimResult(ClaimOutcome.Committed, holder);
                }
                if (state == "running" && holder is not null)
                {
                    // The holder died: after its commit (then only the claim's update was lost), or before.
                    var latest = await log.OpenAsync(null, cancellationToken).ConfigureAwait(false);
                    if (latest.Ingestions.ContainsKey(holder))
                    {
                        await lease.CompleteAsync(holder, cancellationToken).ConfigureAwait(false);
                        return new ClaimResult(ClaimOutcome.Committed, holder);
                    }
                    await lease.SetHolderAsync(ingestionId, cancellationToken).ConfigureAwait(false);
                    return new ClaimResult(ClaimOutcome.Acquired, ingestionId, lease, Abandoned: holder);
                }
                await lease.SetHolderAsync(ingestionId, cancellationToken).ConfigureAwait(false);
                return new ClaimResult(ClaimOutcome.Acquired, ingestionId, lease);
            }
            catch
            {
                await lease.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    private static async Task<(string? Holder, string? State)> ReadAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        var properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var metadata = properties.Value.Metadata;
        var holder = metadata.TryGetValue(HolderKey, out var h) ? Uri.UnescapeDataString(h) : null;
        return (holder, metadata.TryGetValue(StateKey, out var s) ? s : null);
    }

    internal static Dictionary<string, string> Metadata(string ingestionId, string state) =>
        new() { [HolderKey] = Uri.EscapeDataString(ingestionId), [StateKey] = state };
}

/// <summary>A held claim: its lease is renewed in the background at a third of its duration until released.</summary>
internal sealed class ClaimLease : IAsyncDisposable
{
    private readonly BlobClient _blob;
    private readonly BlobLeaseClient _lease;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;

    public ClaimLease(BlobClient blob, BlobLeaseClient lease, TimeSpan duration, ILogger logger)
    {
        _blob = blob;
        _lease = lease;
        Logger = logger;
        _renewal = RenewAsync(duration / 3, _stop.Token);
    }

    /// <summary>The claim's blob name, as its failures name it.</summary>
    public string Key => _blob.Name;

    /// <summary>The ingestion's logger: the commit says a failed completion of this claim there.</summary>
    public ILogger Logger { get; }

    private BlobRequestConditions Held => new() { LeaseId = _lease.LeaseId };

    private async Task RenewAsync(TimeSpan every, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(every, stop).ConfigureAwait(false);
                await _lease.RenewAsync(cancellationToken: stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is RequestFailedException or AggregateException or HttpRequestException)
        {
            // Lost or unreachable: VerifyAsync before the commit finds out and says which. Said and counted here, as
            // renewals that keep failing end in lost claims (a transport failure too: it must not fault the release).
            Logger.LeaseRenewalFailed(Key, e);
        }
    }

    public Task SetHolderAsync(string ingestionId, CancellationToken cancellationToken) =>
        _blob.SetMetadataAsync(ContentClaims.Metadata(ingestionId, "running"), Held, cancellationToken);

    /// <summary>Right before committing: renewing succeeds only while this attempt still holds the claim.</summary>
    public async Task VerifyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _lease.RenewAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            throw new ClaimLostException("This attempt no longer holds its claim (its lease ended and another attempt took over); it commits nothing.", e);
        }
    }

    /// <summary>After the commit: later attempts are Duplicates of <paramref name="ingestionId"/>.</summary>
    public async Task CompleteAsync(string ingestionId, CancellationToken cancellationToken)
    {
        await _blob.SetMetadataAsync(ContentClaims.Metadata(ingestionId, "committed"), Held, cancellationToken).ConfigureAwait(false);
        await ReleaseAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The attempt failed without committing: the next attempt takes the claim at once. Best effort.</summary>
    public async Task FailAsync(string ingestionId)
    {
        try
        {
            // Briefly: this runs when something already failed, often storage itself.
            using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _blob.SetMetadataAsync(ContentClaims.Metadata(ingestionId, "failed"), Held, brief.Token).ConfigureAwait(false);
            await ReleaseAsync(brief.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RequestFailedException or AggregateException or HttpRequestException or OperationCanceledException)
        {
            // The lease expires by itself; the next attempt then takes over (a wait of up to the lease, so it is said).
            Logger.ClaimReleaseFailed(ingestionId, Key, e);
        }
        finally
        {
            await DisposeAsync().ConfigureAwait(false);
        }
    }

    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        await StopAsync().ConfigureAwait(false);
        await _lease.ReleaseAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested) await _stop.CancelAsync().ConfigureAwait(false);
        await _renewal.ConfigureAwait(false);
    }

    /// <summary>Stops renewing without releasing: the lease runs out by itself (a cancelled or crashed attempt).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
