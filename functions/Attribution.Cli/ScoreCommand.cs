using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Attribution.Pipeline.Reading;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>`attribution score ID`: a global partner's capability scores (§7.4), each metric with what the next point takes.</summary>
internal static class ScoreCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("ID") { Description = "Global partner ID, or a location partner ID (reads its global partner)." };
        var designation = new Option<string?>("--designation") { Description = "Only this designation (as the rules name it); default: every designation." };
        var asOf = new Option<string?>("--as-of") { Description = "Month (yyyy-MM); default: the latest published." };
        var customers = new Option<bool>("--customers") { Description = "The customer eligibility view of --designation: every customer with credited rows of it, its values, which conditions it meets and the associations behind it." };
        var counted = new Option<string?>("--counted") { Description = "With --customers: only customers counted (yes) or not (no) by --condition.", HelpName = "yes|no" };
        counted.AcceptOnlyFromAmong("yes", "no");
        var condition = new Option<string?>("--condition") { Description = "With --counted: now (in Q(M), the default), year-ago (in Q(M−12)) or deployment.", HelpName = "now|year-ago|deployment" };
        condition.AcceptOnlyFromAmong("now", "year-ago", "deployment");
        var command = new Command("score", "Show a partner's capability scores per designation: each metric's value, points, maximum and what the next point takes.") { id, designation, asOf, customers, counted, condition };
        var format = FormatOptions.AddTo(command, "one row per designation metric");
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var output = format.Get(parse);
            var partnerId = Commands.ParsePartnerId(parse.GetValue(id)!);
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            if (parse.GetValue(customers) && parse.GetValue(designation) is null)
                throw new CliException("--customers needs --designation D: the view is per designation.", ExitCodes.BadUsage);
            if (!parse.GetValue(customers) && (parse.GetValue(counted) is not null || parse.GetValue(condition) is not null))
                throw new CliException("--counted and --condition filter the customer view: add --customers.", ExitCodes.BadUsage);
            if (parse.GetValue(condition) is not null && parse.GetValue(counted) is null)
                throw new CliException("--condition says which condition --counted filters on: add --counted yes|no.", ExitCodes.BadUsage);
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var run = await storage.Get<CreditReader>().ResolveRunAsync(month, null, ct)
                ?? throw new CliException(month is null ? "Nothing has been published yet: run 'attribution recalc' first." : $"No published recalculation for {month}.");
            if (parse.GetValue(customers))
            {
                var which = parse.GetValue(condition) switch
                {
                    "year-ago" => CustomerCondition.YearAgo,
                    "deployment" => CustomerCondition.Deployment,
                    _ => CustomerCondition.Now,
                };
                CustomerEligibilityPage? page;
                try
                {
                    page = await storage.Get<ScoreReader>().CustomersAsync(partnerId, run, parse.GetValue(designation)!,
                        parse.GetValue(counted) is { } c ? c == "yes" : null, which, ct);
                }
                catch (UnknownNameException e)
                {
                    throw new CliException(e.Message, ExitCodes.BadUsage);
                }
                if (page is null)
                    throw new CliException($"Partner {partnerId} has no capability score for {parse.GetValue(designation)} as of {run.AsOf}.");
                await WriteCustomersAsync(context, page, output);
                return ExitCodes.Success;
            }
            PartnerScoreView? view;
            try
            {
                view = await storage.Get<ScoreReader>().ScoreAsync(partnerId, run, parse.GetValue(designation), ct);
            }
            catch (UnknownNameException e)
            {
                throw new CliException(e.Message, ExitCodes.BadUsage);
            }
            if (view is null)
                throw new CliException($"Partner {partnerId} has no capability score as of {run.AsOf} (scores cover global partners with credit or a certification in force).");
            if (output == OutputFormat.Json)
            {
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(view, Commands.Json));
                return ExitCodes.Success;
            }
            if (output == OutputFormat.Csv)
            {
                await Csv.WriteAsync(context.Out,
                    ["globalPartnerId", "asOf", "designation", "track", "score", "qualifyingPoints", "qualified", "eligible", "qualifiedMonths", "pointsToQualify", "zeroMetrics", "metric", "value", "points", "maxPoints", "nextPoint"],
                    view.Designations.SelectMany(d => d.Metrics.Select(m => (IReadOnlyList<object?>)
                        [view.GlobalPartnerId, view.AsOf, d.Designation, d.Track, d.Score, d.QualifyingPoints, d.Qualified, d.Eligible,
                         string.Join(';', d.QualifiedMonths), d.PointsToQualify, string.Join(';', d.ZeroMetrics), m.Metric, m.Value, m.Points, m.MaxPoints, m.NextPoint])));
                return ExitCodes.Success;
            }
            context.Console.MarkupLine($"Global partner [bold]{view.GlobalPartnerId}[/]" +
                (view.RequestedPartnerId is { } l ? $" (location {l} rolls up to it)" : "") + $" as of {view.AsOf}");
            foreach (var d in view.Designations)
            {
                context.Console.WriteLine();
                context.Console.MarkupLine(Markup.Escape(Headline(d)));
                var table = new CliTable(new("metric", Fit.Keep), new("value", Right: true), new("points", Right: true), new("max", Right: true),
                    new("next point takes"));
                foreach (var m in d.Metrics)
                    table.AddRow(m.Metric, m.Value is { } v ? Num(v) : "–", new CliCell(Num(m.Points), m.Points == 0 ? "red" : null), Num(m.MaxPoints), m.NextPoint);
                table.Write(context.Console);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task WriteCustomersAsync(CommandContext context, CustomerEligibilityPage page, OutputFormat output)
    {
        if (output == OutputFormat.Json)
        {
            await context.Out.WriteLineAsync(JsonSerializer.Serialize(page, Commands.Json));
            return;
        }
        // Short enough to read in a column: source and location partner, and the end date when the association ended.
        static string Associations(CustomerEligibilityView c) =>
            string.Join("; ", c.Associations.Select(a => $"{a.Source} {a.PartnerId}{(a.ValidTo is { } to ? $" until {to}" : "")}"));
        if (output == OutputFormat.Csv)
        {
            await Csv.WriteAsync(context.Out,
                ["globalPartnerId", "designation", "asOf", "track", "measure", "customerTenantId", "valueM", "valueM1", "valueM12", "valueM13", "windowSum", "windowPeak", "countsNow", "countsYearAgo", "countsDeployment", "associations"],
                page.Customers.Select(c => (IReadOnlyList<object?>)
                    [page.GlobalPartnerId, page.Designation, page.AsOf, page.Track, page.Measure, c.CustomerTenantId, c.ValueM, c.ValueM1, c.ValueM12, c.ValueM13, c.WindowSum, c.WindowPeak,
                     c.CountsNow, c.CountsYearAgo, c.CountsDeployment,
                     string.Join(';', c.Associations.Select(a => $"{a.Source} {a.PartnerId} {a.ValidFrom}..{a.ValidTo} {a.IngestionId}:{a.Line.ToString(CultureInfo.InvariantCulture)}"))]));
            return;
        }
        var t = page.Totals;
        context.Console.MarkupLine(Markup.Escape(
            $"Global partner {page.GlobalPartnerId}, {page.Designation} ({page.Track}) as of {page.AsOf}, values in {page.Measure}: " +
            $"{t.Customers} customers; in Q(M) {t.CountsNow}, in Q(M−12) {t.CountsYearAgo}, net adds {t.NetCustomerAdds}; deployments {t.CountsDeployment}."));
        var table = new CliTable(new("customer tenant", Fit.Keep), new("M", Right: true), new("M−1", Right: true, Drop: 3), new("M−12", Right: true),
            new("M−13", Right: true, Drop: 4), new("window", Right: true, Drop: 2), new("Q(M)", Fit.Keep), new("Q(M−12)", Fit.Keep), new("deploy", Fit.Keep, Drop: 1),
            new("associations", Fit.Wrap, Drop: 5));
        static string Flag(bool b) => b ? "yes" : "no";
        foreach (var c in page.Customers)
            table.AddRow(c.CustomerTenantId, Num(c.ValueM), Num(c.ValueM1), Num(c.ValueM12), Num(c.ValueM13),
                Num(page.Measure == "revenue" ? c.WindowSum : c.WindowPeak), Flag(c.CountsNow), Flag(c.CountsYearAgo), Flag(c.CountsDeployment), Associations(c));
        table.Write(context.Console);
        if (page.Matching != t.Customers) context.Console.MarkupLine($"{page.Matching} of {t.Customers} customers match.");
    }

    /// <summary>"Infrastructure (Standard): 58 of 70 points, not qualified; eligible (qualified 2026-03); 0 points: deployments".</summary>
    internal static string Headline(DesignationScoreView d)
    {
        var status = d.Qualified ? "qualified"
            : d.PointsToQualify > 0 ? $"not qualified ({Num(d.PointsToQualify)} points short)"
            : "not qualified (enough points, but a metric is at 0)";
        var eligible = d.Eligible ? $"eligible (qualified {string.Join(", ", d.QualifiedMonths)})" : "not eligible (qualified in no month of the window)";
        var zero = d.ZeroMetrics.Count > 0 ? $"; 0 points: {string.Join(", ", d.ZeroMetrics)}" : "";
        return $"{d.Designation} ({d.Track}): {Num(d.Score)} of {Num(d.QualifyingPoints)} points, {status}; {eligible}{zero}";
    }

    internal static string Num(double x) => x.ToString("0.##", CultureInfo.InvariantCulture);
}
