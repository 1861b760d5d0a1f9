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

/// <summary>
/// In-memory emulators of this test process, each serving a batch of accounts handed out one per fixture. Two of them,
/// taken in turn: xunit runs two classes at once, and one node process is one core.
/// </summary>
internal static class SharedEmulator
{
    private const int AccountsPerEmulator = 32;
    private const int Emulators = 2;
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static readonly List<AzuriteHost> Started = [];
    private static int _handedOut;

    public static async Task<string> NextAccountAsync()
    {
        await Gate.WaitAsync();
        try
        {
            var n = _handedOut++;
            var emulator = n % Emulators + n / (Emulators * AccountsPerEmulator) * Emulators;
            var account = n / Emulators % AccountsPerEmulator;
            while (Started.Count <= emulator)
            {
                var index = Started.Count;
                var accounts = Enumerable.Range(0, AccountsPerEmulator).Select(i => AccountName(index, i)).ToArray();
                if (Started.Count == 0) AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAll();
                Started.Add(await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true, Accounts = accounts }));
            }
            return Started[emulator].ConnectionStringFor(AccountName(emulator, account));
        }
        finally
        {
            Gate.Release();
        }
    }

    private static string AccountName(int emulator, int index) => $"tests{emulator:D2}c{index:D2}";

    /// <summary>The emulators are node processes: stop them with the test process, or they outlive it.</summary>
    private static void StopAll()
    {
        foreach (var host in Started) host.Kill();
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
