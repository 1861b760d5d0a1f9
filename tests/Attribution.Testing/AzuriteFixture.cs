using Attribution.Core.Storage;
using Attribution.Local;
using Xunit;

namespace Attribution.Testing;

/// <summary>
/// A real Azurite, started for one test class (in memory, on free ports) so classes never see each other's data
/// and a test may stop it to make storage fail.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteHost? _host;

    public AzuriteHost Host => _host ?? throw new InvalidOperationException("Azurite is not started.");

    public string ConnectionString => Host.ConnectionString;

    public StorageAccount Storage { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _host = await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true });
        Storage = StorageAccount.FromConnectionString(ConnectionString);
        await Storage.EnsureCreatedAsync();
    }

    /// <summary>A fresh client over the same account (own caches, as another process would have).</summary>
    public StorageAccount NewStorage() => StorageAccount.FromConnectionString(ConnectionString);

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }
}

/// <summary>Paths of the repository and a scratch folder per test.</summary>
public static class TestPaths
{
    public static string RepositoryRoot { get; } = AzuriteHost.FindRepositoryRoot()
        ?? throw new InvalidOperationException("Repository root not found.");

    public static string Samples => Path.Combine(RepositoryRoot, "samples", "feeds");

    public static string NewTempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "attribution-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Writes a feed file under {dir}/{source}/{name} and returns its path.</summary>
    public static string WriteFeed(string dir, string source, string name, string content)
    {
        var folder = Path.Combine(dir, source);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, content);
        return path;
    }
}
