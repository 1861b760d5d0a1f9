using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Attribution.Infra.Tests;

/// <summary>azure.yaml, infra/main.parameters.json and the postdeploy hooks agree with the template.</summary>
[Collection(BicepTests.Name)]
public sealed partial class DeploymentConfigTests(BicepFixture bicep)
{
    private static readonly string AzureYaml = File.ReadAllText(RepoPaths.Combine("azure.yaml"));

    [Fact]
    public void Azure_yaml_deploys_the_functions_project_as_a_function_app()
    {
        var project = Value("project");
        Assert.Equal("./functions/Attribution.Functions", project);
        Assert.True(File.Exists(RepoPaths.Combine("functions", "Attribution.Functions", "Attribution.Functions.csproj")));
        Assert.Equal("dotnet", Value("language"));
        Assert.Equal("function", Value("host"));
        Assert.Matches(@"(?m)^  functions:\s*$", AzureYaml);
    }

    [Fact]
    public void Azure_yaml_builds_the_deployed_package_with_the_service_bus_trigger()
    {
        // Service-level env reaches `dotnet publish`, where MSBuild reads it as a property.
        Assert.Matches(@"(?m)^    env:\s*\n(\s{6}\S.*\n)*?\s{6}EnableServiceBusTrigger:\s*""true""\s*$", AzureYaml);
    }

    [Fact]
    public void Azure_yaml_runs_the_postdeploy_hooks_that_exist()
    {
        foreach (Match run in HookRun().Matches(AzureYaml))
        {
            var path = RepoPaths.Combine(run.Groups["path"].Value.TrimStart('.', '/').Split('/'));
            Assert.True(File.Exists(path), $"azure.yaml runs {run.Groups["path"].Value}, which does not exist");
        }

        Assert.Contains("./infra/hooks/postdeploy.sh", AzureYaml, StringComparison.Ordinal);
        Assert.Contains("./infra/hooks/postdeploy.ps1", AzureYaml, StringComparison.Ordinal);
    }

    [Fact]
    public void Parameters_file_uses_azd_variables_and_names_only_real_parameters()
    {
        var parameters = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Infra, "main.parameters.json")))!["parameters"]!.AsObject();
        var declared = bicep.RequireTemplate()["parameters"]!.AsObject();
        foreach (var (name, _) in parameters)
        {
            Assert.True(declared.ContainsKey(name), $"main.parameters.json sets '{name}', which main.bicep does not declare");
        }

        Assert.Equal("${AZURE_ENV_NAME}", (string?)parameters["environmentName"]?["value"]);
        Assert.Equal("${AZURE_LOCATION}", (string?)parameters["location"]?["value"]);
        Assert.Equal("${AZURE_PRINCIPAL_ID}", (string?)parameters["principalId"]?["value"]);

        foreach (var (name, parameter) in declared)
        {
            var hasDefault = parameter!.AsObject().ContainsKey("defaultValue");
            Assert.True(hasDefault || parameters.ContainsKey(name), $"required parameter '{name}' is not set in main.parameters.json");
        }
    }

    [Fact]
    public void Hooks_read_only_variables_that_azd_or_the_template_outputs_provide()
    {
        var outputs = bicep.RequireTemplate()["outputs"]!.AsObject().Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        string[] fromAzd = ["AZURE_SUBSCRIPTION_ID", "AZURE_ENV_NAME"];
        foreach (var hook in new[] { "postdeploy.sh", "postdeploy.ps1" })
        {
            var text = File.ReadAllText(Path.Combine(RepoPaths.Infra, "hooks", hook));
            var used = EnvironmentReference().Matches(text).Select(m => m.Groups["name"].Value).Distinct().ToList();
            Assert.NotEmpty(used);
            foreach (var name in used)
            {
                Assert.True(outputs.Contains(name) || fromAzd.Contains(name), $"{hook} reads ${name}, which is neither an output of main.bicep nor set by azd");
            }
        }
    }

    [Fact]
    public void Postdeploy_subscribes_IngestFeedBlob_to_BlobCreated_in_feeds_only()
    {
        foreach (var hook in new[] { "postdeploy.sh", "postdeploy.ps1" })
        {
            var text = File.ReadAllText(Path.Combine(RepoPaths.Infra, "hooks", hook));
            Assert.Contains("--included-event-types Microsoft.Storage.BlobCreated", text, StringComparison.Ordinal);
            Assert.Contains("/blobServices/default/containers/$", text, StringComparison.Ordinal);
            Assert.Contains("/blobs/", text, StringComparison.Ordinal);
            Assert.True(text.Contains(":-feeds}", StringComparison.Ordinal) || text.Contains("'feeds'", StringComparison.Ordinal), $"{hook}: the container defaults to feeds");
            Assert.Contains("IngestFeedBlob", text, StringComparison.Ordinal);
            Assert.Contains("runtime/webhooks/blobs?functionName=Host.Functions.", text, StringComparison.Ordinal);
            Assert.Contains("blobs_extension", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Deploy_guide_exists_and_covers_the_essentials()
    {
        var doc = File.ReadAllText(RepoPaths.Combine("docs", "deploy.md"));
        foreach (var must in new[] { "azd up", "Prerequisites", "feeds/", "PartnerCredit", "--auth-mode login", "idle", "EnableServiceBusTrigger", "listKeys" })
        {
            Assert.Contains(must, doc, StringComparison.OrdinalIgnoreCase);
        }
    }

    private static string Value(string key)
    {
        var match = Regex.Match(AzureYaml, $@"(?m)^\s+{key}:\s*(?<v>\S+)\s*$");
        Assert.True(match.Success, $"azure.yaml has no '{key}:'");
        return match.Groups["v"].Value;
    }

    [GeneratedRegex(@"run:\s*(?<path>\./\S+)")]
    private static partial Regex HookRun();

    [GeneratedRegex(@"\$(?:\{|env:)(?<name>[A-Z][A-Z0-9_]+)")]
    private static partial Regex EnvironmentReference();
}
