using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Attribution.Pipeline.Storage;
using Attribution.Local;

namespace Attribution.Cli;

/// <summary>
/// The embedded Azurite of one checkout: its data under `.azurite/` and its own ports, recorded in
/// `.azurite/ports.json` with a token that is also stored inside the emulator. An emulator found listening on those
/// ports is reused only when it holds the token (this checkout's, started by another command still running);
/// anything else there — another checkout's emulator, another program — is left alone and new ports are taken.
/// </summary>
internal static class CheckoutEmulator
{
    /// <summary>Overrides the data folder (default `{repository}/.azurite`).</summary>
    public const string DataFolderVariable = "ATTRIBUTION_EMULATOR_DIR";

    private const string MarkerContainer = "attribution-checkout";
    private const string MarkerBlob = "owner";

    private sealed record Ports(int Blob, int Queue, int Table, string Token);

    public static async Task<(AzuriteHost Host, string Description)> StartAsync(string repositoryRoot, CancellationToken cancellationToken)
    {
        var folder = Environment.GetEnvironmentVariable(DataFolderVariable) is { Length: > 0 } custom ? Path.GetFullPath(custom) : Path.Combine(repositoryRoot, ".azurite");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "ports.json");
        var recorded = Read(file);
        var ports = recorded ?? NewPorts(Guid.NewGuid().ToString("N"));
        string? note = null;

        if (await AnyListeningAsync(ports))
        {
            if (await IsOursAsync(ports, cancellationToken))
            {
                var reused = await AzuriteHost.StartAsync(Options(folder, ports, reuse: true), cancellationToken);
                return (reused, $"this checkout's embedded Azurite, already running on {Describe(ports)} (data in {folder})");
            }
            var taken = ports;
            ports = NewPorts(ports.Token);
            note = $"; {Describe(taken)} was taken by something else, so it moved";
        }
        if (ports != recorded) await File.WriteAllTextAsync(file, JsonSerializer.Serialize(ports), cancellationToken);

        var host = await AzuriteHost.StartAsync(Options(folder, ports, reuse: false), cancellationToken);
        await MarkAsync(host, ports.Token, cancellationToken);
        return (host, $"this checkout's embedded Azurite on {Describe(ports)} (data in {folder}{note})");
    }

    private static AzuriteHostOptions Options(string folder, Ports ports, bool reuse) => new()
    {
        Location = folder,
        BlobPort = ports.Blob,
        QueuePort = ports.Queue,
        TablePort = ports.Table,
        ReuseIfListening = reuse,
    };

    private static Ports? Read(string file)
    {
        try
        {
            return File.Exists(file) ? JsonSerializer.Deserialize<Ports>(File.ReadAllText(file)) is { Blob: > 0, Queue: > 0, Table: > 0, Token.Length: > 0 } p ? p : null : null;
        }
        catch (JsonException)
        {
            return null; // a damaged file: start over with new ports
        }
    }

    private static string Describe(Ports p) => $"127.0.0.1 ports {p.Blob} (blob), {p.Queue} (queue), {p.Table} (table)";

    private static Ports NewPorts(string token) => new(FreePort(), FreePort(), FreePort(), token);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<bool> AnyListeningAsync(Ports ports)
    {
        foreach (var port in new[] { ports.Blob, ports.Queue, ports.Table })
        {
            using var client = new TcpClient();
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
                return true;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // not listening
            }
        }
        return false;
    }

    /// <summary>Whether the emulator on these ports holds this checkout's token.</summary>
    private static async Task<bool> IsOursAsync(Ports ports, CancellationToken cancellationToken)
    {
        try
        {
            var account = StorageAccount.FromConnectionString(StorageAccount.AzuriteConnectionString("127.0.0.1", ports.Blob, ports.Queue, ports.Table), maxRetries: 0, giveUpAfter: TimeSpan.FromSeconds(2));
            var blob = account.Blobs.GetBlobContainerClient(MarkerContainer).GetBlobClient(MarkerBlob);
            var content = await blob.DownloadContentAsync(cancellationToken);
            return content.Value.Content.ToString() == ports.Token;
        }
        catch (Exception e) when (e is Azure.RequestFailedException or AggregateException or HttpRequestException or FormatException)
        {
            return false; // not Azurite, not answering, or not ours
        }
    }

    private static async Task MarkAsync(AzuriteHost host, string token, CancellationToken cancellationToken)
    {
        var account = StorageAccount.FromConnectionString(host.ConnectionString);
        var container = account.Blobs.GetBlobContainerClient(MarkerContainer);
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await container.GetBlobClient(MarkerBlob).UploadAsync(BinaryData.FromString(token), overwrite: true, cancellationToken);
    }
}
