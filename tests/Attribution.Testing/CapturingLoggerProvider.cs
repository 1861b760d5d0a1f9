using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Attribution.Testing;

/// <summary>Keeps every log entry in memory (thread-safe), for tests that assert what was logged.</summary>
public sealed class CapturingLoggerProvider(LogLevel minimum = LogLevel.Debug) : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private readonly ConcurrentQueue<(Func<LogEntry, bool> Match, TaskCompletionSource<LogEntry> Seen)> _waiters = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    /// <summary>The first entry that matches, logged already or when it is (waits on the event, not on a clock).</summary>
    public Task<LogEntry> FirstAsync(Func<LogEntry, bool> match)
    {
        var seen = new TaskCompletionSource<LogEntry>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters.Enqueue((match, seen));
        if (_entries.FirstOrDefault(match) is { } logged) seen.TrySetResult(logged);
        return seen.Task;
    }

    public void Dispose() { }

    private void Add(LogEntry entry)
    {
        _entries.Enqueue(entry);
        foreach (var (match, seen) in _waiters)
            if (match(entry)) seen.TrySetResult(entry);
    }

    private sealed class CapturingLogger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner.Add(new LogEntry(category, logLevel, eventId.Id, formatter(state, exception), exception));
        }
    }

    private readonly LogLevel _minimum = minimum;
}

public sealed record LogEntry(string Category, LogLevel Level, int EventId, string Message, Exception? Exception = null);
