using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attribution.Cli;

/// <summary>
/// `--verbose`: the domain's logs (categories <c>Attribution.*</c>: ingestion, each recalculation step, the
/// orchestrator's phases) on stderr, one line each with a UTC timestamp, level and category. Without it, no logger
/// writes anything, so stdout and stderr stay as scripts and tests read them.
/// </summary>
internal static class CliLogging
{
    /// <summary>The loggers a command hands to the domain: stderr with --verbose, else none.</summary>
    public static ILoggerFactory For(bool verbose, TextWriter stderr) =>
        verbose ? new StderrLoggerFactory(stderr, LogLevel.Debug) : NullLoggerFactory.Instance;

    /// <summary>One log line: "2026-12-03T07:40:01.123Z info  Attribution.Pipeline.Ingestion.FeedIngestor[1001] message".</summary>
    public static string Line(DateTimeOffset at, LogLevel level, string category, EventId eventId, string message) =>
        string.Create(CultureInfo.InvariantCulture, $"{at.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} {LevelName(level),-5} {category}[{eventId.Id}] {message}");

    private static string FirstLine(string text)
    {
        var end = text.AsSpan().IndexOfAny('\r', '\n');
        return end < 0 ? text : text[..end];
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => level.ToString(),
    };

    /// <summary>
    /// A factory with one sink (no Microsoft.Extensions.Logging host needed). Only the domain's categories are written:
    /// the Durable Task Framework logs every poll and lease through the same factory.
    /// </summary>
    private sealed class StderrLoggerFactory(TextWriter stderr, LogLevel minimum) : ILoggerFactory
    {
        private readonly Lock _gate = new();

        public ILogger CreateLogger(string categoryName) =>
            categoryName.StartsWith(Pipeline.Telemetry.Name + ".", StringComparison.Ordinal) ? new StderrLogger(this, categoryName) : NullLogger.Instance;

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("The CLI logs to stderr only.");

        public void Dispose() { }

        private void Write(string line)
        {
            // Activities log from the worker's threads at once: one line at a time.
            lock (_gate) stderr.WriteLine(line);
        }

        private sealed class StderrLogger(StderrLoggerFactory owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimum && logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (!IsEnabled(logLevel)) return;
                var message = formatter(state, exception);
                // The exception's first line only: one line per event (a storage error's message goes on with its headers).
                if (exception is not null) message += $" ({exception.GetType().Name}: {FirstLine(exception.Message)})";
                owner.Write(Line(DateTimeOffset.UtcNow, logLevel, category, eventId, message));
            }
        }

        private readonly LogLevel _minimum = minimum;
    }
}
