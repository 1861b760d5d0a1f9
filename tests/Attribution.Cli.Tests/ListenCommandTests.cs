using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Azure.Messaging.ServiceBus;

namespace Attribution.Cli.Tests;

/// <summary>
/// `attribution listen`: no Service Bus namespace or emulator is reachable in tests, so the processor itself is not run;
/// what is tested is the usage checks and the mapping of the handler's decision onto the processor's settlement calls.
/// </summary>
public sealed class ListenCommandTests
{
    private static ServiceBusReceivedMessage Received(string id = "m-1", string? source = "usage") =>
        ServiceBusModelFactory.ServiceBusReceivedMessage(
            body: BinaryData.FromString("{}"), messageId: id,
            properties: source is null ? new Dictionary<string, object>() : new Dictionary<string, object> { ["source"] = source });

    private static FeedIngestionResult Result(IngestionStatus status, long total, long accepted) =>
        new("m-1", FeedSource.Usage, "message:m-1", "abc", status, total, accepted, total - accepted, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task Listen_without_servicebus_is_bad_usage()
    {
        var (code, _, error) = await CliRunner.RunAsync("listen");
        Assert.Equal(2, code);
        Assert.Contains("--servicebus is required", error);
    }

    [Fact]
    public async Task Listen_with_a_malformed_connection_string_is_bad_usage()
    {
        var (code, _, error) = await CliRunner.RunAsync("listen", "--servicebus", "Endpoint=;SharedAccessKeyName=x");
        Assert.Equal(2, code);
        Assert.Contains("--servicebus", error);
    }

    [Fact]
    public async Task Listen_is_listed_in_help()
    {
        var (code, output, _) = await CliRunner.RunAsync("listen", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--servicebus", output);
        Assert.Contains("--queue", output);
        Assert.Contains("feed-records", output);
    }

    [Fact]
    public void The_handler_gets_the_received_message_id_body_and_application_properties()
    {
        var received = ServiceBusModelFactory.ServiceBusReceivedMessage(
            body: BinaryData.FromString("""[{"month":"2026-01"}]"""), messageId: "m-9",
            properties: new Dictionary<string, object> { ["Source"] = " usage ", ["batch"] = 7 });

        var message = ListenCommand.ToFeedMessage(received);

        Assert.Equal("m-9", message.MessageId);
        Assert.Equal("""[{"month":"2026-01"}]""", message.Body.ToString());
        Assert.Equal(2, message.ApplicationProperties.Count);
        Assert.Equal(" usage ", message.ApplicationProperties["Source"]);
        Assert.Equal(7, message.ApplicationProperties["batch"]);
    }

    [Fact]
    public async Task Complete_maps_to_CompleteMessageAsync()
    {
        var receiver = new RecordingReceiver();
        var message = Received();
        await ListenCommand.SettleAsync(new MessageSettlement(SettlementAction.Complete, Result: Result(IngestionStatus.Succeeded, 1, 1)),
            new ProcessMessageEventArgs(message, receiver, CancellationToken.None));
        Assert.Equal(["complete m-1"], receiver.Calls);
    }

    [Fact]
    public async Task DeadLetter_maps_to_DeadLetterMessageAsync_with_reason_and_description()
    {
        var receiver = new RecordingReceiver();
        await ListenCommand.SettleAsync(new MessageSettlement(SettlementAction.DeadLetter, DeadLetterReasons.InvalidJson, "The body is not valid UTF-8 JSON."),
            new ProcessMessageEventArgs(Received(), receiver, CancellationToken.None));
        Assert.Equal(["deadletter m-1 InvalidJson|The body is not valid UTF-8 JSON."], receiver.Calls);
    }

    [Fact]
    public async Task Abandon_maps_to_AbandonMessageAsync()
    {
        var receiver = new RecordingReceiver();
        await ListenCommand.SettleAsync(new MessageSettlement(SettlementAction.Abandon) { Failure = new IOException("down") },
            new ProcessMessageEventArgs(Received(), receiver, CancellationToken.None));
        Assert.Equal(["abandon m-1"], receiver.Calls);
    }

    [Fact]
    public void Each_message_is_described_on_one_line_with_id_source_action_and_counts_or_reason()
    {
        Assert.Equal("m-1 usage Complete CompletedWithRejections rows=3 accepted=2 rejected=1",
            ListenCommand.Describe(Received(), new MessageSettlement(SettlementAction.Complete, Result: Result(IngestionStatus.CompletedWithRejections, 3, 2))));
        Assert.Equal("m-1 usage Complete already ingested (Succeeded, rows=1 accepted=1 rejected=0); nothing written",
            ListenCommand.Describe(Received(), new MessageSettlement(SettlementAction.Complete, Result: Result(IngestionStatus.Succeeded, 1, 1)) { AlreadyIngested = true }));
        Assert.Equal("m-2 billing DeadLetter UnknownSource: no such source",
            ListenCommand.Describe(Received("m-2", "billing"), new MessageSettlement(SettlementAction.DeadLetter, DeadLetterReasons.UnknownSource, "no such source")));
        Assert.Equal("m-3 - DeadLetter UnknownSource: missing",
            ListenCommand.Describe(Received("m-3", null), new MessageSettlement(SettlementAction.DeadLetter, DeadLetterReasons.UnknownSource, "missing")));
        var abandoned = ListenCommand.Describe(Received(), new MessageSettlement(SettlementAction.Abandon) { Failure = new IOException("connection refused\nat ...") });
        Assert.Equal("m-1 usage Abandon storage unavailable, left for redelivery (IOException: connection refused)", abandoned);
    }

    /// <summary>Records the settlement calls that ProcessMessageEventArgs forwards to its receiver.</summary>
    private sealed class RecordingReceiver : ServiceBusReceiver
    {
        public List<string> Calls { get; } = [];

        public override Task CompleteMessageAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken = default)
        {
            Calls.Add($"complete {message.MessageId}");
            return Task.CompletedTask;
        }

        public override Task AbandonMessageAsync(ServiceBusReceivedMessage message, IDictionary<string, object>? propertiesToModify = null, CancellationToken cancellationToken = default)
        {
            Calls.Add($"abandon {message.MessageId}");
            return Task.CompletedTask;
        }

        public override Task DeadLetterMessageAsync(ServiceBusReceivedMessage message, string deadLetterReason, string? deadLetterErrorDescription = null, CancellationToken cancellationToken = default)
        {
            Calls.Add($"deadletter {message.MessageId} {deadLetterReason}|{deadLetterErrorDescription}");
            return Task.CompletedTask;
        }

        public override Task DeadLetterMessageAsync(ServiceBusReceivedMessage message, IDictionary<string, object>? propertiesToModify, string? deadLetterReason, string? deadLetterErrorDescription = null, CancellationToken cancellationToken = default)
        {
            Calls.Add($"deadletter {message.MessageId} {deadLetterReason}|{deadLetterErrorDescription}");
            return Task.CompletedTask;
        }
    }
}
