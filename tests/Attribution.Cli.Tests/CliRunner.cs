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

    /// <summary>Runs the built CLI as its own process, with extra environment variables (null removes one).</summary>
    public static async Task<(int ExitCode, string Out, string Error)> RunProcessAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add("--runtimeconfig");
        psi.ArgumentList.Add(RuntimeConfig.Value);
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "attribution.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment)
        {
            if (value is null) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        }
        using var process = System.Diagnostics.Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    /// <summary>
    /// The CLI's runtime config with this test host's shared frameworks: the test bin leaves out the Microsoft.Extensions
    /// assemblies that ASP.NET Core's framework (referenced by Attribution.Testing) provides, so the CLI, run from here,
    /// must load them from that framework as the test host does.
    /// </summary>
    private static readonly Lazy<string> RuntimeConfig = new(() =>
    {
        var cli = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "attribution.runtimeconfig.json")))!;
        var host = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Attribution.Cli.Tests.runtimeconfig.json")))!;
        var options = cli["runtimeOptions"]!.AsObject();
        options.Remove("framework");
        options.Remove("frameworks");
        options["frameworks"] = host["runtimeOptions"]!["frameworks"]!.DeepClone();
        var path = Path.Combine(Path.GetTempPath(), $"attribution-tests-{Environment.ProcessId}.runtimeconfig.json");
        File.WriteAllText(path, cli.ToJsonString());
        return path;
    });
}
