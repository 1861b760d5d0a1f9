using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Attribution.Pipeline.Reading;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>`attribution explain ID --competency C`: the credited usage rows, their evidence and the gap to the next level.</summary>
internal static class ExplainCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("ID") { Description = "Location partner ID (MPN ID)." };
        var competency = new Option<string>("--competency") { Description = "Competency to explain (as named in the rules).", Required = true };
        var asOf = new Option<string?>("--as-of") { Description = "Month (yyyy-MM); default: the latest published." };
        var command = new Command("explain", "Explain a partner's credit on a competency: every credited usage row and why.") { id, competency, asOf };
        var format = FormatOptions.AddTo(command, "one row per credited usage row and association");
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var output = format.Get(parse);
            var partnerId = Commands.ParsePartnerId(parse.GetValue(id)!);
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var run = await storage.Get<CreditReader>().ResolveRunAsync(month, null, ct)
                ?? throw new CliException(month is null ? "Nothing has been published yet: run 'attribution recalc' first." : $"No published recalculation for {month}.");
            EvidenceView? evidence;
            try
            {
                evidence = await storage.Get<EvidenceService>().ExplainAsync(partnerId, parse.GetValue(competency)!, run, cancellationToken: ct);
            }
            catch (UnknownNameException e)
            {
                throw new CliException(e.Message, ExitCodes.BadUsage);
            }
            if (evidence is null) throw new CliException($"Partner {partnerId} was credited on no usage as of {run.AsOf}.");
            if (output == OutputFormat.Json)
            {
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(evidence, Commands.Json));
                return ExitCodes.Success;
            }
            if (output == OutputFormat.Csv)
            {
                await WriteCsvAsync(context.Out, evidence);
                return ExitCodes.Success;
            }
            Print(context, evidence);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>One row per usage row and the association that credits it: every id whole, as the JSON has them.</summary>
    private static Task WriteCsvAsync(TextWriter output, EvidenceView e) =>
        Csv.WriteAsync(output,
            ["partnerId", "competency", "asOf", "month", "customerTenantId", "subscriptionId", "workload", "consumedRevenueUsd", "activeUsers", "share",
             "creditedRevenueUsd", "creditedActiveUsers", "dporDays", "daysInMonth", "usageIngestionId", "usageLine",
             "associationSource", "validFrom", "validTo", "associationIngestionId", "associationLine"],
            e.Rows.SelectMany(r => r.Associations.DefaultIfEmpty().Select(a => (IReadOnlyList<object?>)
            [
                e.PartnerId, e.Competency, e.AsOf, r.Month, r.CustomerTenantId, r.SubscriptionId, r.Workload, r.ConsumedRevenueUsd, r.ActiveUsers, r.Share,
                r.CreditedRevenueUsd, r.CreditedActiveUsers, r.DporDays, r.DaysInMonth, r.UsageRecord.IngestionId, r.UsageRecord.Line,
                a?.Source, a?.ValidFrom, a?.ValidTo, a?.FeedRecord.IngestionId, a?.FeedRecord.Line,
            ])));

    private static string N(double v, string format = "N2") => v.ToString(format, CultureInfo.InvariantCulture);

    private static void Print(CommandContext context, EvidenceView e)
    {
        var c = context.Console;
        c.MarkupLine($"Partner [bold]{e.PartnerId}[/], {Markup.Escape(e.Competency)}, as of {e.AsOf} (rules {Markup.Escape(e.RulesVersion)}, policy {e.CreditPolicy}, run {e.RunId})");
        c.MarkupLine($"Level [bold]{Markup.Escape(e.Level.Name)}[/]" + (e.NextLevel is { } next ? $", {N(e.Progress, "P0")} of the way to {Markup.Escape(next.Name)}" : " (top level)"));
        c.MarkupLine($"  acrUsdTtm {N(e.AcrUsdTtm)} USD, peakMonthlyActiveUsers {N(e.PeakMonthlyActiveUsers, "N0")}, customers {e.Customers}; sources {Markup.Escape(e.Sources.Length == 0 ? "-" : e.Sources)}");
        foreach (var gap in e.GapToNextLevel)
        {
            var status = gap.Missing <= 0 ? "[green]met[/]" : $"[yellow]missing {N(gap.Missing, gap.Metric == "acrUsdTtm" ? "N2" : "N0")}[/]";
            c.MarkupLine($"  {Markup.Escape(e.NextLevel!.Value.Name)} needs {gap.Metric} >= {N(gap.Required, "N0")}: has {N(gap.Current, gap.Metric == "acrUsdTtm" ? "N2" : "N0")}, {status}");
        }
        c.MarkupLine($"{e.TotalRows} credited usage row(s):");
        c.MarkupLine("[grey](tenants and subscriptions shortened; --format json or csv has every id, and the usage rows' own feed records)[/]");
        var table = new CliTable(new("month", Fit.Keep), new("tenant", Fit.Keep, Drop: 2), new("subscription", Fit.Keep, Drop: 1), new("workload", Fit.Keep),
            new("revenue", Right: true, Drop: 4), new("users", Right: true, Drop: 3), new("share", Right: true),
            new("credited by: source, in force, feed record"));
        foreach (var r in e.Rows)
        {
            var why = string.Join("\n", r.Associations.Select(a =>
                $"{a.Source} {a.ValidFrom}..{a.ValidTo ?? "open"}{(a.Source == "dpor" ? $" ({r.DporDays}/{r.DaysInMonth} days)" : "")}, {a.FeedRecord.IngestionId} line {a.FeedRecord.Line}"));
            table.AddRow(r.Month, r.CustomerTenantId[..8] + "…", r.SubscriptionId[..8] + "…", r.Workload,
                r.ConsumedRevenueUsd is { } rev ? N(rev) : "", r.ActiveUsers?.ToString(CultureInfo.InvariantCulture) ?? "", N(r.Share, "0.###"), why);
        }
        table.Write(c);
    }
}
