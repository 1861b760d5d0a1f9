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
        var console = CliConsole.Create(stdout, parse.GetValue(Commands.Width));
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

    /// <summary>JSON or CSV on stdout: no progress bar may draw there, even on a terminal.</summary>
    public bool MachineOutput { get; set; }

    /// <summary>--verbose: the domain's log lines on stderr take the place of the progress display.</summary>
    public bool Verbose { get; init; }

    /// <summary>Progress bars only on an interactive terminal showing a table, and not under the log lines of --verbose; redirected output stays quiet.</summary>
    public bool Interactive => !MachineOutput && !Verbose && ReferenceEquals(Out, System.Console.Out) && !System.Console.IsOutputRedirected && !System.Console.IsErrorRedirected;
}

internal static class CliConsole
{
    /// <summary>Narrower than this, no table of ours fits.</summary>
    public const int MinWidth = 40;

    public static IAnsiConsole Create(TextWriter stdout, int? width)
    {
        var interactive = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
        // A terminal's own width; redirected, what COLUMNS says (as `ls` and `git` do), else the classic 80.
        // Scripts that want every field whatever the width ask for --format json or csv.
        if (width is { } w) console.Profile.Width = w;
        else if (!interactive) console.Profile.Width = RedirectedWidth(Environment.GetEnvironmentVariable("COLUMNS"));
        return console;
    }

    /// <summary>COLUMNS when it is a usable width, else 80 (a stray or tiny value must not break the output).</summary>
    public static int RedirectedWidth(string? columns) =>
        int.TryParse(columns, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var c) && c >= MinWidth ? Math.Min(c, 10_000) : 80;
}
