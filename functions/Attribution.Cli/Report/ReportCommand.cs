using System.CommandLine;

namespace Attribution.Cli.Report;

/// <summary>`attribution report`: one self-contained HTML page of a published month's credit.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var asOf = new Option<string?>("--as-of") { Description = "Month (yyyy-MM); default: the latest published." };
        var output = new Option<string>("--out") { Description = "The HTML file to write.", Required = true };
        var command = new Command("report", "Write an HTML report of a published month: levels, progress, non-DPOR credit, months, changes.") { asOf, output };
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var path = parse.GetValue(output)!;
            if (Directory.Exists(path)) throw new CliException($"--out '{path}' is a folder; expected an HTML file.", ExitCodes.BadUsage);
            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder is not null && !Directory.Exists(folder)) throw new CliException($"--out '{path}': folder '{folder}' does not exist.", ExitCodes.BadUsage);
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var report = await CreditReportBuilder.BuildAsync(storage, month, ct);
            var html = ReportHtml.Render(report);
            await File.WriteAllTextAsync(path, html, ct);
            await context.Out.WriteLineAsync($"Report of {report.AsOf} ({report.PartnerCount} partners, {report.Months.Count} published months) written to {path}.");
            return ExitCodes.Success;
        });
        return command;
    }
}
