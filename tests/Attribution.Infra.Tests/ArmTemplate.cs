using System.Text.Json.Nodes;

namespace Attribution.Infra.Tests;

/// <summary>One resource of a compiled ARM template, at any nesting depth.</summary>
/// <param name="Node">The resource's JSON (mutable: tests flip properties on a copy).</param>
/// <param name="Template">The template that declares it (its variables resolve its expressions).</param>
/// <param name="Depth">0 for the subscription-level main template, 1 for a module, and so on.</param>
/// <param name="Module">The deployment (module) name the resource is declared in; "" at depth 0.</param>
public sealed record ArmResource(JsonObject Node, JsonObject Template, int Depth, string Module)
{
    public string Type => (string?)Node["type"] ?? "";

    public string Name => (string?)Node["name"] ?? "";

    public JsonObject Properties => Node["properties"] as JsonObject ?? [];

    public bool IsExisting => Node["existing"] is JsonValue v && v.TryGetValue(out bool b) && b;

    public bool Is(string type) => string.Equals(Type, type, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => $"{Type} '{Name}' (module '{Module}', depth {Depth})";
}

/// <summary>Walks a compiled template, descending into module deployments (nested templates).</summary>
public static class ArmTemplate
{
    public const string DeploymentType = "Microsoft.Resources/deployments";

    public static IReadOnlyList<ArmResource> Resources(JsonObject template)
    {
        var list = new List<ArmResource>();
        Walk(template, 0, "", list);
        return list;
    }

    public static IEnumerable<ArmResource> OfType(JsonObject template, string type) =>
        Resources(template).Where(r => r.Is(type) && !r.IsExisting);

    /// <summary>Resources as an array (languageVersion 1) or as an object keyed by symbolic name (2.0).</summary>
    public static IEnumerable<JsonObject> DeclaredResources(JsonObject template) =>
        template["resources"] switch
        {
            JsonArray array => array.OfType<JsonObject>(),
            JsonObject byName => byName.Select(p => p.Value).OfType<JsonObject>(),
            _ => [],
        };

    /// <summary>The module deployment with this name declared directly in <paramref name="template"/>.</summary>
    public static JsonObject Module(JsonObject template, string name) =>
        DeclaredResources(template).FirstOrDefault(r =>
            string.Equals((string?)r["type"], DeploymentType, StringComparison.OrdinalIgnoreCase)
            && string.Equals((string?)r["name"], name, StringComparison.Ordinal))
        ?? throw new InvalidOperationException($"No module deployment named '{name}' in the template.");

    private static void Walk(JsonObject template, int depth, string module, List<ArmResource> into)
    {
        foreach (var resource in DeclaredResources(template))
        {
            var item = new ArmResource(resource, template, depth, module);
            into.Add(item);
            if (item.Is(DeploymentType) && resource["properties"]?["template"] is JsonObject nested)
            {
                Walk(nested, depth + 1, item.Name, into);
            }
        }
    }
}
