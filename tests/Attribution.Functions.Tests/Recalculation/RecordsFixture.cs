using Attribution.Pipeline.Storage;
using Attribution.Testing;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>
/// A real Azurite for one test class holding the shipped samples plus synthetic tenants, ingested once for the class
/// (not before every test): tests then recalculate, restate and publish on top of it as a user would.
/// </summary>
public class RecordsFixture : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite = new();
    private readonly int _syntheticTenants;

    public RecordsFixture() : this(60) { }

    protected RecordsFixture(int syntheticTenants) => _syntheticTenants = syntheticTenants;

    public StorageAccount Storage => _azurite.Storage;

    public string ConnectionString => _azurite.ConnectionString;

    /// <summary>A fresh client over the same account (own caches, as another process would have).</summary>
    public StorageAccount NewStorage() => _azurite.NewStorage();

    public async Task InitializeAsync()
    {
        await _azurite.InitializeAsync();
        await RecalculationHarness.LoadAsync(Storage, _syntheticTenants);
    }

    public Task DisposeAsync() => _azurite.DisposeAsync();
}

/// <summary>The same with 20 synthetic tenants, for tests that page or compare runs and need less data.</summary>
public sealed class SmallRecordsFixture() : RecordsFixture(20);
