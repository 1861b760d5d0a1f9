using System.Net.Sockets;
using Attribution.Pipeline.Reading;
using Attribution.Domain.Rules;
using Azure;

namespace Attribution.Cli;

/// <summary>Turns any exception that reaches the top of a command into one line for stderr and an exit code.</summary>
internal static class CliFailure
{
    public static (string Message, int ExitCode) Describe(Exception e, string? storageEndpoints)
    {
        switch (e)
        {
            case CliException cli:
                return (cli.Message, cli.ExitCode);
            case Pipeline.Recalculation.EmptyWindowException empty:
                // The month asked for (or defaulted to) is not worth recalculating as asked: a usage problem, fixed by the caller.
                return ($"{empty.Message[..^1]} (--allow-empty).", ExitCodes.BadUsage);
            case RulesValidationException rules:
                return (rules.Message, ExitCodes.Failure);
            case RunUnreadableException unreadable:
                // A run whose snapshot or rules are missing: said as it is, naming the run (never read with other rules).
                return (unreadable.Message, ExitCodes.Failure);
        }
        if (StorageProblem(e) is { } storage)
        {
            var where = storageEndpoints is null ? "storage" : $"storage at {storageEndpoints}";
            return ($"{where} failed: {storage}", ExitCodes.Failure);
        }
        return e switch
        {
            IOException or UnauthorizedAccessException => (e.Message, ExitCodes.Failure),
            _ => ($"unexpected {e.GetType().Name}: {e.Message} (run with --verbose for the detail)", ExitCodes.Failure),
        };
    }

    /// <summary>What went wrong talking to storage, or null when the exception is not a storage failure.</summary>
    public static string? StorageProblem(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            switch (x)
            {
                case AggregateException aggregate when aggregate.InnerExceptions.Count > 0:
                    // The SDK's "retry failed after N tries": the last attempt says what is wrong.
                    return StorageProblem(aggregate.InnerExceptions[^1]);
                case SocketException socket:
                    return $"unreachable ({socket.SocketErrorCode}: {socket.Message})";
                case HttpRequestException http:
                    return $"unreachable ({http.InnerException?.Message ?? http.Message})";
                case RequestFailedException { Status: 0 } failed:
                    return $"unreachable ({failed.InnerException?.Message ?? FirstLine(failed.Message)})";
                case RequestFailedException failed:
                    return $"{failed.Status} {failed.ErrorCode ?? ""} {FirstLine(failed.Message)}".Replace("  ", " ", StringComparison.Ordinal);
                case TaskCanceledException or TimeoutException when x.InnerException is null:
                    return "did not answer in time";
            }
        }
        return null;
    }

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }
}
