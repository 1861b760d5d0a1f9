using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Attribution.Infra.Tests;

/// <summary>Result of one bicep invocation.</summary>
public sealed record BicepRun(string Arguments, int ExitCode, string StdOut, string StdErr)
{
    /// <summary>Diagnostic lines (`file(line,col) : Error|Warning|Info code: message`) from either stream.</summary>
    public IReadOnlyList<string> Diagnostics { get; } =
        (StdErr + "\n" + StdOut)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(IsDiagnostic)
            .ToList();

    public override string ToString() =>
        $"bicep {Arguments} -> exit {ExitCode}\n--- stderr ---\n{StdErr}\n--- diagnostics ---\n{string.Join('\n', Diagnostics)}";

    private static bool IsDiagnostic(string line) =>
        line.Contains(" : Error ", StringComparison.Ordinal)
        || line.Contains(" : Warning ", StringComparison.Ordinal)
        || line.Contains(" : Info ", StringComparison.Ordinal);
}

/// <summary>
/// The bicep CLI from the NuGet package Azure.Bicep.CommandLine.linux-x64, which this project
/// restores with a PackageDownload (version: BicepCliVersion in the csproj). Looked up, in order:
/// $BICEP_PATH; the NuGet global packages folder the build restored into; $NUGET_PACKAGES;
/// ~/.nuget/packages.
/// </summary>
public static class BicepCli
{
    public const string PackageId = "azure.bicep.commandline.linux-x64";

    public static string Version => Metadata("BicepCliVersion")
        ?? throw new InvalidOperationException("The test assembly has no BicepCliVersion metadata (see the csproj).");

    public static IReadOnlyList<string> Candidates()
    {
        var list = new List<string>();
        var explicitPath = Environment.GetEnvironmentVariable("BICEP_PATH");
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            list.Add(explicitPath);
        }

        var roots = new List<string?>
        {
            Metadata("NuGetPackageRoot"),
            Environment.GetEnvironmentVariable("NUGET_PACKAGES"),
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        };
        foreach (var root in roots.Where(r => !string.IsNullOrWhiteSpace(r)))
        {
            list.Add(Path.Combine(root!, PackageId, Version, "tools", "bicep"));
        }

        return list;
    }

    public static string Locate()
    {
        var candidates = Candidates();
        var found = candidates.FirstOrDefault(File.Exists);
        if (found is null)
        {
            throw new FileNotFoundException(
                $"bicep {Version} was not found. It is restored by `dotnet restore tests/Attribution.Infra.Tests` "
                + $"(PackageDownload {PackageId}). Looked at:\n  " + string.Join("\n  ", candidates));
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(found);
            if ((mode & UnixFileMode.UserExecute) == 0)
            {
                File.SetUnixFileMode(found, mode | UnixFileMode.UserExecute);
            }
        }

        return found;
    }

    public static BicepRun Run(params string[] args)
    {
        var start = new ProcessStartInfo(Locate())
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)
            ?? throw new InvalidOperationException("bicep did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', args)} ran for more than 3 minutes");
        }

        process.WaitForExit();
        return new BicepRun(string.Join(' ', args), process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static string? Metadata(string key) =>
        typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == key && !string.IsNullOrWhiteSpace(a.Value))?.Value;
}
