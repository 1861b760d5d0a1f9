using System.Text.Json;
using Attribution.Testing;

namespace Attribution.Functions.Tests;

/// <summary>The functions.metadata the Functions SDK generated for this build of the app.</summary>
public static class FunctionMetadata
{
    /// <summary>Every declared function.</summary>
    public static JsonElement All()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Locate()));
        return doc.RootElement.Clone();
    }

    public static JsonElement Function(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Locate()));
        foreach (var f in doc.RootElement.EnumerateArray())
            if (f.GetProperty("name").GetString() == name) return f.Clone();
        throw new Xunit.Sdk.XunitException($"functions.metadata has no function '{name}'.");
    }

    public static JsonElement Binding(string function, string type) =>
        Function(function).GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == type);

    private static string Locate()
    {
        var local = Path.Combine(AppContext.BaseDirectory, "functions.metadata");
        if (File.Exists(local)) return local;
        // Same configuration as this test assembly (…/bin/{Configuration}/net10.0/).
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/', '\\')).Parent!.Parent!.Name;
        var built = Path.Combine(TestPaths.RepositoryRoot, "functions", "Attribution.Functions", "bin", configuration, "net10.0", "functions.metadata");
        return File.Exists(built) ? built : throw new FileNotFoundException("functions.metadata not found; build the function app first.", built);
    }
}
