using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Attribution.Pipeline.Storage;

namespace Attribution.Local;

public sealed record AzuriteHostOptions
{
    /// <summary>Data folder; null with <see cref="InMemory"/>.</summary>
    public string? Location { get; init; }

    public bool InMemory { get; init; }

    /// <summary>0 picks a free port.</summary>
    public int BlobPort { get; init; }
    public int QueuePort { get; init; }
    public int TablePort { get; init; }

    /// <summary>Use an emulator already listening on the requested ports instead of starting one.</summary>
    public bool ReuseIfListening { get; init; }

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Further accounts the emulator serves beside its development account, all with the development key (each has its
    /// own containers, tables and queues: one emulator can keep several users' data apart).
    /// </summary>
    public IReadOnlyList<string> Accounts { get; init; } = [];
}

/// <summary>
/// Runs the Azurite emulator pinned in the repository's package.json (installed from the lockfile when absent),
/// for the CLI and the tests. Started with --skipApiVersionCheck --loose so current SDKs talk to it.
/// </summary>
public sealed class AzuriteHost : IAsyncDisposable
{
    private readonly AzuriteHostOptions _options;
    private readonly string? _root;
    private Process? _process;
    private readonly List<string> _output = [];

    private AzuriteHost(AzuriteHostOptions options, string? root, int blob, int queue, int table)
    {
        _options = options;
        _root = root;
        BlobPort = blob;
        QueuePort = queue;
        TablePort = table;
    }

    public int BlobPort { get; }
    public int QueuePort { get; }
    public int TablePort { get; }

    /// <summary>False when an emulator that was already listening is being reused.</summary>
    public bool StartedHere => _process is not null;

    public string ConnectionString => StorageAccount.AzuriteConnectionString("127.0.0.1", BlobPort, QueuePort, TablePort);

    /// <summary>The connection string of one of <see cref="AzuriteHostOptions.Accounts"/>.</summary>
    public string ConnectionStringFor(string account) =>
        _options.Accounts.Contains(account, StringComparer.Ordinal)
            ? StorageAccount.AzuriteConnectionString("127.0.0.1", BlobPort, QueuePort, TablePort, account)
            : throw new ArgumentException($"The emulator was not started with account '{account}'.", nameof(account));

    public static async Task<AzuriteHost> StartAsync(AzuriteHostOptions options, CancellationToken cancellationToken = default)
    {
        if (options.ReuseIfListening && options.BlobPort > 0 && await AllListeningAsync([options.BlobPort, options.QueuePort, options.TablePort]))
            return new AzuriteHost(options, null, options.BlobPort, options.QueuePort, options.TablePort);

        var root = FindRepositoryRoot() ?? throw new InvalidOperationException(
            "Cannot find the repository's package.json (with azurite) to run the embedded storage emulator. " +
            "Run from the repository, set ATTRIBUTION_REPO_ROOT, or pass --storage / ATTRIBUTION_STORAGE.");
        await EnsureInstalledAsync(root, cancellationToken);
        var anyChosen = options.BlobPort <= 0 || options.QueuePort <= 0 || options.TablePort <= 0;
        for (var attempt = 1; ; attempt++)
        {
            var host = new AzuriteHost(options, root,
                options.BlobPort > 0 ? options.BlobPort : FreePort(),
                options.QueuePort > 0 ? options.QueuePort : FreePort(),
                options.TablePort > 0 ? options.TablePort : FreePort());
            try
            {
                await host.StartProcessAsync(cancellationToken);
                return host;
            }
            catch (InvalidOperationException e) when (anyChosen && attempt < 5 && e.Message.Contains("EADDRINUSE", StringComparison.Ordinal))
            {
                // A free port is only free until someone binds it: another emulator starting at the same moment (tests
                // start one per class, in parallel) took it between our check and Azurite's bind. Pick again.
                await host.StopAsync();
            }
        }
    }

    /// <summary>Stops the emulator (tests use this to make storage fail) and starts it again on the same ports.</summary>
    public async Task StopAsync()
    {
        var p = _process;
        if (p is null) return;
        _process = null;
        if (!p.HasExited)
        {
            // SIGTERM lets Azurite flush its databases to the data folder. Its three services each say "successfully
            // closed" once their stores are closed (saved); the process itself can linger after that (up to the 15 s
            // we allow), so once all three have said it, nothing is left to lose and it is ended.
            var closed = _closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _closedServices = 0;
            if (!OperatingSystem.IsWindows()) _ = SendSignal(p.Id, 15);
            else p.Kill(entireProcessTree: true);
            var exited = p.WaitForExitAsync();
            await Task.WhenAny(exited, closed.Task, Task.Delay(TimeSpan.FromSeconds(15)));
            if (!exited.IsCompleted)
            {
                Kill(p);
                await exited;
            }
        }
        p.Dispose();
    }

    /// <summary>Ends the emulator at once, from any thread (an exit handler): it has no time to flush, so for in-memory ones.</summary>
    public void Kill()
    {
        var p = _process;
        _process = null;
        if (p is null) return;
        Kill(p);
        p.Dispose();
    }

    private static void Kill(Process p)
    {
        try
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It ended on its own meanwhile.
        }
    }

    public Task RestartAsync(CancellationToken cancellationToken = default) => StartProcessAsync(cancellationToken);

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        if (_root is null) throw new InvalidOperationException("This Azurite was not started here.");
        var script = Path.Combine(_root, "node_modules", "azurite", "dist", "src", "azurite.js");
        var psi = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _root,
        };
        psi.ArgumentList.Add("--require");
        psi.ArgumentList.Add(ExitWithParentScript.Value);
        psi.ArgumentList.Add(script);
        foreach (var a in new[] { "--skipApiVersionCheck", "--loose", "--silent", "--disableProductStyleUrl", "--disableTelemetry" }) psi.ArgumentList.Add(a);
        foreach (var (flag, value) in new[]
                 {
                     ("--blobHost", "127.0.0.1"), ("--queueHost", "127.0.0.1"), ("--tableHost", "127.0.0.1"),
                     ("--blobPort", BlobPort.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                     ("--queuePort", QueuePort.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                     ("--tablePort", TablePort.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                 })
        {
            psi.ArgumentList.Add(flag);
            psi.ArgumentList.Add(value);
        }
        if (_options.Accounts.Count > 0)
        {
            psi.Environment["AZURITE_ACCOUNTS"] = string.Join(';',
                _options.Accounts.Prepend(StorageAccount.DevelopmentAccountName).Select(a => $"{a}:{StorageAccount.DevelopmentAccountKey}"));
        }
        if (_options.InMemory)
        {
            psi.ArgumentList.Add("--inMemoryPersistence");
        }
        else
        {
            var location = _options.Location ?? Path.Combine(Path.GetTempPath(), "attribution-azurite-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(location);
            psi.ArgumentList.Add("--location");
            psi.ArgumentList.Add(location);
        }

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("node did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("Node.js is required to run the embedded Azurite (install Node 20+), or pass --storage / ATTRIBUTION_STORAGE.", e);
        }
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = DateTime.UtcNow + _options.StartTimeout;
        while (!await AllListeningAsync([BlobPort, QueuePort, TablePort]))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"Azurite exited with code {process.ExitCode}: {string.Join(Environment.NewLine, Output())}");
            if (DateTime.UtcNow > deadline)
            {
                await StopAsync();
                throw new TimeoutException($"Azurite did not start listening within {_options.StartTimeout.TotalSeconds:0}s: {string.Join(Environment.NewLine, Output())}");
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>
    /// Preloaded into the emulator: its stdin is a pipe from this process, which closes when this process ends however
    /// it ends (killed, crashed), and then the emulator shuts down as on SIGTERM (stores saved) instead of living on
    /// as an orphan.
    /// </summary>
    private static readonly Lazy<string> ExitWithParentScript = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), "attribution-azurite-exit-with-parent-v2.js");
        const string Script = """
            // Written by Attribution.Local.AzuriteHost: end this emulator when the process that started it is gone.
            // As on SIGTERM (stores saved); then, should open sockets keep it alive, end it 30 s later.
            const end = () => { process.kill(process.pid, "SIGTERM"); setTimeout(() => process.exit(0), 30000).unref(); };
            process.stdin.on("end", end);
            process.stdin.on("error", end);
            process.stdin.resume();
            """;
        if (!File.Exists(path) || File.ReadAllText(path) != Script)
        {
            var temp = path + "." + Environment.ProcessId;
            File.WriteAllText(temp, Script);
            File.Move(temp, path, overwrite: true);
        }
        return path;
    });

    private TaskCompletionSource? _closed;
    private int _closedServices;

    private void Remember(string? line)
    {
        if (line is null) return;
        if (_closed is { } closed && line.Contains("service successfully closed", StringComparison.Ordinal) && Interlocked.Increment(ref _closedServices) == 3)
            closed.TrySetResult();
        lock (_output)
        {
            _output.Add(line);
            if (_output.Count > 50) _output.RemoveAt(0);
        }
    }

    private string[] Output()
    {
        lock (_output) return [.. _output];
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>The folder holding package.json with azurite: ATTRIBUTION_REPO_ROOT, or up from the app or working directory.</summary>
    public static string? FindRepositoryRoot()
    {
        if (Environment.GetEnvironmentVariable("ATTRIBUTION_REPO_ROOT") is { Length: > 0 } env && IsRoot(env)) return env;
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (IsRoot(dir.FullName)) return dir.FullName;
        }
        return null;
    }

    private static bool IsRoot(string dir)
    {
        var package = Path.Combine(dir, "package.json");
        return File.Exists(package) && File.ReadAllText(package).Contains("\"azurite\"", StringComparison.Ordinal);
    }

    /// <summary>Runs `npm ci` from the lockfile when the emulator is not installed; one process at a time.</summary>
    public static async Task EnsureInstalledAsync(string root, CancellationToken cancellationToken = default)
    {
        var script = Path.Combine(root, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (File.Exists(script)) return;
        var lockDir = Path.Combine(root, ".azurite");
        Directory.CreateDirectory(lockDir);
        using var gate = await AcquireFileLockAsync(Path.Combine(lockDir, "install.lock"), cancellationToken);
        if (File.Exists(script)) return;
        var psi = new ProcessStartInfo("npm", "ci --no-audit --no-fund --loglevel=error")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var npm = Process.Start(psi) ?? throw new InvalidOperationException("npm did not start.");
        var stderr = npm.StandardError.ReadToEndAsync(cancellationToken);
        _ = await npm.StandardOutput.ReadToEndAsync(cancellationToken);
        await npm.WaitForExitAsync(cancellationToken);
        if (npm.ExitCode != 0 || !File.Exists(script))
            throw new InvalidOperationException($"Installing Azurite with 'npm ci' in {root} failed (exit {npm.ExitCode}): {await stderr}");
    }

    private static async Task<FileStream> AcquireFileLockAsync(string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(250, cancellationToken);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<bool> AllListeningAsync(int[] ports)
    {
        foreach (var port in ports)
        {
            using var client = new TcpClient();
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                return false;
            }
        }
        return true;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
