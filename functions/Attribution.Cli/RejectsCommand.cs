using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>`attribution rejects [INGESTION-ID | --file NAME | --source S] [--format table|json|csv]`: the rejected rows, with line, reason and raw text.</summary>
internal static class RejectsCommand
{
    public sealed record RejectsView(string IngestionId, string Source, string FileName, string Status, long RowsTotal, long RowsRejected, IReadOnlyList<RejectedRow> Rejects, bool More);

    public static Command Create()
    {
        var id = new Argument<string?>("INGESTION-ID") { Description = "One ingestion (see `attribution ingest` output or FeedIngestions).", Arity = ArgumentArity.ZeroOrOne };
        var file = new Option<string?>("--file") { Description = "The latest ingestion of this file name." };
        var source = new Option<string?>("--source") { Description = $"Every ingestion of one source ({FeedSources.AllNames}) that rejected rows." };
        var top = new Option<int>("--top") { Description = "Rows shown per ingestion.", DefaultValueFactory = _ => 50 };
        var command = new Command("rejects", "List rejected feed rows: line, reason and the row as it was.") { id, file, source, top };
        var format = FormatOptions.AddTo(command, "one row per rejected row");
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var output = format.Get(parse);
            var ingestionId = parse.GetValue(id);
            var fileName = parse.GetValue(file);
            var feedSource = Commands.ParseSource(parse.GetValue(source));
            if (new object?[] { ingestionId, fileName, feedSource }.Count(x => x is not null) > 1)
                throw new CliException("Give one of INGESTION-ID, --file or --source.", ExitCodes.BadUsage);
            var limit = parse.GetValue(top);
            if (limit < 1) throw new CliException("--top must be at least 1.", ExitCodes.BadUsage);

            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var store = storage.Get<IngestionStore>();
            var ingestions = await SelectAsync(store, ingestionId, fileName, feedSource, ct);
            var views = new List<RejectsView>();
            foreach (var ingestion in ingestions)
            {
                var (rows, next) = await store.RejectedPageAsync(ingestion.IngestionId, 0, limit, ct);
                views.Add(new RejectsView(ingestion.IngestionId, ingestion.Source.Name(), ingestion.FileName, ingestion.Status.ToString(),
                    ingestion.RowsTotal, ingestion.RowsRejected, rows, next is not null));
            }
            if (output == OutputFormat.Json)
            {
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(new { ingestions = views }, Commands.Json));
                return ExitCodes.Success;
            }
            if (output == OutputFormat.Csv)
            {
                await Csv.WriteAsync(context.Out, ["ingestionId", "source", "fileName", "line", "reason", "raw"],
                    views.SelectMany(v => v.Rejects.Select(r => (IReadOnlyList<object?>)[v.IngestionId, v.Source, v.FileName, r.Line, r.Reason, r.Raw])));
                return ExitCodes.Success;
            }
            Print(context, views);
            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task<List<FeedIngestionResult>> SelectAsync(IngestionStore store, string? ingestionId, string? fileName, FeedSource? source, CancellationToken ct)
    {
        if (ingestionId is not null)
            return [await store.FindAsync(ingestionId.Trim(), ct) ?? throw new CliException($"No ingestion '{ingestionId}'.")];
        var all = new List<FeedIngestionResult>();
        await foreach (var r in store.ListAsync(source, ct)) all.Add(r);
        if (fileName is not null)
        {
            var name = Path.GetFileName(fileName);
            var latest = all.Where(r => string.Equals(r.FileName, name, StringComparison.OrdinalIgnoreCase) && r.Status != IngestionStatus.Duplicate)
                .MaxBy(r => r.StartedAt) ?? throw new CliException($"No ingestion of a file named '{name}'.");
            return [latest];
        }
        // Newest first: the file just dropped is the one being looked at.
        return [.. all.Where(r => r.RowsRejected > 0).OrderByDescending(r => r.StartedAt)];
    }

    private static void Print(CommandContext context, List<RejectsView> views)
    {
        if (views.Count == 0)
        {
            context.Console.MarkupLine("No rejected rows.");
            return;
        }
        foreach (var v in views)
        {
            context.Console.MarkupLine($"[bold]{Markup.Escape(v.FileName)}[/] ({v.Source}, ingestion {v.IngestionId}, {v.Status}): " +
                $"{v.RowsRejected.ToString("N0", CultureInfo.InvariantCulture)} of {v.RowsTotal.ToString("N0", CultureInfo.InvariantCulture)} row(s) rejected");
            if (v.Rejects.Count == 0) continue;
            var table = new CliTable(new("line", Fit.Keep, Right: true), new("reason", Fit.Fold), new("raw", Fit.Fold)); // both quote the row as it was
            foreach (var r in v.Rejects)
                table.AddRow(r.Line.ToString(CultureInfo.InvariantCulture), r.Reason, r.Raw);
            table.Write(context.Console);
            if (v.More) context.Console.MarkupLine($"[grey]… more: attribution rejects {v.IngestionId} --top N[/]");
        }
    }
}
