using System.CommandLine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace Attribution.Cli;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        return await RunAsync(args, Console.Out, Console.Error, cts.Token);
    }

    /// <summary>Runs the CLI with the given writers (tests call this in-process).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var root = Commands.Build();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) await stderr.WriteLineAsync($"error: {error.Message}");
            await stderr.WriteLineAsync("Run 'attribution --help' for usage.");
            return ExitCodes.BadUsage;
        }
        var console = CliConsole.Create(stdout);
        var verbose = parse.GetValue(Commands.Verbose);
        using var logs = CliLogging.For(verbose, stderr);
        var context = new CommandContext(console, stdout, stderr) { Logs = logs, Verbose = verbose };
        try
        {
            Commands.Context.Value = context;
            var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
            return await parse.InvokeAsync(config, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("cancelled");
            return ExitCodes.Failure;
        }
        catch (Exception e)
        {
            // Every failure ends as one line and an exit code, never a stack trace (unless --verbose asks for it).
            var (message, code) = CliFailure.Describe(e, context.StorageEndpoints);
            await stderr.WriteLineAsync($"error: {message}");
            if (verbose) await stderr.WriteLineAsync(e.ToString());
            return code;
        }
        finally
        {
            Commands.Context.Value = null;
        }
    }
}

/// <summary>What a command writes to: a Spectre console over stdout (plain when redirected), and stderr.</summary>
internal sealed record CommandContext(IAnsiConsole Console, TextWriter Out, TextWriter Error)
{
    /// <summary>The domain's loggers: stderr with --verbose, none otherwise (<see cref="CliLogging"/>).</summary>
    public ILoggerFactory Logs { get; init; } = NullLoggerFactory.Instance;

    /// <summary>The storage endpoints the command opened, so a storage failure names them.</summary>
    public string? StorageEndpoints { get; set; }

    /// <summary>--verbose: the domain's log lines on stderr take the place of the progress display.</summary>
    public bool Verbose { get; init; }

    /// <summary>Progress bars only on an interactive terminal, and not under the log lines of --verbose; redirected output stays quiet.</summary>
    public bool Interactive => !Verbose && ReferenceEquals(Out, System.Console.Out) && !System.Console.IsOutputRedirected && !System.Console.IsErrorRedirected;
}

internal static class CliConsole
{
    public static IAnsiConsole Create(TextWriter stdout)
    {
        var interactive = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
        // Redirected output is read by scripts and logs: wide enough that tables do not wrap.
        if (!interactive) console.Profile.Width = 200;
        return console;
    }
}
