using System.CommandLine;
using Attribution.Pipeline.Storage;
using Attribution.Local;

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

    public const string StorageVariable = "ATTRIBUTION_STORAGE";
    public const string TimeoutVariable = "ATTRIBUTION_STORAGE_TIMEOUT";

    /// <summary>Opens the storage a command names (--storage, ATTRIBUTION_STORAGE, else the embedded emulator) and checks it answers.</summary>
    public static async Task<CliStorage> OpenAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var giveUpAfter = GiveUpAfter(parse.GetValue(Commands.StorageTimeout));
        var (connectionString, origin) = parse.GetResult(Commands.Storage) is { Implicit: false }
            ? (parse.GetValue(Commands.Storage), "--storage")
            : (Environment.GetEnvironmentVariable(StorageVariable), StorageVariable);
        CliStorage storage;
        if (connectionString is not null)
        {
            // Set but empty is a mistake (an unexpanded variable, a lost secret), never "use the emulator".
            if (string.IsNullOrWhiteSpace(connectionString))
                throw new CliException($"{origin} is empty: give a storage connection string, or leave it unset to use the embedded emulator.", ExitCodes.BadUsage);
            StorageAccount account;
            try
            {
                account = StorageAccount.FromConnectionString(connectionString, giveUpAfter: giveUpAfter);
            }
            catch (FormatException e)
            {
                throw new CliException($"{origin} is {e.Message}", ExitCodes.BadUsage);
            }
            storage = new CliStorage(account, null, $"{account.Endpoints}, given by {origin}");
        }
        else
        {
            var root = AzuriteHost.FindRepositoryRoot() ?? throw new CliException(
                "No storage given and no repository found for the embedded Azurite: pass --storage CONN or set ATTRIBUTION_STORAGE.");
            var (host, description) = await CheckoutEmulator.StartAsync(root, cancellationToken);
            storage = new CliStorage(StorageAccount.FromConnectionString(host.ConnectionString, giveUpAfter: giveUpAfter), host, description);
        }
        if (Commands.Context.Value is { } context)
        {
            context.StorageEndpoints = storage.Account.Endpoints;
            // Always said, on stderr (so --json output stays one document): which data a command reads and writes.
            await context.Error.WriteLineAsync($"storage: {storage.Description}");
        }
        try
        {
            // Fail here, in bounded time and with the endpoint named, rather than deep inside the command.
            await storage.Account.EnsureCreatedAsync().WaitAsync(cancellationToken);
        }
        catch (Exception e) when (CliFailure.StorageProblem(e) is { } problem)
        {
            await storage.DisposeAsync();
            throw new CliException(
                string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"storage at {storage.Account.Endpoints} failed: {problem}; gave up after {giveUpAfter.TotalSeconds} s (--storage-timeout or {TimeoutVariable} sets how long to retry)."));
        }
        return storage;
    }

    /// <summary>--storage-timeout, else ATTRIBUTION_STORAGE_TIMEOUT, else the default (30 s).</summary>
    public static TimeSpan GiveUpAfter(int? option)
    {
        if (option is { } seconds)
            return seconds is >= 1 and <= 3600 ? TimeSpan.FromSeconds(seconds)
                : throw new CliException("--storage-timeout takes 1 to 3600 seconds.", ExitCodes.BadUsage);
        var text = Environment.GetEnvironmentVariable(TimeoutVariable);
        if (string.IsNullOrWhiteSpace(text)) return StorageAccount.DefaultGiveUpAfter;
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var s) && s is >= 1 and <= 3600
            ? TimeSpan.FromSeconds(s)
            : throw new CliException($"{TimeoutVariable} '{text}' is not a number of seconds from 1 to 3600.", ExitCodes.BadUsage);
    }

    public async ValueTask DisposeAsync()
    {
        if (_azurite is not null) await _azurite.DisposeAsync();
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
