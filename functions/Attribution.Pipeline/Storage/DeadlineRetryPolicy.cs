using Azure.Core;
using Azure.Core.Pipeline;

namespace Attribution.Pipeline.Storage;

/// <summary>
/// The SDK's exponential retry, plus a deadline: once a request has been failing for <c>giveUpAfter</c> it is not
/// retried again, so an outage surfaces to the caller in bounded time (the CLI turns it into one line, exit 1).
/// </summary>
internal sealed class DeadlineRetryPolicy(RetryOptions options, TimeSpan giveUpAfter)
    : RetryPolicy(options.MaxRetries, DelayStrategy.CreateExponentialDelayStrategy(options.Delay, options.MaxDelay))
{
    protected override bool ShouldRetry(HttpMessage message, Exception? exception) =>
        WithinDeadline(message) && base.ShouldRetry(message, exception);

    protected override async ValueTask<bool> ShouldRetryAsync(HttpMessage message, Exception? exception) =>
        WithinDeadline(message) && await base.ShouldRetryAsync(message, exception).ConfigureAwait(false);

    private bool WithinDeadline(HttpMessage message) => DateTimeOffset.UtcNow - message.ProcessingContext.StartTime < giveUpAfter;
}
