using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Attribution.Pipeline.Ingestion;
using Attribution.Local;

namespace Attribution.Pipeline.Tests;

/// <summary>
/// The function app deploys Attribution.Pipeline, so the pipeline ships no dev tooling: no Service Bus SDK (hosts adapt their
/// messages to <see cref="FeedMessage"/>), and no process management (the emulator, the generator and the local Durable
/// Task host live in Attribution.Local). Read from the compiled assembly, so it fails whatever way such code comes back.
/// </summary>
public sealed class PipelineAssemblyTests
{
    private static readonly Assembly Pipeline = typeof(FeedMessageHandler).Assembly;

    /// <summary>The (namespace, name) of every type the assembly's metadata refers to in another assembly.</summary>
    private static List<(string Namespace, string Name)> TypeReferences(Assembly assembly)
    {
        using var file = File.OpenRead(assembly.Location);
        using var pe = new PEReader(file);
        var reader = pe.GetMetadataReader();
        return
        [
            .. reader.TypeReferences.Select(handle => reader.GetTypeReference(handle))
                .Select(type => (reader.GetString(type.Namespace), reader.GetString(type.Name))),
        ];
    }

    private static bool IsProcessType((string Namespace, string Name) type) =>
        type is ("System.Diagnostics", "Process" or "ProcessStartInfo");

    [Fact]
    public void The_pipeline_references_no_Service_Bus_SDK_and_no_local_hosting()
    {
        var referenced = Pipeline.GetReferencedAssemblies().Select(a => a.Name).ToList();

        Assert.Contains("Azure.Data.Tables", referenced); // the list is the real one
        Assert.DoesNotContain("Azure.Messaging.ServiceBus", referenced);
        Assert.DoesNotContain("Attribution.Local", referenced);
        Assert.DoesNotContain("DurableTask.AzureStorage", referenced);
        Assert.DoesNotContain(referenced, name => name!.StartsWith("Microsoft.Azure.Functions.Worker", StringComparison.Ordinal));
        // Dependencies point one way: domain ← pipeline ← hosts.
        Assert.Contains("Attribution.Domain", referenced);
        Assert.DoesNotContain("Attribution.Functions", referenced);
        Assert.DoesNotContain("attribution", referenced); // the CLI
    }

    [Fact]
    public void No_type_in_the_pipeline_starts_or_manages_a_process()
    {
        var offending = TypeReferences(Pipeline).Where(IsProcessType).Select(t => t.Namespace + "." + t.Name).Distinct().ToList();

        Assert.True(offending.Count == 0,
            $"Attribution.Pipeline refers to {string.Join(", ", offending)}: process management belongs in Attribution.Local, which the function app does not deploy.");
    }

    [Fact]
    public void The_process_check_finds_the_emulator_host_where_it_lives()
    {
        // The same reading of Attribution.Local, which does spawn node: the check above is not vacuous.
        var local = TypeReferences(typeof(AzuriteHost).Assembly);

        Assert.Contains(("System.Diagnostics", "Process"), local);
        Assert.Contains(("System.Diagnostics", "ProcessStartInfo"), local);
    }
}
