using Attribution.Core.LocalDev;
using Attribution.Core.Storage;

namespace Attribution.Cli;

/// <summary>
/// The storage the CLI talks to: --storage, else ATTRIBUTION_STORAGE, else the embedded Azurite
/// (reused when one already listens on the default ports; data under .azurite/).
/// </summary>
internal sealed class CliStorage : IAsyncDisposable
{
    private readonly AzuriteHost? _azurite;

    private CliStorage(StorageAccount account, AzuriteHost? azurite, string description)
    {
        Account = account;
        _azurite = azurite;
        Description = description;
    }

    public StorageAccount Account { get; }
    public string Description { get; }

    public static async Task<CliStorage> OpenAsync(string? connectionString, CancellationToken cancellationToken)
    {
        connectionString ??= Environment.GetEnvironmentVariable("ATTRIBUTION_STORAGE");
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            var account = StorageAccount.FromConnectionString(connectionString);
            return new CliStorage(account, null, "the given storage account");
        }
        var root = AzuriteHost.FindRepositoryRoot() ?? throw new CliException(
            "No storage given and no repository found for the embedded Azurite: pass --storage CONN or set ATTRIBUTION_STORAGE.");
        var host = await AzuriteHost.StartAsync(AzuriteHostOptions.Default(root), cancellationToken).ConfigureAwait(false);
        return new CliStorage(StorageAccount.FromConnectionString(host.ConnectionString), host,
            host.StartedHere ? "embedded Azurite (data in .azurite/)" : "Azurite already listening on 127.0.0.1:10000-10002");
    }

    public async ValueTask DisposeAsync()
    {
        if (_azurite is not null) await _azurite.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>A failure to report to the user without a stack trace (exit code 1, or 2 for bad usage).</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int BadUsage = 2;
}
