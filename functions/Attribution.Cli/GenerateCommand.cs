using System.CommandLine;
using Attribution.Local.Synthetic;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>`attribution generate`: deterministic synthetic feeds for every source, at any scale.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Folder to write {source}/{source}.csv into.", Required = true };
        var tenants = new Option<int>("--tenants") { Description = "Customer tenants to generate.", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Random seed: the same seed gives byte-identical files.", DefaultValueFactory = _ => 1 };
        var months = new Option<int>("--months") { Description = "Months of usage, ending 2026-10 (the default gives trends across two years).", DefaultValueFactory = _ => new SyntheticFeedOptions().Months };
        var command = new Command("generate", "Write deterministic synthetic feeds for every source.") { output, tenants, seed, months };
        command.SetAction(parse =>
        {
            var context = Commands.Current;
            var n = parse.GetValue(tenants);
            if (n < 1) throw new CliException("--tenants must be at least 1.", ExitCodes.BadUsage);
            var m = parse.GetValue(months);
            if (m is < 1 or > 120) throw new CliException("--months must be between 1 and 120.", ExitCodes.BadUsage);
            var folder = parse.GetValue(output)!;
            if (File.Exists(folder)) throw new CliException($"--out '{folder}' is a file; expected a folder to write the feeds into.", ExitCodes.BadUsage);
            var summary = SyntheticFeedGenerator.Generate(folder, new SyntheticFeedOptions(n, parse.GetValue(seed), Months: m));
            var table = new Table().Border(TableBorder.Simple).AddColumn("source").AddColumn("file")
                .AddColumn(new TableColumn("rows").RightAligned()).AddColumn(new TableColumn("bytes").RightAligned());
            foreach (var f in summary.Files)
                table.AddRow(f.Source, Markup.Escape(f.Path), f.Rows.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), f.Bytes.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
            context.Console.Write(table);
            context.Console.MarkupLine($"{summary.Tenants:N0} tenants, {summary.Subscriptions:N0} subscriptions, {summary.LocationPartners:N0} location partners ({summary.GlobalPartners:N0} global).");
            return ExitCodes.Success;
        });
        return command;
    }
}
