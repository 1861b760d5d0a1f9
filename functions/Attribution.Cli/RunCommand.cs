using System.CommandLine;
using System.Text.Json;
using Attribution.Domain;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
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
        var listing = ListingOptions.AddTo(command);
        var format = FormatOptions.AddTo(command, "one row per partner and listed competency; the ingestion outcome goes to stderr");
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var output = format.Get(parse);
            var query = listing.Get(parse);
            var (creditRules, rulesJson) = Commands.LoadRulesWithText(parse.GetValue(rules));
            ListingOptions.Validate(creditRules, query);
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            var folder = ResolveFeeds(parse.GetValue(feeds));
            var inputs = IngestCommand.DiscoverFeeds(folder);
            if (inputs.Count == 0) throw new CliException($"No feed files (.csv, .jsonl, .gz) under {folder}.", ExitCodes.BadUsage);

            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var ingested = await IngestCommand.IngestAllAsync(storage, creditRules, inputs, context, ct);
            var rejects = await IngestCommand.FirstRejectsAsync(storage, ingested, output == OutputFormat.Json ? 20 : 3, ct);
            if (output == OutputFormat.Table) IngestCommand.Print(context, ingested, rejects);
            else if (output == OutputFormat.Csv) await IngestCommand.PrintProblemsAsync(context.Error, ingested, rejects);
            var failed = ingested.Where(r => r.Result.FailedAsWhole).Select(r => Path.GetFileName(r.Path)).ToList();
            if (failed.Count > 0)
                await context.Error.WriteLineAsync($"{failed.Count} file(s) failed as a whole ({string.Join(", ", failed)}); recalculating with what was stored, then exiting 1.");

            // No --as-of: the default every start shares (last complete month, or the latest stored usage month when earlier).
            var outcome = await Recalculator.RunAsync(storage, month, rulesJson, null, context, ct, allowEmpty: parse.GetValue(allowEmpty));
            await PrintOutcomeAsync(storage, outcome, query, output, context, ct, output == OutputFormat.Json ? IngestCommand.JsonFiles(ingested, rejects) : null);
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

    /// <summary>
    /// The run's outcome and its partner listing (one row per partner, one column per competency), in the asked format.
    /// JSON is one document: the files ingested (run), the recalculation, and the listing as `partners --format json`.
    /// </summary>
    /// <summary>Partner rows the run/recalc summary table shows when --top is not given.</summary>
    public const int SummaryRows = 50;

    public static async Task PrintOutcomeAsync(CliStorage storage, RecalculationOutcome outcome, PartnerListingQuery query, OutputFormat format,
        CommandContext context, CancellationToken ct, object? files = null)
    {
        var runs = await storage.Get<RunStore>().ListAsync(outcome.AsOf, ct);
        var run = runs.Single(r => r.RunId == outcome.RunId);
        // A summary, not the listing: at program scale (tens of thousands of partners) the table shows the first
        // SummaryRows in the asked order; `partners`, --top or --format json/csv give every one.
        var summarised = format == OutputFormat.Table && query.Top is null;
        var listing = await ListingOptions.ReadAsync(storage, run, summarised ? query with { Top = SummaryRows } : query, ct);
        // The store's compaction backlog, from the log's state (no segment read): a failing compaction shows here.
        var health = await storage.Get<RecordStore>().HealthAsync(ct);
        if (format == OutputFormat.Json)
        {
            var recalculation = new
            {
                asOf = outcome.AsOf.ToString(),
                runId = outcome.RunId,
                scenario = outcome.Scenario,
                published = outcome.Scenario is null,
                partners = outcome.Partners,
                usageRows = outcome.UsageRows,
                rowsPublished = outcome.RowsPublished,
                rowsRemoved = outcome.RowsRemoved,
                computeMs = outcome.ComputeMs,
                storageMs = outcome.StorageMs,
                computeSeconds = outcome.ComputeSeconds,
                publishSeconds = outcome.PublishSeconds,
                evidenceRows = outcome.EvidenceRows,
                evidenceBytes = outcome.EvidenceBytes,
            };
            await context.Out.WriteLineAsync(JsonSerializer.Serialize(new { files, recalculation, credit = listing, records = StorageHealthText.Json(health) }, Commands.Json));
            return;
        }
        // Short lines, so each reads whole (and greps whole, as bench/recalc.sh does) at 80 columns.
        var headline = $"Credit as of {outcome.AsOf}: {outcome.Partners:N0} partners, {outcome.UsageRows:N0} usage rows in the window.";
        var what = outcome.Scenario is null ? $"published, run {outcome.RunId}." : $"scenario '{outcome.Scenario}' (not published), run {outcome.RunId}.";
        if (format == OutputFormat.Csv)
        {
            // stdout holds the CSV alone; what a person would read goes to stderr.
            await context.Error.WriteLineAsync($"{headline} {what}");
            await context.Error.WriteLineAsync(StorageHealthText.Line(health, DateTimeOffset.UtcNow));
            await PartnerListingOutput.WriteCsvAsync(context.Out, listing);
            return;
        }
        context.Console.WriteLine(headline);
        context.Console.WriteLine(what);
        PartnerListingOutput.WriteTable(context, listing);
        if (summarised && listing.Partners.Count < listing.Matching)
            context.Console.WriteLine($"The first {SummaryRows} are shown: 'attribution partners' (or --top N, --format csv) lists all {listing.Matching:N0}.");
        context.Console.MarkupLine($"[grey]engine {outcome.ComputeMs:N0} ms, storage {outcome.StorageMs:N0} ms.[/]");
        context.Console.MarkupLine($"[grey]{outcome.RowsPublished:N0} rows published, {outcome.RowsRemoved:N0} stale rows removed.[/]");
        context.Console.MarkupLine($"[grey]phases: compute {outcome.ComputeSeconds:N1} s, publish {outcome.PublishSeconds:N1} s.[/]");
        context.Console.MarkupLine($"[grey]explanation index: {outcome.EvidenceRows:N0} rows, {outcome.EvidenceBytes / 1048576.0:N1} MiB.[/]");
        context.Console.MarkupLine($"[grey]{Markup.Escape(StorageHealthText.Line(health, DateTimeOffset.UtcNow))}[/]");
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
        var listing = ListingOptions.AddTo(command);
        var format = FormatOptions.AddTo(command, "one row per partner and listed competency");
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var output = format.Get(parse);
            var query = listing.Get(parse);
            var resuming = parse.GetValue(resume);
            if (resuming && parse.GetValue(rules) is not null)
                throw new CliException("--resume finishes a run with the rules it began with; it takes no --rules.", ExitCodes.BadUsage);
            var (creditRules, rulesJson) = Commands.LoadRulesWithText(parse.GetValue(rules)); // validated before anything starts
            if (!resuming) ListingOptions.Validate(creditRules, query); // a resumed run has its own rules: checked against them after
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            var name = parse.GetValue(scenario);
            if (name is not null && (name.Length is 0 or > 40 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
                throw new CliException("--scenario takes 1-40 letters, digits, '-' or '_'.", ExitCodes.BadUsage);
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var outcome = await Recalculator.RunAsync(storage, month, rulesJson, name, context, ct, resuming, parse.GetValue(allowEmpty));
            await RunCommand.PrintOutcomeAsync(storage, outcome, query, output, context, ct);
            return ExitCodes.Success;
        });
        return command;
    }
}
