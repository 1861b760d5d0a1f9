using System.Reflection;
using Attribution.Pipeline.Hosting;
using Attribution.Testing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Attribution.Functions.Tests;

/// <summary>
/// The function app's classes are built by the worker from the app's one registration (Program.cs: AddAttribution):
/// every class that declares a function resolves from it, so a dependency nobody registered fails here, not at the
/// first trigger in Azure.
/// </summary>
public sealed class CompositionRootTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly Type[] FunctionClasses = typeof(Attribution.Functions.IngestFeedBlob).Assembly.GetTypes()
        .Where(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static).Any(m => m.GetCustomAttribute<FunctionAttribute>() is not null))
        .OrderBy(t => t.FullName, StringComparer.Ordinal)
        .ToArray();

    [Fact]
    public void Every_class_that_declares_a_function_is_built_from_the_apps_registration()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [AttributionServices.StorageConnection] = azurite.ConnectionString })
            .Build();
        var services = new ServiceCollection().AddAttribution(configuration);
        services.AddAttributionTelemetry(configuration);
        using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        provider.ValidateOnStart();

        Assert.True(FunctionClasses.Length >= 8, string.Join(", ", FunctionClasses.Select(t => t.Name))); // the list is the real one
        foreach (var type in FunctionClasses.Where(t => !t.IsAbstract || !t.IsSealed)) // static classes need no instance
            Assert.NotNull(ActivatorUtilities.CreateInstance(provider, type));
    }
}
