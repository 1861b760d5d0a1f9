using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>`attribution partners`: the published run's partner credit, filtered, sorted and counted per level.</summary>
internal static class PartnersCommand
{
    public static Command Create()
    {
        var asOf = new Option<string?>("--as-of") { Description = "Month (yyyy-MM); default: the latest published." };
        var designation = new Option<string?>("--designation") { Description = "List global partners' capability scores of this designation (as named in the rules) instead of competency credit, with counts per status." };
        var status = new Option<string?>("--status") { Description = "With --designation: only partners qualified at --as-of, eligible (qualified in a month of the qualification window), or none (not eligible).", HelpName = "qualified|eligible|none" };
        status.AcceptOnlyFromAmong("qualified", "eligible", "none");
        var command = new Command("partners", "List partners' competency credit from the published run, with counts per level (or, with --designation, their capability scores).") { asOf, designation, status };
        var listing = ListingOptions.AddTo(command);
        var format = FormatOptions.AddTo(command, "one row per partner and listed competency (with --designation: per global partner)");
        command.SetAction(async (parse, ct) =>
        {
            var context = Commands.Current;
            var output = format.Get(parse);
            var query = listing.Get(parse);
            var designationName = parse.GetValue(designation);
            var statusName = parse.GetValue(status);
            if (designationName is not null) DesignationListingOutput.Validate(query);
            else if (statusName is not null) throw new CliException("--status filters a designation's scores: give --designation D with it (competency levels: --level).", ExitCodes.BadUsage);
            var month = Commands.ParseAsOf(parse.GetValue(asOf));
            await using var storage = await CliStorage.OpenAsync(parse, ct);
            var run = await storage.Get<CreditReader>().ResolveRunAsync(month, null, ct)
                ?? throw new CliException(month is null ? "Nothing has been published yet: run 'attribution recalc' first." : $"No published recalculation for {month}.");
            if (designationName is not null)
            {
                DesignationListingView scores;
                try
                {
                    scores = await storage.Get<DesignationListing>().ReadAsync(run, designationName, DesignationListingOutput.ParseStatus(statusName), query.Top, ct);
                }
                catch (UnknownNameException e)
                {
                    throw new CliException(e.Message, ExitCodes.BadUsage);
                }
                await DesignationListingOutput.WriteAsync(context, scores, output);
                return ExitCodes.Success;
            }
            var view = await ListingOptions.ReadAsync(storage, run, query, ct);
            await PartnerListingOutput.WriteAsync(context, view, output);
            return ExitCodes.Success;
        });
        return command;
    }
}

/// <summary>The writer of `partners --designation D`: a table with the status counts under it, JSON, or CSV.</summary>
internal static class DesignationListingOutput
{
    public static readonly string[] CsvHeader =
    [
        "globalPartnerId", "partnerName", "designation", "track", "score", "qualifyingPoints", "qualified", "eligible",
        "qualifiedMonths", "pointsToQualify", "zeroMetrics",
    ];

    /// <summary>Scores are global partners' and ordered by ID: the competency options have nothing to apply to.</summary>
    public static void Validate(PartnerListingQuery query)
    {
        if (query.Competency is not null)
            throw new CliException("--designation lists capability scores and --competency competency credit: give one of them.", ExitCodes.BadUsage);
        if (query.Level is not null)
            throw new CliException("--level is a competency level; with --designation filter with --status qualified|eligible|none.", ExitCodes.BadUsage);
        if (query.Sort != PartnerSort.PartnerId)
            throw new CliException("--sort orders competency credit; a designation's scores are listed by global partner ID.", ExitCodes.BadUsage);
    }

    public static DesignationStatus? ParseStatus(string? status) => status switch
    {
        "qualified" => DesignationStatus.Qualified,
        "eligible" => DesignationStatus.Eligible,
        "none" => DesignationStatus.None,
        _ => null,
    };

    public static async Task WriteAsync(CommandContext context, DesignationListingView view, OutputFormat format)
    {
        switch (format)
        {
            case OutputFormat.Json:
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(view, Commands.Json));
                break;
            case OutputFormat.Csv:
                await Csv.WriteAsync(context.Out, CsvHeader, view.Partners.Select(p => (IReadOnlyList<object?>)
                [
                    p.GlobalPartnerId, p.PartnerName, view.Designation, p.Track, p.Score, view.QualifyingPoints, p.Qualified, p.Eligible,
                    string.Join(';', p.QualifiedMonths), p.PointsToQualify, string.Join(';', p.ZeroMetrics),
                ]));
                break;
            default:
                WriteTable(context, view);
                break;
        }
    }

    private static void WriteTable(CommandContext context, DesignationListingView view)
    {
        // Ids and numbers never wrap (one word each); the headers of the narrow columns wrap or shorten instead.
        var table = new CliTable(
            new("global partner"), new("name"), new("track", Fit.Keep), new("score", Right: true),
            new("qualified", Short: "Q"), new("eligible", Short: "E"), new("points to qualify", Right: true), new("zero metrics"));
        var abbreviated = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var p in view.Partners)
        {
            foreach (var m in p.ZeroMetrics.Where(ShortMetrics.ContainsKey)) abbreviated.Add(m);
            table.AddRow(p.GlobalPartnerId, p.PartnerName ?? "", p.Track, new CliCell(ScoreCommand.Num(p.Score), p.Qualified ? "bold" : null),
                YesNo(p.Qualified), YesNo(p.Eligible), ScoreCommand.Num(p.PointsToQualify),
                string.Join(", ", p.ZeroMetrics.Select(m => ShortMetrics.GetValueOrDefault(m, m))));
        }
        if (view.Partners.Count == 0) context.Console.MarkupLine("No partner matches.");
        else table.Write(context.Console);
        if (abbreviated.Count > 0)
            context.Console.MarkupLine($"[grey]{Markup.Escape($"Zero metrics: {string.Join(", ", abbreviated.Select(m => $"{ShortMetrics[m]} = {m}"))}.")}[/]");

        var matching = view.Matching == 1 ? "1 global partner matches" : $"{view.Matching} global partners match";
        var status = view.Status is { } s ? $", status {s}" : "";
        context.Console.WriteLine($"{matching} (designation {view.Designation}, {ScoreCommand.Num(view.QualifyingPoints)} points to qualify{status}){(view.Partners.Count < view.Matching ? $", {view.Partners.Count} shown" : "")}.");
        var c = view.StatusCounts;
        context.Console.WriteLine($"{view.Designation} as of {view.AsOf}, {c.Partners} scored: qualified {c.Qualified}, eligible {c.Eligible}, none {c.None} (a qualified partner is eligible too).");
    }

    // One word each (a cell wraps between words): the full names are wider than the rest of a row at 80 columns.
    private static readonly Dictionary<string, string> ShortMetrics = new(StringComparer.Ordinal)
    {
        ["netCustomerAdds"] = "net-adds",
        ["usageGrowth"] = "growth",
        ["intermediateCertifications"] = "int-certs",
        ["advancedCertifications"] = "adv-certs",
    };

    private static CliCell YesNo(bool value) => new(value ? "yes" : "no", value ? "bold" : "grey");
}

/// <summary>--competency, --level, --sort, --top and --global: shared by `partners`, `run` and `recalc`.</summary>
internal sealed class ListingOptions
{
    private readonly Option<string?> _competency = new("--competency") { Description = "Only this competency (as named in the rules): its credit is shown, filtered, sorted and counted." };
    private readonly Option<string?> _level = new("--level") { Description = "Only partners at this level (of --competency, else of any competency); None for no level." };
    private readonly Option<string?> _sort = CreateSort();
    private readonly Option<int?> _top = new("--top") { Description = "Only the first N partners (after filter and sort).", HelpName = "N" };
    private readonly Option<bool> _global = new("--global") { Description = "Global partners' rolled-up credit instead of location partners'." };

    private static Option<string?> CreateSort()
    {
        var sort = new Option<string?>("--sort")
        {
            Description = "Highest first: progress (level, then nearest the next), acr (ACR USD TTM), users (peak monthly active users) or customers; default: partner ID.",
            HelpName = "progress|acr|users|customers",
        };
        sort.AcceptOnlyFromAmong("progress", "acr", "users", "customers");
        return sort;
    }

    public static ListingOptions AddTo(Command command)
    {
        var options = new ListingOptions();
        foreach (var o in new Option[] { options._competency, options._level, options._sort, options._top, options._global }) command.Options.Add(o);
        return options;
    }

    public PartnerListingQuery Get(ParseResult parse)
    {
        var top = parse.GetValue(_top);
        if (top is < 1) throw new CliException("--top must be at least 1.", ExitCodes.BadUsage);
        var sort = parse.GetValue(_sort) switch
        {
            "progress" => PartnerSort.Progress,
            "acr" => PartnerSort.Acr,
            "users" => PartnerSort.Users,
            "customers" => PartnerSort.Customers,
            _ => PartnerSort.PartnerId,
        };
        return new PartnerListingQuery(parse.GetValue(_competency), parse.GetValue(_level), sort, top, parse.GetValue(_global));
    }

    /// <summary>Checks --competency / --level against rules before a recalculation spends minutes on them.</summary>
    public static void Validate(CreditRules rules, PartnerListingQuery query)
    {
        try
        {
            PartnerListing.Resolve(rules, query.Competency, query.Level);
        }
        catch (UnknownNameException e)
        {
            throw new CliException(e.Message, ExitCodes.BadUsage);
        }
    }

    public static async Task<PartnerListingView> ReadAsync(CliStorage storage, RecalculationRun run, PartnerListingQuery query, CancellationToken ct)
    {
        try
        {
            return await storage.Get<PartnerListing>().ReadAsync(run, query, ct);
        }
        catch (UnknownNameException e)
        {
            throw new CliException(e.Message, ExitCodes.BadUsage);
        }
    }
}

/// <summary>The one writer of a partner listing: a table with the level counts under it, JSON, or CSV.</summary>
internal static class PartnerListingOutput
{
    public static readonly string[] CsvHeader =
    [
        "partnerId", "partnerName", "globalPartnerId", "locations", "competency", "level", "nextLevel", "progress",
        "acrUsdTtm", "peakMonthlyActiveUsers", "customers", "incentiveEligibleAcrUsdTtm", "sources",
    ];

    public static async Task WriteAsync(CommandContext context, PartnerListingView view, OutputFormat format)
    {
        switch (format)
        {
            case OutputFormat.Json:
                await context.Out.WriteLineAsync(JsonSerializer.Serialize(view, Commands.Json));
                break;
            case OutputFormat.Csv:
                await WriteCsvAsync(context.Out, view);
                break;
            default:
                WriteTable(context, view);
                break;
        }
    }

    public static Task WriteCsvAsync(TextWriter output, PartnerListingView view) =>
        Csv.WriteAsync(output, CsvHeader, view.Partners.SelectMany(p => p.Competencies.Select(c => (IReadOnlyList<object?>)
        [
            p.PartnerId, p.PartnerName, p.GlobalPartnerId, p.Locations, c.Competency, c.Level, c.NextLevel, c.Progress,
            c.AcrUsdTtm, c.PeakMonthlyActiveUsers, c.Customers, c.IncentiveEligibleAcrUsdTtm, c.Sources,
        ])));

    public static void WriteTable(CommandContext context, PartnerListingView view)
    {
        var global = view.Scope == "global";
        var table = view.Competency is { } one ? OneCompetency(view, global) : EveryCompetency(view, global);
        if (view.Partners.Count == 0) context.Console.MarkupLine("No partner matches.");
        else table.Write(context.Console);

        var matching = view.Matching == 1 ? "1 partner matches" : $"{view.Matching} partners match";
        var filters = string.Join(", ", new[] { view.Competency is { } c ? $"competency {c}" : null, view.Level is { } l ? $"level {l}" : null }.OfType<string>());
        context.Console.WriteLine($"{matching}{(filters.Length > 0 ? $" ({filters})" : "")}{(view.Partners.Count < view.Matching ? $", {view.Partners.Count} shown" : "")}.");
        foreach (var competency in view.LevelCounts.GroupBy(c => c.Competency))
            context.Console.WriteLine($"{competency.Key}: {string.Join(", ", competency.Select(c => $"{c.Level} {c.Partners}"))}");
    }

    private static CliTable EveryCompetency(PartnerListingView view, bool global)
    {
        var competencies = view.LevelCounts.Select(c => c.Competency).Distinct().ToList();
        var columns = new List<CliColumn> { new("partner", Fit.Keep), new("name"), global ? new("locations", Fit.List, Drop: 2) : new("global", Fit.Keep, Drop: 2) };
        // Short headers must tell competencies apart: a repeated one is numbered (CP, CP2).
        var shorts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var c in competencies)
        {
            var initials = CliTable.Initials(c);
            var name = initials;
            for (var n = 2; !shorts.Add(name); n++) name = initials + n.ToString(CultureInfo.InvariantCulture);
            columns.Add(new CliColumn(c, Short: name));
        }
        columns.Add(new("incentive base USD", Right: true, Drop: 3));
        columns.Add(new("sources", Fit.List, Drop: 4));
        var table = new CliTable([.. columns]);
        foreach (var p in view.Partners)
        {
            var cells = new List<CliCell> { p.PartnerId, p.PartnerName ?? "", (global ? p.Locations : p.GlobalPartnerId) ?? "" };
            foreach (var name in competencies)
                cells.Add(p.Competencies.FirstOrDefault(x => x.Competency == name) is { } c ? LevelCell(c) : "");
            cells.Add(Money(p.Competencies.Count > 0 ? p.Competencies[0].IncentiveEligibleAcrUsdTtm : 0));
            cells.Add(string.Join(';', p.Competencies.SelectMany(c => c.Sources.Split(';', StringSplitOptions.RemoveEmptyEntries)).Distinct().Order(StringComparer.Ordinal)));
            table.AddRow([.. cells]);
        }
        return table;
    }

    private static CliTable OneCompetency(PartnerListingView view, bool global)
    {
        var table = new CliTable(
            new("partner", Fit.Keep), new("name"), global ? new("locations", Fit.List, Drop: 2) : new("global", Fit.Keep, Drop: 2),
            new("level", Fit.Keep), new("progress"), new("ACR USD TTM", Right: true), new("peak MAU", Right: true), new("customers", Right: true, Drop: 1),
            new("incentive base USD", Right: true, Drop: 3), new("sources", Fit.List, Drop: 4));
        foreach (var p in view.Partners)
        {
            var c = p.Competencies[0];
            table.AddRow(p.PartnerId, p.PartnerName ?? "", (global ? p.Locations : p.GlobalPartnerId) ?? "", LevelCell(c with { NextLevel = null }), ProgressText(c),
                Money(c.AcrUsdTtm), Count(c.PeakMonthlyActiveUsers), c.Customers.ToString(CultureInfo.InvariantCulture), Money(c.IncentiveEligibleAcrUsdTtm), c.Sources);
        }
        return table;
    }

    /// <summary>"Silver (43 % to Gold)": the level, and how far the next one is.</summary>
    public static CliCell LevelCell(CompetencyCredit c)
    {
        var text = c.NextLevel is null ? c.Level.Name : $"{c.Level} ({c.Progress.ToString("0%", CultureInfo.InvariantCulture)} to {c.NextLevel})";
        return new CliCell(text, c.Level.IsNone ? "grey" : "bold");
    }

    public static string ProgressText(CompetencyCredit c) =>
        c.NextLevel is null ? "top level" : $"{c.Progress.ToString("0%", CultureInfo.InvariantCulture)} to {c.NextLevel}";

    public static string Money(double v) => v.ToString("N2", CultureInfo.InvariantCulture);

    public static string Count(double v) => v.ToString("N0", CultureInfo.InvariantCulture);
}
