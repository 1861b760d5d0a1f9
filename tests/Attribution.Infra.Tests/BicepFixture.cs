using System.Text.Json.Nodes;

namespace Attribution.Infra.Tests;

/// <summary>Compiles and lints infra/main.bicep once for every test in the collection.</summary>
public sealed class BicepFixture
{
    public BicepFixture()
    {
        Build = BicepCli.Run("build", "infra/main.bicep", "--stdout");
        Lint = BicepCli.Run("lint", "infra/main.bicep");
        if (Build.ExitCode == 0)
        {
            TemplateText = Build.StdOut;
            Template = JsonNode.Parse(Build.StdOut)!.AsObject();
        }
    }

    public BicepRun Build { get; }

    public BicepRun Lint { get; }

    /// <summary>The compiled ARM template (JSON text); empty when the build failed.</summary>
    public string TemplateText { get; } = "";

    public JsonObject? Template { get; }

    /// <summary>The compiled template; fails the calling test with bicep's output when it did not compile.</summary>
    public JsonObject RequireTemplate() =>
        Template ?? throw new InvalidOperationException("infra/main.bicep did not compile:\n" + Build);

    /// <summary>A private, mutable copy of the compiled template.</summary>
    public JsonObject CloneTemplate() => RequireTemplate().DeepClone().AsObject();
}

[CollectionDefinition(Name)]
public sealed class BicepTests : ICollectionFixture<BicepFixture>
{
    public const string Name = "bicep";
}
