using System.CommandLine;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Domain.Rules;

namespace Attribution.Cli;

/// <summary>The command tree (§6). Each verb's work lives in its own class.</summary>
internal static class Commands
{
    internal static readonly AsyncLocal<CommandContext?> Context = new();

    public static CommandContext Current => Context.Value ?? throw new InvalidOperationException("No command context.");

    public static readonly Option<string?> Storage = new("--storage")
    {
        Description = "Storage account connection string (default: ATTRIBUTION_STORAGE, else the embedded Azurite).",
        Recursive = true,
    };

    public static readonly Option<int?> StorageTimeout = new("--storage-timeout")
    {
        Description = "Seconds a command keeps retrying an unreachable storage account before it fails (default: ATTRIBUTION_STORAGE_TIMEOUT, else 30).",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Log what the domain does (ingestions, each recalculation step, the publish) to stderr; on failure, also print the exception detail.",
        Recursive = true,
    };

    public static readonly Option<int?> Width = CreateWidth();

    private static Option<int?> CreateWidth()
    {
        var width = new Option<int?>("--width")
        {
            Description = $"Columns tables fit in (default: the terminal's width; redirected: COLUMNS, else 80). At least {CliConsole.MinWidth}.",
            HelpName = "N",
            Recursive = true,
        };
        width.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } n && n is < CliConsole.MinWidth or > 10_000)
                result.AddError($"--width takes {CliConsole.MinWidth} to 10000 columns.");
        });
        return width;
    }

    public static RootCommand Build()
    {
        var root = new RootCommand("attribution — partner attribution and competency credit: ingest feeds, recalculate, read results.");
        root.Options.Add(Storage);
        root.Options.Add(StorageTimeout);
        root.Options.Add(Verbose);
        root.Options.Add(Width);
        root.Subcommands.Add(IngestCommand.Create());
        foreach (var command in ExtraCommands()) root.Subcommands.Add(command);
        return root;
    }

    // Commands contributed by later capabilities register here so Build stays one list.
    private static IEnumerable<Command> ExtraCommands() => CommandRegistry.All;

    /// <summary>Parses `yyyy-MM` or fails as bad usage.</summary>
    public static YearMonth? ParseAsOf(string? text)
    {
        if (text is null) return null;
        if (!YearMonth.TryParse(text, out var m)) throw new CliException($"--as-of '{text}' is not a month in the form yyyy-MM.", ExitCodes.BadUsage);
        if (Pipeline.Recalculation.RecalculationStarter.AsOfProblem(m) is { } problem) throw new CliException($"--as-of: {problem}", ExitCodes.BadUsage);
        return m;
    }

    public static CreditRules LoadRules(string? path) => LoadRulesWithText(path).Rules;

    /// <summary>The rules and their exact text (a recalculation carries the text it started with); validated here.</summary>
    public static (CreditRules Rules, string Json) LoadRulesWithText(string? path)
    {
        if (path is null) return (CreditRulesLoader.Default, CreditRulesLoader.DefaultJson);
        if (Directory.Exists(path)) throw new CliException($"--rules '{path}' is a folder; expected a rules JSON file.", ExitCodes.BadUsage);
        if (!File.Exists(path)) throw new CliException($"--rules '{path}' does not exist.", ExitCodes.BadUsage);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--rules '{path}' cannot be read: {e.Message}");
        }
        try
        {
            return (CreditRulesLoader.Parse(json), json);
        }
        catch (RulesValidationException e)
        {
            throw new CliException($"--rules '{path}': {e.Message}");
        }
    }

    public static PartnerId ParsePartnerId(string text) =>
        ValueRules.ParsePartnerId(text, out var id) is { } problem ? throw new CliException($"Partner ID {problem}.", ExitCodes.BadUsage) : id;

    /// <summary>JSON output: camelCase, as the published table properties; nulls left out.</summary>
    public static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        // Read by people as well as scripts: quotes and apostrophes in reasons stay as they are.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static FeedSource? ParseSource(string? text) =>
        text is null ? null
        : FeedSources.TryParse(text, out var s) ? s
        : throw new CliException($"--source '{text}' is not one of: {FeedSources.AllNames}.", ExitCodes.BadUsage);
}

/// <summary>Every verb beyond ingest, in help order.</summary>
internal static class CommandRegistry
{
    public static IEnumerable<Command> All =>
    [
        RunCommand.Create(),
        RecalcCommand.Create(),
        ReadCommands.Partner(),
        PartnersCommand.Create(),
        ScoreCommand.Create(),
        ReadCommands.Subscription(),
        TenantCommand.Create(),
        RejectsCommand.Create(),
        ExplainCommand.Create(),
        ChangesCommand.Create(),
        GenerateCommand.Create(),
        ListenCommand.Create(),
        Report.ReportCommand.Create(),
    ];
}
