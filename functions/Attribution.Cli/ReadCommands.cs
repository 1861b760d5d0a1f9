using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Attribution.Core.Feeds;
using Attribution.Core.Reading;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>`attribution partner` and `attribution subscription`: read published results.</summary>
internal static class ReadCommands
{
    public static Command Partner()
    {
        var id = new Argument<string>("ID") { Description = "Location partner ID (MPN ID), or a global partner ID with --global." };
        var asOf = new Option<string?>("--as-of") { Description = "Month (yyyy-MM); default: the latest published." };
        var global = new Option<bool>("--global") { Description = "Read the global partner's rolled-up credit." };
        var json = new Option<bool>("--json") { Description = "Print one JSON document." };
        var command = new Command("partner", "Show a partner's competency credit.") { id, asOf, global, json };
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var partnerId = Commands.ParsePartnerId(parse.GetValue(id)!);
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var reader = new CreditReader(storage.Account);
            var run = await reader.ResolveRunAsync(month, null, ct)
                ?? throw new CliException(month is null ? "Nothing has been published yet: run 'attribution recalc' first." : $"No published recalculation for {month}.");
            var view = await reader.PartnerAsync(partnerId, run, parse.GetValue(global), ct)
                ?? throw new CliException($"{(parse.GetValue(global) ? "Global partner" : "Partner")} {partnerId} has no credit as of {run.AsOf}.");
            if (parse.GetValue(json))
            {
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(view with { RunId = null, RulesVersion = null }, Commands.Json));
                return ExitCodes.Success;
            }
            context.Console.MarkupLine($"{(view.Scope == "global" ? "Global partner" : "Partner")} [bold]{view.PartnerId}[/] as of {view.AsOf}" +
                (view.GlobalPartnerId is { } g && g != view.PartnerId ? $" (rolls up to {g})" : "") +
                (view.Locations is { } l ? $" (locations {Markup.Escape(l)})" : ""));
            var table = new Table().Border(TableBorder.Simple).AddColumn("competency").AddColumn("level").AddColumn("next")
                .AddColumn(new TableColumn("progress").RightAligned()).AddColumn(new TableColumn("ACR USD TTM").RightAligned())
                .AddColumn(new TableColumn("peak MAU").RightAligned()).AddColumn(new TableColumn("customers").RightAligned())
                .AddColumn(new TableColumn("incentive base USD").RightAligned()).AddColumn("sources");
            foreach (var c in view.Competencies)
                table.AddRow(c.Competency, c.Level, c.NextLevel ?? "-", c.Progress.ToString("P0", CultureInfo.InvariantCulture),
                    c.AcrUsdTtm.ToString("N2", CultureInfo.InvariantCulture), c.PeakMonthlyActiveUsers.ToString("N0", CultureInfo.InvariantCulture),
                    c.Customers.ToString(CultureInfo.InvariantCulture), c.IncentiveEligibleAcrUsdTtm.ToString("N2", CultureInfo.InvariantCulture), c.Sources);
            context.Console.Write(table);
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Subscription()
    {
        var id = new Argument<string>("ID") { Description = "Subscription ID (GUID)." };
        var asOf = new Option<string?>("--as-of") { Description = "Month (yyyy-MM); default: the latest published." };
        var json = new Option<bool>("--json") { Description = "Print one JSON document." };
        var command = new Command("subscription", "Show the partners credited on a subscription.") { id, asOf, json };
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            if (ValueRules.ParseGuid(parse.GetValue(id)!, out var subscription) is { } problem)
                throw new CliException($"Subscription ID {problem}.", ExitCodes.BadUsage);
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var reader = new CreditReader(storage.Account);
            var run = await reader.ResolveRunAsync(month, null, ct)
                ?? throw new CliException(month is null ? "Nothing has been published yet: run 'attribution recalc' first." : $"No published recalculation for {month}.");
            var view = await reader.SubscriptionAsync(subscription, run, ct)
                ?? throw new CliException($"Subscription {subscription} has no credited partners as of {run.AsOf}.");
            if (parse.GetValue(json))
            {
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(view with { RunId = null }, Commands.Json));
                return ExitCodes.Success;
            }
            context.Console.MarkupLine($"Subscription [bold]{view.SubscriptionId}[/] as of {view.AsOf}");
            var table = new Table().Border(TableBorder.Simple).AddColumn("partner").AddColumn("DPOR").AddColumn("tenant").AddColumn("sources").AddColumn("workloads");
            foreach (var p in view.Partners)
                table.AddRow(p.PartnerId, p.IsDpor ? "yes" : "", p.CustomerTenantId, p.Sources, p.Workloads);
            context.Console.Write(table);
            return ExitCodes.Success;
        });
        return command;
    }
}
