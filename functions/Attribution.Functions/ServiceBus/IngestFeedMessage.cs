// Compiled only with -p:EnableServiceBusTrigger=true (see Attribution.Functions.csproj and docs/servicebus.md): the
// Service Bus worker extension it needs is not served by every package mirror.
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Azure.Messaging.ServiceBus;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Attribution.Functions.ServiceBus;

/// <summary>
/// A feed message on `feed-records` (§2.5) is ingested by the same <see cref="FeedMessageHandler"/> as `attribution listen`;
/// this function only carries out its decision. Messages are settled explicitly (AutoCompleteMessages = false): complete,
/// dead-letter with the handler's reason and description, or abandon for redelivery after a transient storage failure.
/// An exception (a bug, or the host shutting down) leaves the message unsettled, so Service Bus redelivers it and
/// dead-letters it after the queue's max delivery count.
/// </summary>
public sealed class IngestFeedMessage(FeedMessageHandler handler, ILogger<IngestFeedMessage> logger)
{
    private readonly FeedMessageHandler _handler = handler;

    [Function(nameof(IngestFeedMessage))]
    public async Task Run(
        [ServiceBusTrigger("feed-records", Connection = "ServiceBusConnection", AutoCompleteMessages = false)] ServiceBusReceivedMessage message,
        ServiceBusMessageActions messageActions,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(messageActions);
        var settlement = await _handler.HandleAsync(ToFeedMessage(message), cancellationToken);
        Log(message, settlement);
        await SettleAsync(settlement, message, messageActions);
    }

    /// <summary>What the handler reads of the received message (the same adaptation as `attribution listen`'s).</summary>
    internal static FeedMessage ToFeedMessage(ServiceBusReceivedMessage message) =>
        new(message.MessageId, message.Body, message.ApplicationProperties);

    /// <summary>The handler's decision carried out on the message (the same mapping as `attribution listen`'s).</summary>
    internal static Task SettleAsync(MessageSettlement settlement, ServiceBusReceivedMessage message, ServiceBusMessageActions actions)
    {
        // Settled even if the host is stopping: the work is done, and an unsettled message would only come back.
        var none = CancellationToken.None;
        return settlement.Action switch
        {
            SettlementAction.Complete => actions.CompleteMessageAsync(message, none),
            SettlementAction.DeadLetter => actions.DeadLetterMessageAsync(
                message,
                deadLetterReason: settlement.DeadLetterReason ?? "Unprocessable",
                deadLetterErrorDescription: settlement.DeadLetterDescription,
                cancellationToken: none),
            SettlementAction.Abandon => actions.AbandonMessageAsync(message, cancellationToken: none),
            _ => throw new ArgumentOutOfRangeException(nameof(settlement), settlement.Action, "Unknown settlement action."),
        };
    }

    private void Log(ServiceBusReceivedMessage message, MessageSettlement settlement)
    {
        switch (settlement)
        {
            case { Action: SettlementAction.Complete, Result: { } r, AlreadyIngested: true }:
                logger.MessageAlreadyIngested(message.MessageId, r.Source.Name(), r.Status.ToString());
                break;
            case { Action: SettlementAction.Complete, Result: { } r }:
                logger.MessageIngested(message.MessageId, r.Source.Name(), r.Status.ToString(), r.RowsAccepted, r.RowsTotal, r.RowsRejected);
                break;
            case { Action: SettlementAction.DeadLetter }:
                logger.MessageDeadLettered(message.MessageId, settlement.DeadLetterReason, settlement.DeadLetterDescription);
                break;
            case { Action: SettlementAction.Abandon }:
                logger.MessageAbandoned(settlement.Failure, message.MessageId, message.DeliveryCount);
                break;
        }
    }
}

/// <summary>Structured log events of IngestFeedMessage (source-generated).</summary>
internal static partial class ServiceBusLog
{
    [LoggerMessage(20, LogLevel.Information, "Message {MessageId} ({Source}): {Status}, {Accepted}/{Total} accepted, {Rejected} rejected.")]
    public static partial void MessageIngested(this ILogger logger, string messageId, string source, string status, long accepted, long total, long rejected);

    [LoggerMessage(21, LogLevel.Information, "Message {MessageId} ({Source}) was already ingested ({Status}); completed without writing.")]
    public static partial void MessageAlreadyIngested(this ILogger logger, string messageId, string source, string status);

    [LoggerMessage(22, LogLevel.Warning, "Message {MessageId} dead-lettered: {Reason}: {Description}")]
    public static partial void MessageDeadLettered(this ILogger logger, string messageId, string? reason, string? description);

    [LoggerMessage(23, LogLevel.Warning, "Message {MessageId} abandoned after a transient storage failure (delivery {DeliveryCount}); it will be redelivered.")]
    public static partial void MessageAbandoned(this ILogger logger, Exception? exception, string messageId, int deliveryCount);
}
