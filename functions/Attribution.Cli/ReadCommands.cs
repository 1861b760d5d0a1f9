using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Reading;
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
        var command = new Command("partner", "Show a partner's competency credit.") { id, asOf, global };
        var format = FormatOptions.AddTo(command, "one row per competency");
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var output = format.Get(parse);
            var partnerId = Commands.ParsePartnerId(parse.GetValue(id)!);
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var reader = storage.Get<CreditReader>();
            var run = await reader.ResolveRunAsync(month, null, ct)
                ?? throw new CliException(month is null ? "Nothing has been published yet: run 'attribution recalc' first." : $"No published recalculation for {month}.");
            var view = await reader.PartnerAsync(partnerId, run, parse.GetValue(global), ct)
                ?? throw new CliException($"{(parse.GetValue(global) ? "Global partner" : "Partner")} {partnerId} has no credit as of {run.AsOf}.");
            if (output == OutputFormat.Json)
            {
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(view with { RunId = null, RulesVersion = null }, Commands.Json));
                return ExitCodes.Success;
            }
            if (output == OutputFormat.Csv)
            {
                await Csv.WriteAsync(context.Out,
                    ["partnerId", "asOf", "scope", "globalPartnerId", "locations", "competency", "level", "nextLevel", "progress", "acrUsdTtm", "peakMonthlyActiveUsers", "customers", "incentiveEligibleAcrUsdTtm", "sources"],
                    view.Competencies.Select(c => (IReadOnlyList<object?>)
                        [view.PartnerId, view.AsOf, view.Scope, view.GlobalPartnerId, view.Locations, c.Competency, c.Level, c.NextLevel, c.Progress, c.AcrUsdTtm, c.PeakMonthlyActiveUsers, c.Customers, c.IncentiveEligibleAcrUsdTtm, c.Sources]));
                return ExitCodes.Success;
            }
            context.Console.MarkupLine($"{(view.Scope == "global" ? "Global partner" : "Partner")} [bold]{view.PartnerId}[/] as of {view.AsOf}" +
                (view.GlobalPartnerId is { } g && g != view.PartnerId ? $" (rolls up to {g})" : "") +
                (view.Locations is { } l ? $" (locations {Markup.Escape(l)})" : ""));
            var table = new CliTable(new("competency", Fit.Keep), new("level", Fit.Keep), new("progress"),
                new("ACR USD TTM", Right: true), new("peak MAU", Right: true), new("customers", Right: true, Drop: 1),
                new("incentive base USD", Right: true, Drop: 2), new("sources", Fit.List, Drop: 3));
            foreach (var c in view.Competencies)
                table.AddRow(c.Competency, PartnerListingOutput.LevelCell(c with { NextLevel = null }), PartnerListingOutput.ProgressText(c),
                    PartnerListingOutput.Money(c.AcrUsdTtm), PartnerListingOutput.Count(c.PeakMonthlyActiveUsers),
                    c.Customers.ToString(CultureInfo.InvariantCulture), PartnerListingOutput.Money(c.IncentiveEligibleAcrUsdTtm), c.Sources);
            table.Write(context.Console);
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Subscription()
    {
        var id = new Argument<string>("ID") { Description = "Subscription ID (GUID)." };
        var asOf = new Option<string?>("--as-of") { Description = "Month (yyyy-MM); default: the latest published." };
        var command = new Command("subscription", "Show the partners credited on a subscription.") { id, asOf };
        var format = FormatOptions.AddTo(command, "one row per credited partner");
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var output = format.Get(parse);
            if (ValueRules.ParseGuid(parse.GetValue(id)!, out var subscription) is { } problem)
                throw new CliException($"Subscription ID {problem}.", ExitCodes.BadUsage);
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var reader = storage.Get<CreditReader>();
            var run = await reader.ResolveRunAsync(month, null, ct)
                ?? throw new CliException(month is null ? "Nothing has been published yet: run 'attribution recalc' first." : $"No published recalculation for {month}.");
            var view = await reader.SubscriptionAsync(subscription, run, ct)
                ?? throw new CliException($"Subscription {subscription} has no credited partners as of {run.AsOf}.");
            if (output == OutputFormat.Json)
            {
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(view with { RunId = null }, Commands.Json));
                return ExitCodes.Success;
            }
            if (output == OutputFormat.Csv)
            {
                await Csv.WriteAsync(context.Out, ["subscriptionId", "asOf", "partnerId", "isDpor", "customerTenantId", "sources", "workloads"],
                    view.Partners.Select(p => (IReadOnlyList<object?>)[view.SubscriptionId, view.AsOf, p.PartnerId, p.IsDpor, p.CustomerTenantId, p.Sources, p.Workloads]));
                return ExitCodes.Success;
            }
            context.Console.MarkupLine($"Subscription [bold]{view.SubscriptionId}[/] as of {view.AsOf}");
            var table = new CliTable(new("partner", Fit.Keep), new("DPOR", Fit.Keep), new("tenant", Fit.Keep, Drop: 1), new("sources", Fit.List), new("workloads", Fit.List));
            foreach (var p in view.Partners)
                table.AddRow(p.PartnerId, p.IsDpor ? "yes" : "", p.CustomerTenantId, p.Sources, p.Workloads);
            table.Write(context.Console);
            return ExitCodes.Success;
        });
        return command;
    }
}
