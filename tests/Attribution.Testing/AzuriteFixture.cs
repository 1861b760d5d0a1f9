using Attribution.Pipeline.Storage;
using Attribution.Local;
using Xunit;

namespace Attribution.Testing;

/// <summary>
/// A real Azurite storage account for one test class: its own account (containers, tables, queues) on an emulator
/// of this test process that serves one class at a time and several in turn, so classes never see each other's data.
/// A node emulator costs about a second of CPU to start; one per class was ~40 starts a run. A test that stops
/// storage starts its own AzuriteHost.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private SharedEmulator.Lease? _lease;

    public string ConnectionString { get; private set; } = null!;

    public StorageAccount Storage { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _lease = await SharedEmulator.AcquireAsync();
        ConnectionString = _lease.ConnectionString;
        Storage = StorageAccount.FromConnectionString(ConnectionString);
        await Storage.EnsureCreatedAsync();
    }

    /// <summary>A fresh client over the same account (own caches, as another process would have).</summary>
    public StorageAccount NewStorage() => StorageAccount.FromConnectionString(ConnectionString);

    public Task DisposeAsync()
    {
        _lease?.Release();
        return Task.CompletedTask;
    }
}

/// <summary>
/// In-memory emulators of this test process. Each serves one class at a time (a node process is one core, and
/// classes run side by side) and at most <see cref="AccountsPerEmulator"/> in turn: the emulator's blob index is one
/// collection for all its accounts, so listing slows as earlier classes' blobs pile up in it.
/// </summary>
internal static class SharedEmulator
{
    private const int AccountsPerEmulator = 6;
    private static readonly object Gate = new();
    private static readonly List<Emulator> Started = [];
    private static bool _exitHooked;

    public sealed class Lease(Emulator emulator, string connectionString)
    {
        public string ConnectionString { get; } = connectionString;

        public void Release()
        {
            lock (Gate) emulator.Active--;
        }
    }

    public sealed class Emulator(Task<AzuriteHost> host, int index)
    {
        public Task<AzuriteHost> Host { get; } = host;
        public int Index { get; } = index;
        public int Active { get; set; }
        public int HandedOut { get; set; }
    }

    public static async Task<Lease> AcquireAsync()
    {
        Emulator chosen;
        int account;
        lock (Gate)
        {
            chosen = Started.FirstOrDefault(e => e.Active == 0 && e.HandedOut < AccountsPerEmulator && !e.Host.IsFaulted)
                ?? Start(Started.Count);
            chosen.Active++;
            account = chosen.HandedOut++;
        }
        var host = await chosen.Host;
        return new Lease(chosen, host.ConnectionStringFor(AccountName(chosen.Index, account)));
    }

    private static Emulator Start(int index)
    {
        if (!_exitHooked)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAll();
            _exitHooked = true;
        }
        var accounts = Enumerable.Range(0, AccountsPerEmulator).Select(i => AccountName(index, i)).ToArray();
        var emulator = new Emulator(AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true, Accounts = accounts }), index);
        Started.Add(emulator);
        return emulator;
    }

    private static string AccountName(int emulator, int index) => $"tests{emulator:D3}c{index:D2}";

    /// <summary>The emulators are node processes: stop them with the test process, or they outlive it.</summary>
    private static void StopAll()
    {
        foreach (var e in Started)
        {
            if (e.Host.IsCompletedSuccessfully) e.Host.Result.Kill();
        }
    }
}

/// <summary>Paths of the repository and a scratch folder per test.</summary>
public static class TestPaths
{
    public static string RepositoryRoot { get; } = AzuriteHost.FindRepositoryRoot()
        ?? throw new InvalidOperationException("Repository root not found.");

    public static string Samples => Path.Combine(RepositoryRoot, "samples", "feeds");

    /// <summary>
    /// A copy of the samples without the designation partners' files (`*-designations.csv`, their partner rows kept):
    /// the nine original partners only, for tests whose figures are those of the competency samples alone.
    /// </summary>
    public static string CompetencySamples()
    {
        var dir = NewTempDirectory();
        foreach (var file in Directory.EnumerateFiles(Samples, "*", SearchOption.AllDirectories))
        {
            if (file.EndsWith("-designations.csv", StringComparison.Ordinal)) continue;
            var target = Path.Combine(dir, Path.GetRelativePath(Samples, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return dir;
    }

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
