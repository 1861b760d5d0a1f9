namespace Attribution.Pipeline.Ingestion;

/// <summary>
/// A received feed message (§2.5), as <see cref="FeedMessageHandler"/> reads it: only what the handler reads, so the
/// domain needs no Service Bus SDK. Each host adapts the message it receives (`IngestFeedMessage` and
/// `attribution listen`: a Service Bus <c>ServiceBusReceivedMessage</c>).
/// </summary>
/// <param name="MessageId">The message's id, which becomes the ingestion id; empty when the message has none (it is
/// then dead-lettered as <see cref="DeadLetterReasons.InvalidMessageId"/>).</param>
/// <param name="Body">The body: UTF-8 JSON, one record (an object) or an array of records.</param>
/// <param name="ApplicationProperties">The message's application properties; <see cref="FeedMessageHandler.SourceProperty"/>
/// names the feed.</param>
public sealed record FeedMessage(string MessageId, BinaryData Body, IReadOnlyDictionary<string, object> ApplicationProperties);
