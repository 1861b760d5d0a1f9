using System.CommandLine;
using Attribution.Pipeline.Hosting;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;
using Attribution.Local;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attribution.Cli;

/// <summary>
/// The storage the CLI talks to: --storage, else ATTRIBUTION_STORAGE, else the embedded Azurite
/// (reused when one already listens on the default ports; data under .azurite/).
/// </summary>
internal sealed class CliStorage : IAsyncDisposable
{
    private readonly AzuriteHost? _azurite;
    private readonly ServiceProvider _services;

    private CliStorage(string connectionString, TimeSpan giveUpAfter, AzuriteHost? azurite, Func<StorageAccount, string> description)
    {
        _services = Compose(connectionString, giveUpAfter, Commands.Context.Value?.Logs ?? NullLoggerFactory.Instance);
        Account = _services.GetRequiredService<StorageAccount>();
        _azurite = azurite;
        Description = description(Account);
    }

    /// <summary>
    /// The composition root the function app uses, over this connection: the CLI's logger factory (stderr with
    /// --verbose) and its storage timeout; every store and reader once per command.
    /// </summary>
    private static ServiceProvider Compose(string connectionString, TimeSpan giveUpAfter, ILoggerFactory logs)
    {
        // The recalculation's fan-out settings come from the environment, as the app reads them from its settings.
        var settings = new Dictionary<string, string?> { [AttributionServices.StorageConnection] = connectionString };
        foreach (var name in new[] { RecalculationSettings.ShardsSetting, RecalculationSettings.ReduceRangesSetting, RecalculationSettings.PublishRangesSetting, RecalculationSettings.HistoryRetentionSetting })
            settings[name] = Environment.GetEnvironmentVariable(name);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection()
            .AddSingleton(logs)
            .AddAttribution(configuration)
            .Configure<StorageConnectionOptions>(o => o.GiveUpAfter = giveUpAfter)
            .BuildServiceProvider();
        services.ValidateOnStart();
        return services;
    }

    public StorageAccount Account { get; }
    public string Description { get; }

    /// <summary>The pipeline's services over this storage.</summary>
    public IServiceProvider Services => _services;

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

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
            try
            {
                StorageAccount.FromConnectionString(connectionString); // says what is wrong with it, naming the option
            }
            catch (FormatException e)
            {
                throw new CliException($"{origin} is {e.Message}", ExitCodes.BadUsage);
            }
            storage = new CliStorage(connectionString, giveUpAfter, null, account => $"{account.Endpoints}, given by {origin}");
        }
        else
        {
            var root = AzuriteHost.FindRepositoryRoot() ?? throw new CliException(
                "No storage given and no repository found for the embedded Azurite: pass --storage CONN or set ATTRIBUTION_STORAGE.");
            var (host, description) = await CheckoutEmulator.StartAsync(root, cancellationToken);
            storage = new CliStorage(host.ConnectionString, giveUpAfter, host, _ => description);
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
        await _services.DisposeAsync();
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
