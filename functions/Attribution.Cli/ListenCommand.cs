using System.CommandLine;
using System.Globalization;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Azure.Identity;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Logging;

namespace Attribution.Cli;

/// <summary>
/// `attribution listen --servicebus CONN [--queue feed-records]`: consumes feed messages as the IngestFeedMessage function
/// does — the same <see cref="FeedMessageHandler"/>, its decision mapped onto the processor's settlement calls — and prints
/// one line per message until Ctrl+C.
/// </summary>
internal static class ListenCommand
{
    public const int MaxConcurrentCalls = 2;

    public static Command Create()
    {
        var serviceBus = new Option<string?>("--servicebus")
        {
            Description = "Service Bus connection string (a namespace's, or the emulator's with UseDevelopmentEmulator=true), " +
                          "or a fully qualified namespace (name.servicebus.windows.net) to sign in with Microsoft Entra ID.",
        };
        var queue = new Option<string>("--queue") { Description = "Queue to consume.", DefaultValueFactory = _ => FeedMessageHandler.QueueName };
        var command = new Command("listen", "Consume feed messages from a Service Bus queue and ingest them, as IngestFeedMessage does, until Ctrl+C.")
        {
            serviceBus, queue,
        };
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var queueName = parse.GetValue(queue);
            if (string.IsNullOrWhiteSpace(queueName)) throw new CliException("--queue must name a queue.", ExitCodes.BadUsage);
            // The connection is checked before storage is opened, so a typo fails at once.
            await using var client = CreateClient(parse.GetValue(serviceBus));
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var handler = storage.Get<FeedMessageHandler>();

            await using var processor = client.CreateProcessor(queueName, new ServiceBusProcessorOptions
            {
                // Settled by us, from the handler's decision; an exception from the handler abandons the message.
                AutoCompleteMessages = false,
                MaxConcurrentCalls = MaxConcurrentCalls,
                ReceiveMode = ServiceBusReceiveMode.PeekLock,
            });
            var output = new object();
            processor.ProcessMessageAsync += async args =>
            {
                var settlement = await handler.HandleAsync(ToFeedMessage(args.Message), args.CancellationToken);
                await SettleAsync(settlement, args);
                lock (output) context.Out.WriteLine(Describe(args.Message, settlement));
            };
            processor.ProcessErrorAsync += args =>
            {
                lock (output) context.Error.WriteLine($"error ({args.ErrorSource}, {args.EntityPath}): {args.Exception.Message}");
                return Task.CompletedTask;
            };

            await context.Error.WriteLineAsync($"Listening on '{queueName}' ({client.FullyQualifiedNamespace}); storage: {storage.Description}. Ctrl+C stops.");
            await processor.StartProcessingAsync(ct);
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl+C: stop below, letting messages in hand finish and settle.
            }
            await processor.StopProcessingAsync(CancellationToken.None);
            await context.Error.WriteLineAsync("Stopped.");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>A connection string (namespace or emulator), or a namespace name signed in to with Entra ID (the deployed namespace has SAS keys off).</summary>
    internal static ServiceBusClient CreateClient(string? connection)
    {
        if (string.IsNullOrWhiteSpace(connection))
            throw new CliException("--servicebus is required: a Service Bus connection string, or the namespace's fully qualified name.", ExitCodes.BadUsage);
        try
        {
            return connection.Contains('=', StringComparison.Ordinal)
                ? new ServiceBusClient(connection)
                : new ServiceBusClient(connection.Trim(), new DefaultAzureCredential());
        }
        catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException)
        {
            throw new CliException($"--servicebus is not a usable Service Bus connection: {e.Message}", ExitCodes.BadUsage);
        }
    }

    /// <summary>What the handler reads of a received message (the same adaptation as IngestFeedMessage's).</summary>
    internal static FeedMessage ToFeedMessage(ServiceBusReceivedMessage message) =>
        new(message.MessageId, message.Body, message.ApplicationProperties);

    /// <summary>The handler's decision, carried out on the received message (the same mapping as IngestFeedMessage's).</summary>
    internal static Task SettleAsync(MessageSettlement settlement, ProcessMessageEventArgs args)
    {
        // Settle even while the processor is stopping: the work is done, and an unsettled message would only come back.
        var none = CancellationToken.None;
        return settlement.Action switch
        {
            SettlementAction.Complete => args.CompleteMessageAsync(args.Message, none),
            SettlementAction.DeadLetter => args.DeadLetterMessageAsync(args.Message, settlement.DeadLetterReason ?? "Unprocessable", settlement.DeadLetterDescription, none),
            SettlementAction.Abandon => args.AbandonMessageAsync(args.Message, propertiesToModify: null, none),
            _ => throw new ArgumentOutOfRangeException(nameof(settlement), settlement.Action, "Unknown settlement action."),
        };
    }

    /// <summary>One line per message: id, source, action, and the counts or the reason.</summary>
    internal static string Describe(ServiceBusReceivedMessage message, MessageSettlement settlement)
    {
        var source = settlement.Result?.Source.Name() ?? RawSource(message) ?? "-";
        var detail = settlement switch
        {
            { Action: SettlementAction.Complete, Result: { } r, AlreadyIngested: true } =>
                $"already ingested ({r.Status}, {Counts(r)}); nothing written",
            { Action: SettlementAction.Complete, Result: { } r } => $"{r.Status} {Counts(r)}",
            { Action: SettlementAction.DeadLetter } => $"{settlement.DeadLetterReason}: {settlement.DeadLetterDescription}",
            { Action: SettlementAction.Abandon, Failure: { } e } => $"storage unavailable, left for redelivery ({e.GetType().Name}: {FirstLine(e.Message)})",
            _ => "",
        };
        return $"{message.MessageId} {source} {settlement.Action} {detail}".TrimEnd();
    }

    private static string Counts(FeedIngestionResult r) =>
        string.Create(CultureInfo.InvariantCulture, $"rows={r.RowsTotal} accepted={r.RowsAccepted} rejected={r.RowsRejected}");

    private static string? RawSource(ServiceBusReceivedMessage message)
    {
        foreach (var (key, value) in message.ApplicationProperties)
            if (string.Equals(key, FeedMessageHandler.SourceProperty, StringComparison.OrdinalIgnoreCase))
                return Convert.ToString(value, CultureInfo.InvariantCulture);
        return null;
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].TrimEnd('\r');
}
