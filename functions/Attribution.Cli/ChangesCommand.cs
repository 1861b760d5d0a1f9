using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Attribution.Pipeline.Reading;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>
/// `attribution changes [--as-of M] [--since M] [--scenario NAME] [--top N] [--format table|json]`: what changed between two
/// published months, or between a scenario and the published run of its month.
/// </summary>
internal static class ChangesCommand
{
    public static Command Create()
    {
        var asOf = new Option<string?>("--as-of") { Description = "Month (yyyy-MM) to show; default: the latest published (with --scenario: the scenario's latest run)." };
        var since = new Option<string?>("--since") { Description = "Published month (yyyy-MM) to compare with; default: the published month before --as-of." };
        var scenario = new Option<string?>("--scenario") { Description = "Compare this scenario's run with the published run of its month." };
        var top = new Option<int>("--top") { Description = "Biggest movers shown per competency and measure.", DefaultValueFactory = _ => CreditChanges.DefaultTop };
        var command = new Command("changes", "Show what changed: levels gained and lost, partners new or gone, the biggest movers, designations gained and lost.") { asOf, since, scenario, top };
        var format = FormatOptions.AddTo(command, csvRows: null);
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var output = format.Get(parse);
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            var sinceText = parse.GetValue(since);
            var sinceMonth = sinceText is null ? (Attribution.Domain.YearMonth?)null
                : Attribution.Domain.YearMonth.TryParse(sinceText, out var s) ? s
                : throw new CliException($"--since '{sinceText}' is not a month in the form yyyy-MM.", ExitCodes.BadUsage);
            var limit = parse.GetValue(top);
            if (limit < 1) throw new CliException("--top must be at least 1.", ExitCodes.BadUsage);
            var name = parse.GetValue(scenario);
            if (name is not null && (name.Length is 0 or > 40 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
                throw new CliException("--scenario takes 1-40 letters, digits, '-' or '_'.", ExitCodes.BadUsage);

            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var changes = storage.Get<CreditChanges>();
            CreditChangesView view;
            try
            {
                var (from, to) = await changes.ResolveAsync(month, sinceMonth, name, ct);
                view = await changes.CompareAsync(from, to, limit, ct);
            }
            catch (ComparisonUnavailableException e)
            {
                throw new CliException(e.Message, e.IsBadRequest ? ExitCodes.BadUsage : ExitCodes.Failure);
            }
            if (output == OutputFormat.Json)
            {
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(view, Commands.Json));
                return ExitCodes.Success;
            }
            Print(context, view);
            return ExitCodes.Success;
        });
        return command;
    }

    private static string N(double v, string format = "N2") => v.ToString(format, CultureInfo.InvariantCulture);

    private static string Signed(double v, string format) => (v > 0 ? "+" : "") + N(v, format);

    private static string Describe(ComparedRun run) =>
        $"{run.AsOf} ({(run.Scenario is { } s ? $"scenario '{Markup.Escape(s)}', " : "published, ")}run {run.RunId}, rules {Markup.Escape(run.RulesVersion)}, {run.Partners} partners)";

    private static void Print(CommandContext context, CreditChangesView view)
    {
        var c = context.Console;
        c.MarkupLine($"Changes from {Describe(view.From)}");
        c.MarkupLine($"          to {Describe(view.To)}");
        c.MarkupLine($"Partners new: {List(view.NewPartners)}; gone: {List(view.GonePartners)}");
        foreach (var competency in view.Competencies)
        {
            c.WriteLine();
            c.MarkupLine($"[bold]{Markup.Escape(competency.Competency)}[/]");
            if (competency.Gained.Count == 0 && competency.Lost.Count == 0 && competency.NewPartners.Count == 0 && competency.GonePartners.Count == 0
                && competency.AcrUsdTtmMovers.Count == 0 && competency.ProgressMovers.Count == 0)
            {
                c.MarkupLine("  no changes");
                continue;
            }
            c.MarkupLine($"  gained: {Levels(competency.Gained)}");
            c.MarkupLine($"  lost:   {Levels(competency.Lost)}");
            c.MarkupLine($"  new: {List(competency.NewPartners)}; gone: {List(competency.GonePartners)}");
            if (competency.AcrUsdTtmMovers.Count > 0)
            {
                var table = new Table().Border(TableBorder.Simple).Title("biggest movers by ACR USD TTM")
                    .AddColumn("partner").AddColumn("level")
                    .AddColumn(new TableColumn("from").RightAligned()).AddColumn(new TableColumn("to").RightAligned()).AddColumn(new TableColumn("change").RightAligned());
                foreach (var m in competency.AcrUsdTtmMovers)
                    table.AddRow(m.PartnerId, Markup.Escape(LevelMove(m)), N(m.FromAcrUsdTtm), N(m.ToAcrUsdTtm), Signed(m.AcrUsdTtmChange, "N2"));
                c.Write(table);
            }
            if (competency.ProgressMovers.Count > 0)
            {
                var table = new Table().Border(TableBorder.Simple).Title("biggest movers by progress")
                    .AddColumn("partner").AddColumn("level")
                    .AddColumn(new TableColumn("from").RightAligned()).AddColumn(new TableColumn("to").RightAligned()).AddColumn(new TableColumn("change").RightAligned());
                foreach (var m in competency.ProgressMovers)
                    table.AddRow(m.PartnerId, Markup.Escape(LevelMove(m)), N(m.FromProgress, "P1"), N(m.ToProgress, "P1"), Signed(m.ProgressChange * 100, "0.0") + " pts");
                c.Write(table);
            }
        }
        Designations(c, view);
    }

    private static void Designations(IAnsiConsole c, CreditChangesView view)
    {
        if (view.Designations.Count == 0) return;
        c.WriteLine();
        c.MarkupLine("[bold]Designations[/] (global partners)");
        if (view.DesignationsNote is { } note) c.MarkupLine($"  [yellow]{Markup.Escape(note)}[/]");
        foreach (var d in view.Designations)
        {
            if (d.EligibleGained.Count == 0 && d.EligibleLost.Count == 0 && d.QualifiedGained.Count == 0 && d.QualifiedLost.Count == 0)
            {
                c.MarkupLine($"  {Markup.Escape(d.Designation)}: no changes");
                continue;
            }
            c.MarkupLine($"  {Markup.Escape(d.Designation)}:");
            c.MarkupLine($"    eligible gained: {List(d.EligibleGained)}; lost: {List(d.EligibleLost)}");
            c.MarkupLine($"    qualified gained: {List(d.QualifiedGained)}; lost: {List(d.QualifiedLost)}");
        }
    }

    private static string LevelMove(CreditMover m) => m.FromLevel == m.ToLevel ? m.ToLevel.Name : $"{m.FromLevel} → {m.ToLevel}";

    private static string List(IReadOnlyList<string> partners) => partners.Count == 0 ? "none" : string.Join(", ", partners);

    private static string Levels(IReadOnlyList<LevelChange> changes) =>
        changes.Count == 0 ? "none" : Markup.Escape(string.Join(", ", changes.Select(l => $"{l.PartnerId} {l.From} → {l.To}")));
}
