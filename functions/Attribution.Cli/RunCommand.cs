using System.CommandLine;
using System.Globalization;
using Attribution.Core.Domain;
using Attribution.Core.Reading;
using Attribution.Core.Recalculation;
using Attribution.Core.Rules;
using Attribution.Core.Storage;
using Attribution.Local;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>`attribution run`: the main job — ingest a feeds folder, recalculate, publish, print a per-partner summary.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var feeds = new Option<string?>("--feeds") { Description = "Folder of feed files (default: samples/feeds)." };
        var asOf = new Option<string?>("--as-of") { Description = "Month to compute (yyyy-MM); default: the last complete month, or the latest usage month when earlier." };
        var rules = new Option<string?>("--rules") { Description = "Rules file (default: the shipped rules)." };
        var allowEmpty = AllowEmptyOption();
        var command = new Command("run", "Ingest every feed file under a folder, recalculate, publish and print each partner's credit.") { feeds, asOf, rules, allowEmpty };
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var (creditRules, rulesJson) = Commands.LoadRulesWithText(parse.GetValue(rules));
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            var folder = ResolveFeeds(parse.GetValue(feeds));
            var inputs = IngestCommand.DiscoverFeeds(folder);
            if (inputs.Count == 0) throw new CliException($"No feed files (.csv, .jsonl, .gz) under {folder}.", ExitCodes.BadUsage);

            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var ingested = await IngestCommand.IngestAllAsync(storage.Account, creditRules, inputs, context, ct);
            IngestCommand.Print(context, ingested, await IngestCommand.FirstRejectsAsync(storage.Account, ingested, 3, ct));
            var failed = ingested.Where(r => r.Result.FailedAsWhole).Select(r => Path.GetFileName(r.Path)).ToList();
            if (failed.Count > 0)
                await context.Error.WriteLineAsync($"{failed.Count} file(s) failed as a whole ({string.Join(", ", failed)}); recalculating with what was stored, then exiting 1.");

            // No --as-of: the default every start shares (last complete month, or the latest stored usage month when earlier).
            var outcome = await Recalculator.RunAsync(storage.Account, month, rulesJson, null, context, ct, allowEmpty: parse.GetValue(allowEmpty));
            await PrintOutcomeAsync(storage.Account, outcome, context, ct);
            return failed.Count > 0 ? ExitCodes.Failure : ExitCodes.Success;
        });
        return command;
    }

    public static Option<bool> AllowEmptyOption() => new("--allow-empty")
    {
        Description = "Recalculate even a month with no usage in its window (otherwise refused: it would credit no one).",
    };

    private static string ResolveFeeds(string? given)
    {
        if (given is not null) return given;
        var local = Path.Combine("samples", "feeds");
        if (Directory.Exists(local)) return local;
        return AzuriteHost.FindRepositoryRoot() is { } root ? Path.Combine(root, "samples", "feeds") : local;
    }

    /// <summary>The per-partner summary: one row per location partner, one column per competency.</summary>
    public static async Task PrintOutcomeAsync(StorageAccount storage, RecalculationOutcome outcome, CommandContext context, CancellationToken ct)
    {
        var reader = new CreditReader(storage);
        var runs = await new RunStore(storage).ListAsync(outcome.AsOf, ct);
        var run = runs.Single(r => r.RunId == outcome.RunId);
        var partners = await reader.AllPartnersAsync(run, ct);
        var names = new Dictionary<string, string>();
        var records = await new RecordStore(storage).LatestAsync(ct);
        await foreach (var p in records.PartnersAsync(ct))
            if (p.PartnerName is not null) names[p.PartnerId.ToString(CultureInfo.InvariantCulture)] = p.PartnerName;

        var competencies = partners.SelectMany(p => p.Competencies.Select(c => c.Competency)).Distinct().ToList();
        var table = new Table().Border(TableBorder.Simple).AddColumn("partner").AddColumn("name").AddColumn("global");
        foreach (var c in competencies) table.AddColumn(c);
        table.AddColumn(new TableColumn("incentive base USD").RightAligned()).AddColumn("sources");
        foreach (var p in partners)
        {
            var cells = new List<string> { p.PartnerId, Markup.Escape(names.GetValueOrDefault(p.PartnerId, "")), p.GlobalPartnerId ?? "" };
            foreach (var name in competencies)
            {
                var c = p.Competencies.FirstOrDefault(x => x.Competency == name);
                cells.Add(c is null ? "" : LevelCell(c));
            }
            cells.Add((p.Competencies.Count > 0 ? p.Competencies[0].IncentiveEligibleAcrUsdTtm : 0).ToString("N2", CultureInfo.InvariantCulture));
            cells.Add(string.Join(';', p.Competencies.SelectMany(c => c.Sources.Split(';', StringSplitOptions.RemoveEmptyEntries)).Distinct().Order(StringComparer.Ordinal)));
            table.AddRow(cells.ToArray());
        }
        var what = outcome.Scenario is null ? "published" : $"scenario '{Markup.Escape(outcome.Scenario)}' (not published)";
        context.Console.MarkupLine($"Credit as of [bold]{outcome.AsOf}[/], run {outcome.RunId}, {what}: {outcome.Partners} partners, {outcome.UsageRows:N0} usage rows in the window.");
        context.Console.Write(table);
        context.Console.MarkupLine($"[grey]engine {outcome.ComputeMs:N0} ms, storage {outcome.StorageMs:N0} ms; {outcome.RowsPublished:N0} rows published, {outcome.RowsRemoved:N0} stale rows removed.[/]");
        context.Console.MarkupLine($"[grey]phases: compute {outcome.ComputeSeconds:N1} s, publish {outcome.PublishSeconds:N1} s.[/]");
    }

    private static string LevelCell(CompetencyCredit c)
    {
        var level = c.Level switch
        {
            "None" => "[grey]None[/]",
            var l => $"[bold]{Markup.Escape(l)}[/]",
        };
        return c.NextLevel is null ? level : $"{level} ({c.Progress:P0} to {Markup.Escape(c.NextLevel)})";
    }
}

/// <summary>`attribution recalc`: recalculate and publish; a scenario run publishes nothing and is shown and kept apart.</summary>
internal static class RecalcCommand
{
    public static Command Create()
    {
        var asOf = new Option<string?>("--as-of") { Description = "Month to compute (yyyy-MM); default: the last complete month, or the latest usage month when earlier." };
        var rules = new Option<string?>("--rules") { Description = "Rules file (default: the shipped rules)." };
        var allowEmpty = RunCommand.AllowEmptyOption();
        var scenario = new Option<string?>("--scenario") { Description = "Name of a what-if run: results are shown and kept apart, nothing is published." };
        var resume = new Option<bool>("--resume") { Description = "Finish an interrupted recalculation of the month with the rules it began with, and start nothing new." };
        var command = new Command("recalc", "Recalculate every partner's credit and publish it.") { asOf, rules, scenario, resume, allowEmpty };
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var resuming = parse.GetValue(resume);
            if (resuming && parse.GetValue(rules) is not null)
                throw new CliException("--resume finishes a run with the rules it began with; it takes no --rules.", ExitCodes.BadUsage);
            var (_, rulesJson) = Commands.LoadRulesWithText(parse.GetValue(rules)); // validated before anything starts
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            var name = parse.GetValue(scenario);
            if (name is not null && (name.Length is 0 or > 40 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
                throw new CliException("--scenario takes 1-40 letters, digits, '-' or '_'.", ExitCodes.BadUsage);
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var outcome = await Recalculator.RunAsync(storage.Account, month, rulesJson, name, context, ct, resuming, parse.GetValue(allowEmpty));
            await RunCommand.PrintOutcomeAsync(storage.Account, outcome, context, ct);
            return ExitCodes.Success;
        });
        return command;
    }
}
