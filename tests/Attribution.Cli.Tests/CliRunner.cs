namespace Attribution.Cli.Tests;

/// <summary>Runs the CLI in-process, capturing stdout and stderr as text (redirected: no colours, no progress).</summary>
public static class CliRunner
{
    public static async Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await Program.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
