using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Reading;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>`attribution tenant ID`: a customer's view — its usage, associations, DPOR timeline and who it credits, and why not.</summary>
internal static class TenantCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("ID") { Description = "Customer tenant ID (GUID)." };
        var asOf = new Option<string?>("--as-of") { Description = "Month (yyyy-MM); default: the latest published (nothing published: the default recalculation month)." };
        var partner = new Option<string?>("--partner") { Description = "Focus on one partner: why it is, or is not, credited on this customer." };
        var command = new Command("tenant", "Show what is stored and in force for a customer tenant, and which partners it credits.") { id, asOf, partner };
        var format = FormatOptions.AddTo(command, csvRows: null);
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var output = format.Get(parse);
            if (ValueRules.ParseGuid(parse.GetValue(id)!, out var tenant) is { } problem)
                throw new CliException($"Customer tenant ID {problem}.", ExitCodes.BadUsage);
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            PartnerId? partnerId = parse.GetValue(partner) is { } p ? Commands.ParsePartnerId(p) : null;
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            TenantView? view;
            try
            {
                view = await storage.Get<TenantReader>().ReadAsync(tenant, month, partnerId, ct);
            }
            catch (Pipeline.Storage.RecordsUnavailableException e)
            {
                // The run's records version was compacted away: said as it is (recalculate), not as an unexpected failure.
                throw new CliException(e.Message);
            }
            if (view is null)
                throw new CliException($"Customer tenant {tenant} has no stored records (usage in the window, associations or DPOR events).");
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

    private static string N(double? v, string format = "N2") => v?.ToString(format, CultureInfo.InvariantCulture) ?? "";

    private static string Ref(FeedRecordView r) => $"{r.File ?? "?"}:{r.Line} ({r.IngestionId})";

    private static string Short(string? id) => id is null ? "" : id.Length > 8 ? id[..8] + "…" : id;

    private static void Print(CommandContext context, TenantView v)
    {
        var c = context.Console;
        c.MarkupLine($"Customer tenant [bold]{v.CustomerTenantId}[/] as of {v.AsOf} (window {v.WindowFrom} … {v.WindowTo}; " +
            (v.Published ? $"published run {Markup.Escape(v.RunId ?? "")}, " : "not published, ") + $"rules {Markup.Escape(v.RulesVersion)}, policy {v.CreditPolicy})");
        if (v.Note is { } note) c.MarkupLine($"[yellow]{Markup.Escape(note)}[/]");

        // CliTable: fits the console's width, wraps between words and never splits an id, a date or a file:line.
        c.MarkupLine("[bold]Partners[/]");
        var partners = new CliTable(new CliColumn("partner", Fit.Keep), new CliColumn("name"), new CliColumn("credited"), new CliColumn("sources", Fit.List),
            new CliColumn("workloads", Fit.List, Drop: 3), new CliColumn("months", Drop: 2), new CliColumn("DPOR", Fit.Keep), new CliColumn("incentive USD", Fit.Keep, Right: true, Drop: 1),
            new CliColumn("why"));
        foreach (var p in v.Partners)
            partners.AddRow(p.PartnerId + (p.GlobalPartnerId != p.PartnerId ? $" (global {p.GlobalPartnerId})" : ""), p.Name ?? "",
                p.Credited ? $"yes, {p.CreditedRows} row(s)" : "no", p.Sources, p.Workloads,
                p.CreditedFrom is null ? "" : $"{p.CreditedFrom} … {p.CreditedTo}", p.IsDpor ? "yes" : "", p.IsDpor || p.IncentiveAcrUsd > 0 ? N(p.IncentiveAcrUsd) : "",
                string.Join(" ", p.Reasons));
        partners.Write(c);

        c.MarkupLine("[bold]Associations[/]");
        var associations = new CliTable(new CliColumn("source"), new CliColumn("partner", Fit.Keep), new CliColumn("scope"), new CliColumn("workloads", Fit.List, Drop: 2),
            new CliColumn("valid"), new CliColumn("in force (window)", Drop: 3), new CliColumn("rows", Fit.Keep, Right: true, Drop: 1), new CliColumn("feed record"),
            new CliColumn("status", Drop: 4));
        foreach (var a in v.Associations)
            associations.AddRow(a.Source + (a.Program is { } pr ? $" ({pr})" : ""), a.PartnerId,
                a.SubscriptionId is { } s ? $"subscription {Short(s)}" : a.Scope, a.Workloads, $"{a.ValidFrom} … {a.ValidTo ?? "open"}",
                a.InForceFrom is null ? "no" : $"{a.InForceFrom} … {a.InForceTo}", a.CreditedRows.ToString(CultureInfo.InvariantCulture),
                Ref(a.FeedRecord), a.Status);
        associations.Write(c);

        c.MarkupLine("[bold]DPOR timeline[/]");
        var dpor = new CliTable(new CliColumn("subscription", Fit.Keep), new CliColumn("date", Fit.Keep), new CliColumn("action"), new CliColumn("partner"),
            new CliColumn("counts", Drop: 1), new CliColumn("feed record"));
        foreach (var t in v.DporTimelines)
        {
            foreach (var e in t.Events)
                dpor.AddRow(Short(t.SubscriptionId), e.EffectiveDate, e.Action, e.PartnerId, e.Counts ? "yes" : "no (same-day later event wins)", Ref(e.FeedRecord));
            var periods = string.Join("; ", t.Periods.Select(p => $"{p.PartnerId} {p.From} … {p.To ?? "open"} ({p.DaysInWindow} day(s) in the window)"));
            dpor.AddRow(Short(t.SubscriptionId), "", "periods", periods.Length == 0 ? "none" : periods, "", $"DPOR on {v.AsOf}'s last day: {t.DporOnLastDay ?? "none"}");
        }
        dpor.Write(c);

        c.MarkupLine($"[bold]Usage[/] ({v.Usage.Count} row(s) in the window)");
        var usage = new CliTable(new CliColumn("month", Fit.Keep), new CliColumn("subscription", Fit.Keep, Drop: 2), new CliColumn("workload", Fit.Keep),
            new CliColumn("revenue", Fit.Keep, Right: true), new CliColumn("users", Fit.Keep, Right: true, Drop: 1), new CliColumn("credited"), new CliColumn("feed record"));
        foreach (var u in v.Usage)
            usage.AddRow(u.Month, Short(u.SubscriptionId), u.Workload, N(u.ConsumedRevenueUsd), u.ActiveUsers?.ToString(CultureInfo.InvariantCulture) ?? "",
                u.CreditedPartners.Count == 0 ? "nobody" : string.Join(", ", u.CreditedPartners.Select(p => $"{p.PartnerId} ({p.Sources})")),
                Ref(u.FeedRecord));
        usage.Write(c);

        if (v.Designations.Count == 0) return;
        c.MarkupLine($"[bold]Designations[/] (the usage counts toward these global partners' capability score metrics, from {v.Designations.Min(d => d.ReadsFrom)}; whatever the credit policy)");
        var designations = new CliTable(new CliColumn("designation", Fit.Keep), new CliColumn("global partner"), new CliColumn("locations", Fit.List, Drop: 2),
            new CliColumn("sources", Fit.List), new CliColumn("months"), new CliColumn("rows", Fit.Keep, Right: true, Drop: 1));
        foreach (var d in v.Designations)
            designations.AddRow(d.Designation, d.GlobalPartnerId + (d.Name is { } name ? $" {name}" : ""), string.Join(';', d.Locations), d.Sources,
                MonthRanges(d.Months), d.Rows.ToString(CultureInfo.InvariantCulture));
        designations.Write(c);
    }

    /// <summary>"2025-11 … 2026-03, 2026-05": consecutive months as one range.</summary>
    internal static string MonthRanges(IReadOnlyList<string> months)
    {
        var parsed = months.Select(YearMonth.Parse).ToList();
        var ranges = new List<string>();
        for (var i = 0; i < parsed.Count;)
        {
            var j = i;
            while (j + 1 < parsed.Count && parsed[j + 1] == parsed[j].AddMonths(1)) j++;
            ranges.Add(i == j ? $"{parsed[i]}" : $"{parsed[i]} … {parsed[j]}");
            i = j + 1;
        }
        return string.Join(", ", ranges);
    }
}
