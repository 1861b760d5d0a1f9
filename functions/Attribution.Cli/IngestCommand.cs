using Microsoft.Extensions.DependencyInjection;
using System.CommandLine;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>`attribution ingest FILE... [--source S]`: per-file counts; exit 1 when a file failed as a whole.</summary>
internal static class IngestCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("FILE") { Description = "Feed files (.csv, .jsonl, optionally .gz).", Arity = ArgumentArity.OneOrMore };
        var source = new Option<string?>("--source") { Description = $"Source of every file ({FeedSources.AllNames}); default: inferred from the folder or file name." };
        var rules = new Option<string?>("--rules") { Description = "Rules file (its product-to-workload map reads csp reconciliation exports)." };
        var command = new Command("ingest", "Ingest feed files into storage.") { files, source, rules };
        var format = FormatOptions.AddTo(command, "one row per file (json adds each file's first rejected rows)");
        command.SetAction(async (parse, ct) =>
        {
            var output = format.Get(parse);
            // Bad paths, sources and rules are reported before storage is touched.
            var inputs = ResolveInputs(parse.GetValue(files)!, Commands.ParseSource(parse.GetValue(source)));
            var creditRules = Commands.LoadRules(parse.GetValue(rules));
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var results = await IngestAllAsync(storage, creditRules, inputs, Commands.Current, ct);
            var reasons = await FirstRejectsAsync(storage, results, output == OutputFormat.Json ? 20 : 3, ct);
            var context = Commands.Current;
            switch (output)
            {
                case OutputFormat.Json:
                    await context.Out.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(new { files = JsonFiles(results, reasons) }, Commands.Json));
                    break;
                case OutputFormat.Csv:
                    await Csv.WriteAsync(context.Out,
                        ["file", "source", "ingestionId", "status", "rowsTotal", "rowsAccepted", "rowsRejected", "error", "duplicateOf"],
                        results.Select(r => (IReadOnlyList<object?>)
                            [r.Path, r.Result.Source.Name(), r.Result.IngestionId, r.Result.Status.ToString(), r.Result.RowsTotal, r.Result.RowsAccepted, r.Result.RowsRejected, r.Result.Error, r.Result.DuplicateOf]));
                    await PrintProblemsAsync(context.Error, results, reasons);
                    break;
                default:
                    Print(context, results, reasons);
                    break;
            }
            return results.Any(r => r.Result.FailedAsWhole) ? ExitCodes.Failure : ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Each file with its source; unknown files or sources are bad usage, reported before anything is ingested.</summary>
    public static List<(string Path, FeedSource Source)> ResolveInputs(IEnumerable<string> paths, FeedSource? source)
    {
        var list = new List<(string, FeedSource)>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path)) throw new CliException($"'{path}' is a folder; give feed files (or use `attribution run --feeds {path}`).", ExitCodes.BadUsage);
            if (!File.Exists(path)) throw new CliException($"File not found: {path}", ExitCodes.BadUsage);
            if (source is { } s) list.Add((path, s));
            else if (FeedSources.TryInferFromPath(path, out var inferred)) list.Add((path, inferred));
            else throw new CliException($"Cannot tell the source of '{path}': put it in a folder named after its source ({FeedSources.AllNames}), start its name with the source, or pass --source.", ExitCodes.BadUsage);
        }
        return list;
    }

    /// <summary>Every feed file under a folder, partners first so the directory is known before the rest.</summary>
    public static List<(string Path, FeedSource Source)> DiscoverFeeds(string directory)
    {
        if (!Directory.Exists(directory)) throw new CliException($"Feeds folder not found: {directory}", ExitCodes.BadUsage);
        var found = new List<(string Path, FeedSource Source)>();
        foreach (var path in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (!FeedRowReader.TryDetectFormat(path, out _, out _)) continue; // READMEs and the like
            if (FeedSources.TryInferFromPath(path, out var s)) found.Add((path, s));
        }
        return [.. found.OrderBy(f => f.Source).ThenBy(f => f.Path, StringComparer.Ordinal)];
    }

    public static async Task<List<(string Path, FeedIngestionResult Result)>> IngestAllAsync(
        CliStorage storage, CreditRules rules, IReadOnlyList<(string Path, FeedSource Source)> inputs, CommandContext context, CancellationToken ct)
    {
        // The --rules, over the registered stores.
        var ingestor = ActivatorUtilities.CreateInstance<FeedIngestor>(storage.Services, rules);
        // Said on stderr whatever the output (a terminal, a pipe, --verbose or not): a wait can last a lease period.
        ingestor.Waiting = wait => context.Error.WriteLine(wait.Message);
        var results = new List<(string, FeedIngestionResult)>();
        if (context.Interactive)
        {
            await context.Console.Progress().AutoClear(true).StartAsync(async progress =>
            {
                foreach (var (path, source) in inputs)
                {
                    var name = Path.GetFileName(path);
                    var task = progress.AddTask(Markup.Escape(name), maxValue: Math.Max(1, new FileInfo(path).Length));
                    var file = System.Diagnostics.Stopwatch.StartNew();
                    (IngestionPhase Phase, long Rows, TimeSpan At)? last = null;
                    // Synchronous (not Progress<T>, which posts to the thread pool): reports arrive in order.
                    var reporter = new Reporter(p =>
                    {
                        // Two passes over the file: validation is the first half of the bar, writing the second.
                        var half = task.MaxValue / 2;
                        task.Value = p.Phase == IngestionPhase.Validating ? p.BytesRead / 2.0 : half + p.BytesRead / 2.0;
                        // The pace since the previous report of the same pass (the first of a pass has none yet).
                        var now = file.Elapsed;
                        var rate = last is { } l && l.Phase == p.Phase && now > l.At ? (p.Rows - l.Rows) / (now - l.At).TotalSeconds : (double?)null;
                        last = (p.Phase, p.Rows, now);
                        task.Description = Markup.Escape(ProgressText.Ingest(name, p.Phase, p.Rows, rate, task.Value / task.MaxValue, now));
                    });
                    var result = await ingestor.IngestFileAsync(path, source, reporter, ct);
                    results.Add((path, result));
                    task.Description = Markup.Escape(ProgressText.Ingested(name, result.RowsTotal, file.Elapsed));
                    task.Value = task.MaxValue;
                }
            });
        }
        else
        {
            foreach (var (path, source) in inputs)
                results.Add((path, await ingestor.IngestFileAsync(path, source, null, ct)));
        }
        return results;
    }

    private sealed class Reporter(Action<IngestionProgress> report) : IProgress<IngestionProgress>
    {
        public void Report(IngestionProgress value) => report(value);
    }

    /// <summary>The first rejected rows of each file that had some, so the reasons are seen where the counts are.</summary>
    public static async Task<Dictionary<string, List<RejectedRow>>> FirstRejectsAsync(
        CliStorage storage, IReadOnlyList<(string Path, FeedIngestionResult Result)> results, int perFile, CancellationToken ct)
    {
        var store = storage.Get<IngestionStore>();
        var reasons = new Dictionary<string, List<RejectedRow>>(StringComparer.Ordinal);
        foreach (var (_, r) in results.Where(x => x.Result.RowsRejected > 0 && x.Result.Status != IngestionStatus.Duplicate))
            reasons[r.IngestionId] = (await store.RejectedPageAsync(r.IngestionId, 0, perFile, ct)).Rows;
        return reasons;
    }

    /// <summary>Every file's outcome and its first rejected rows, as `ingest --format json` prints them.</summary>
    public static object JsonFiles(IReadOnlyList<(string Path, FeedIngestionResult Result)> results, IReadOnlyDictionary<string, List<RejectedRow>> reasons) =>
        results.Select(r => new
        {
            file = r.Path,
            source = r.Result.Source.Name(),
            ingestionId = r.Result.IngestionId,
            status = r.Result.Status.ToString(),
            rowsTotal = r.Result.RowsTotal,
            rowsAccepted = r.Result.RowsAccepted,
            rowsRejected = r.Result.RowsRejected,
            error = r.Result.Error,
            duplicateOf = r.Result.DuplicateOf,
            rejects = reasons.GetValueOrDefault(r.Result.IngestionId, []),
        }).ToList();

    /// <summary>With CSV on stdout, the files that failed or rejected rows are still said, on stderr.</summary>
    public static async Task PrintProblemsAsync(TextWriter error, IReadOnlyList<(string Path, FeedIngestionResult Result)> results, IReadOnlyDictionary<string, List<RejectedRow>> reasons)
    {
        foreach (var (path, r) in results)
        {
            var name = Path.GetFileName(path);
            if (r.Error is not null && r.Status != IngestionStatus.Duplicate) await error.WriteLineAsync($"{name}: {r.Error}");
            foreach (var row in reasons.GetValueOrDefault(r.IngestionId) ?? []) await error.WriteLineAsync($"{name} line {row.Line}: {row.Reason}");
        }
    }

    public static void Print(CommandContext context, IReadOnlyList<(string Path, FeedIngestionResult Result)> results,
        IReadOnlyDictionary<string, List<RejectedRow>>? reasons = null)
    {
        // The ingestion id is what `attribution rejects` takes; at narrow widths it gives way to the file and its counts.
        var table = new CliTable(new("file", Fit.Path), new("source", Fit.Keep, Drop: 3), new("status", Fit.Keep),
            new("rows", Right: true, Drop: 2), new("accepted", Right: true, Drop: 4), new("rejected", Right: true), new("ingestion", Fit.Keep, Drop: 5));
        foreach (var (path, r) in results)
        {
            table.AddRow(path, r.Source.Name(), StatusCell(r.Status),
                r.RowsTotal.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
                r.RowsAccepted.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
                r.RowsRejected.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), r.IngestionId);
        }
        table.Write(context.Console);
        foreach (var (path, r) in results.Where(x => x.Result.Error is not null))
            context.Console.MarkupLine($"[grey]{Markup.Escape(Path.GetFileName(path))}:[/] {Markup.Escape(r.Error!)}");
        foreach (var (path, r) in results)
        {
            if (reasons?.GetValueOrDefault(r.IngestionId) is not { Count: > 0 } rows) continue;
            var name = Markup.Escape(Path.GetFileName(path));
            foreach (var row in rows) context.Console.MarkupLine($"[grey]{name} line {row.Line}:[/] {Markup.Escape(row.Reason)}");
            if (r.RowsRejected > rows.Count)
                context.Console.MarkupLine($"[grey]{name}: {r.RowsRejected - rows.Count:N0} more rejected row(s): attribution rejects {r.IngestionId}[/]");
        }
    }

    private static CliCell StatusCell(IngestionStatus status) => status switch
    {
        IngestionStatus.Succeeded => new CliCell("Succeeded", "green"),
        IngestionStatus.CompletedWithRejections => new CliCell("CompletedWithRejections", "yellow"),
        IngestionStatus.Duplicate => new CliCell("Duplicate", "grey"),
        IngestionStatus.Failed => new CliCell("Failed", "red"),
        _ => status.ToString(),
    };
}
