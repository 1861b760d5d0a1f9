using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;
using Attribution.Functions.Tests.Recalculation;
using Attribution.Testing;

namespace Attribution.Functions.Tests.Api;

/// <summary>A real Azurite holding the shipped samples, recalculated and published by the real orchestrator.</summary>
public sealed class PublishedSamplesFixture : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite = new();

    public StorageAccount Storage => _azurite.Storage;
    public RecalculationOutcome Outcome { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _azurite.InitializeAsync();
        await RecalculationHarness.LoadAsync(Storage, syntheticTenants: 40);
        await using var host = await RecalculationHarness.HostAsync(Storage);
        Outcome = await RecalculationHarness.RecalculateAsync(host, RecalculationHarness.AsOf);
    }

    public Task DisposeAsync() => _azurite.DisposeAsync();
}
