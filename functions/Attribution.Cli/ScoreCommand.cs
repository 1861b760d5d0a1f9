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
        var command = new Command("score", "Show a partner's capability scores per designation: each metric's value, points, maximum and what the next point takes.") { id, designation, asOf };
        var format = FormatOptions.AddTo(command, "one row per designation metric");
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var output = format.Get(parse);
            var partnerId = Commands.ParsePartnerId(parse.GetValue(id)!);
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var run = await storage.Get<CreditReader>().ResolveRunAsync(month, null, ct)
                ?? throw new CliException(month is null ? "Nothing has been published yet: run 'attribution recalc' first." : $"No published recalculation for {month}.");
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
