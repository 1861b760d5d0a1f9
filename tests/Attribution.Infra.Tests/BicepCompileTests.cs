using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Attribution.Infra.Tests;

/// <summary>`bicep build` and `bicep lint` of infra/main.bicep: zero errors, zero warnings.</summary>
[Collection(BicepTests.Name)]
public sealed partial class BicepCompileTests(BicepFixture bicep)
{
    [Fact]
    public void Bicep_cli_is_the_pinned_package_version()
    {
        var run = BicepCli.Run("--version");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"Bicep CLI version {BicepCli.Version} ", run.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Main_bicep_builds_with_no_errors_and_no_warnings()
    {
        Assert.True(bicep.Build.ExitCode == 0, bicep.Build.ToString());
        Assert.True(bicep.Build.Diagnostics.Count == 0, bicep.Build.ToString());
        Assert.Equal("https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#", (string?)bicep.RequireTemplate()["$schema"]);
    }

    [Fact]
    public void Main_bicep_lints_with_no_errors_and_no_warnings()
    {
        Assert.True(bicep.Lint.ExitCode == 0, bicep.Lint.ToString());
        Assert.True(bicep.Lint.Diagnostics.Count == 0, bicep.Lint.ToString());
    }

    [Fact]
    public void Linter_rules_are_errors_so_that_they_fail_the_build()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Infra, "bicepconfig.json")))!;
        Assert.True((bool?)config["analyzers"]?["core"]?["enabled"] ?? false, "core analyzers must be enabled");
        var rules = config["analyzers"]?["core"]?["rules"]?.AsObject();
        Assert.NotNull(rules);
        Assert.Contains("no-hardcoded-env-urls", rules.Select(r => r.Key));
        Assert.Contains("outputs-should-not-contain-secrets", rules.Select(r => r.Key));
        foreach (var (rule, setting) in rules)
        {
            var level = (string?)setting?["level"];
            Assert.True(level is "error" or "warning", $"bicepconfig.json: rule {rule} has level '{level}'; only error or warning count in CI");
        }
    }

    [Fact]
    public void Modules_are_local_files_never_registry_references()
    {
        var files = Directory.GetFiles(RepoPaths.Infra, "*.bicep", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            foreach (Match module in ModuleReference().Matches(File.ReadAllText(file)))
            {
                var target = module.Groups["path"].Value;
                Assert.False(target.StartsWith("br:", StringComparison.Ordinal) || target.StartsWith("br/", StringComparison.Ordinal) || target.StartsWith("ts:", StringComparison.Ordinal) || target.StartsWith("ts/", StringComparison.Ordinal),
                    $"{Path.GetRelativePath(RepoPaths.Root, file)} uses the registry module '{target}'; only local modules can be compiled here");
                Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(file)!, target)), $"{file}: module file '{target}' does not exist");
            }
        }
    }

    [GeneratedRegex(@"^\s*module\s+\w+\s+'(?<path>[^']+)'", RegexOptions.Multiline)]
    private static partial Regex ModuleReference();
}
