using Attribution.Core.Storage;
using Attribution.Local;
using Xunit;

namespace Attribution.Testing;

/// <summary>
/// A real Azurite storage account for one test class: its own account (containers, tables, queues) on an emulator
/// this test process shares between classes, so classes never see each other's data. A node emulator costs about a
/// second of CPU to start; one per class was ~40 starts a run. A test that stops storage starts its own AzuriteHost.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = null!;

    public StorageAccount Storage { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ConnectionString = await SharedEmulator.NextAccountAsync();
        Storage = StorageAccount.FromConnectionString(ConnectionString);
        await Storage.EnsureCreatedAsync();
    }

    /// <summary>A fresh client over the same account (own caches, as another process would have).</summary>
    public StorageAccount NewStorage() => StorageAccount.FromConnectionString(ConnectionString);

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>In-memory emulators of this test process, each serving a batch of accounts handed out one per fixture.</summary>
internal static class SharedEmulator
{
    private const int AccountsPerEmulator = 32;
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static readonly List<AzuriteHost> Started = [];
    private static AzuriteHost? _current;
    private static int _handedOut = AccountsPerEmulator;
    private static int _batch;

    public static async Task<string> NextAccountAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_handedOut == AccountsPerEmulator)
            {
                _batch++;
                var batch = _batch;
                var accounts = Enumerable.Range(0, AccountsPerEmulator).Select(i => AccountName(batch, i)).ToArray();
                _current = await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true, Accounts = accounts });
                if (Started.Count == 0) AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAll();
                Started.Add(_current);
                _handedOut = 0;
            }
            return _current!.ConnectionStringFor(AccountName(_batch, _handedOut++));
        }
        finally
        {
            Gate.Release();
        }
    }

    private static string AccountName(int batch, int index) => $"tests{batch:D2}c{index:D2}";

    /// <summary>The emulators are node processes: stop them with the test process, or they outlive it.</summary>
    private static void StopAll()
    {
        foreach (var host in Started) host.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
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
