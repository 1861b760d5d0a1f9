using System.Text.Json.Nodes;

namespace Attribution.Domain.Rules;

/// <summary>The metrics of a capability score (§7.2); their JSON names are <see cref="ScoreMetrics.Name"/>.</summary>
public enum ScoreMetric : byte
{
    NetCustomerAdds,
    UsageGrowth,
    Deployments,
    IntermediateCertifications,
    AdvancedCertifications,
}

/// <summary>What a usage metric sums per tenant (§7.1): `revenue` = consumedRevenueUsd, `activeUsers`.</summary>
public enum ScoreMeasure : byte
{
    Revenue,
    ActiveUsers,
}

public static class ScoreMetrics
{
    public static string Name(this ScoreMetric metric) => metric switch
    {
        ScoreMetric.NetCustomerAdds => "netCustomerAdds",
        ScoreMetric.UsageGrowth => "usageGrowth",
        ScoreMetric.Deployments => "deployments",
        ScoreMetric.IntermediateCertifications => "intermediateCertifications",
        ScoreMetric.AdvancedCertifications => "advancedCertifications",
        _ => throw new ArgumentOutOfRangeException(nameof(metric)),
    };

    public static string Name(this ScoreMeasure measure) => measure switch
    {
        ScoreMeasure.Revenue => "revenue",
        ScoreMeasure.ActiveUsers => "activeUsers",
        _ => throw new ArgumentOutOfRangeException(nameof(measure)),
    };

    public static bool IsCertification(this ScoreMetric metric) =>
        metric is ScoreMetric.IntermediateCertifications or ScoreMetric.AdvancedCertifications;
}

/// <summary>
/// One metric of a track. <see cref="PointsPerUnit"/> is `pointsPerPercent` for usageGrowth. Only the fields of the
/// metric's kind are set (the loader refuses the others): measure and minPerTenant/maxPerTenant for the usage counts,
/// minBaseline for usageGrowth, certifications (upper-case) for the certification metrics.
/// </summary>
public sealed record ScoreMetricRule(ScoreMetric Metric, double PointsPerUnit, double MaxPoints)
{
    public ScoreMeasure Measure { get; init; }
    public double MinPerTenant { get; init; }
    public double? MaxPerTenant { get; init; }
    public double MinBaseline { get; init; }
    public IReadOnlyList<string> Certifications { get; init; } = [];

    /// <summary>Points for a value: value × pointsPerUnit within [0, maxPoints], unrounded (§7.2).</summary>
    public double Points(double value) => Math.Clamp(value * PointsPerUnit, 0, MaxPoints);
}

public sealed record TrackRule(string Name, IReadOnlyList<ScoreMetricRule> Metrics);

/// <summary>A solution-area designation (§7): the usage it reads, the sources that credit it, its bar and tracks.</summary>
public sealed record DesignationRule(
    string Name,
    WorkloadSet Workloads,
    IReadOnlyList<AssociationSource> Sources,
    double QualifyingPoints,
    int QualificationMonths,
    IReadOnlyList<TrackRule> Tracks)
{
    /// <summary>The sources as a bit mask (bit = 1 &lt;&lt; source), the form the credit walker keeps per credited partner.</summary>
    public byte SourcesMask => (byte)Sources.Aggregate(0, (m, s) => m | (1 << (int)s));
}

/// <summary>Parses and validates `designations` (§7.5's shape); every error names its JSON path.</summary>
internal static class DesignationRulesParser
{
    private static readonly string[] DesignationKeys = ["name", "workloads", "sources", "qualifyingPoints", "qualificationMonths", "tracks"];
    private static readonly string[] TrackKeys = ["name", "metrics"];

    public static List<DesignationRule> Parse(JsonNode? node, string path)
    {
        if (node is not JsonArray arr) throw new RulesValidationException(path, "must be an array of designations ([] for none)");
        var list = new List<DesignationRule>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < arr.Count; i++)
        {
            var dpath = $"{path}[{i}]";
            if (arr[i] is not JsonObject d) throw new RulesValidationException(dpath, "must be an object");
            OnlyKeys(d, dpath, DesignationKeys, "a designation");
            var name = KeyName(d, dpath);
            if (!names.Add(name)) throw new RulesValidationException(dpath + ".name", $"duplicate designation '{name}'");
            var workloads = CreditRulesLoader.WorkloadList(d, "workloads", dpath + ".workloads");
            var sources = Sources(d, dpath + ".sources");
            var qualifying = Number(d, "qualifyingPoints", dpath, min: 0, strict: false);
            var months = 6; // the program's "current and five previous months" when the file does not say
            if (d.ContainsKey("qualificationMonths"))
            {
                if (d["qualificationMonths"] is not JsonValue mv || !mv.TryGetValue<int>(out months) || months is < 1 or > 120)
                    throw new RulesValidationException(dpath + ".qualificationMonths", "must be an integer between 1 and 120");
            }
            if (d["tracks"] is not JsonArray tracks || tracks.Count == 0)
                throw new RulesValidationException(dpath + ".tracks", "must be a non-empty array of tracks");
            var trackNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var trackRules = new List<TrackRule>();
            for (var j = 0; j < tracks.Count; j++)
            {
                var tpath = $"{dpath}.tracks[{j}]";
                if (tracks[j] is not JsonObject t) throw new RulesValidationException(tpath, "must be an object");
                OnlyKeys(t, tpath, TrackKeys, "a track");
                var tname = KeyName(t, tpath);
                if (!trackNames.Add(tname)) throw new RulesValidationException(tpath + ".name", $"duplicate track '{tname}'");
                if (t["metrics"] is not JsonArray metrics || metrics.Count == 0)
                    throw new RulesValidationException(tpath + ".metrics", "must be a non-empty array of metrics");
                var seen = new HashSet<ScoreMetric>();
                var metricRules = new List<ScoreMetricRule>();
                for (var k = 0; k < metrics.Count; k++)
                {
                    var mpath = $"{tpath}.metrics[{k}]";
                    metricRules.Add(Metric(metrics[k], mpath, seen));
                }
                trackRules.Add(new TrackRule(tname, metricRules));
            }
            list.Add(new DesignationRule(name, workloads, sources, qualifying, months, trackRules));
        }
        return list;
    }

    private static ScoreMetricRule Metric(JsonNode? node, string path, HashSet<ScoreMetric> seen)
    {
        if (node is not JsonObject m) throw new RulesValidationException(path, "must be an object");
        if (m["metric"] is not JsonValue nv || !nv.TryGetValue<string>(out var name))
            throw new RulesValidationException(path + ".metric", "is required: one of " + string.Join(", ", Enum.GetValues<ScoreMetric>().Select(x => x.Name())));
        var metric = Enum.GetValues<ScoreMetric>().Where(x => x.Name().Equals(name.Trim(), StringComparison.OrdinalIgnoreCase)).Select(x => (ScoreMetric?)x).FirstOrDefault()
            ?? throw new RulesValidationException(path + ".metric", $"'{name}' is not a metric ({string.Join(", ", Enum.GetValues<ScoreMetric>().Select(x => x.Name()))})");
        if (!seen.Add(metric)) throw new RulesValidationException(path + ".metric", $"'{metric.Name()}' is already in this track (a metric counts once per track)");

        // Each kind has its own fields; a field of another kind is a mistake (it would be silently ignored).
        string[] keys = metric switch
        {
            ScoreMetric.NetCustomerAdds => ["metric", "measure", "minPerTenant", "maxPerTenant", "pointsPerUnit", "maxPoints"],
            ScoreMetric.UsageGrowth => ["metric", "measure", "minBaseline", "pointsPerPercent", "maxPoints"],
            ScoreMetric.Deployments => ["metric", "measure", "minPerTenant", "pointsPerUnit", "maxPoints"],
            _ => ["metric", "certifications", "pointsPerUnit", "maxPoints"],
        };
        OnlyKeys(m, path, keys, $"{metric.Name()}");

        var perUnit = metric == ScoreMetric.UsageGrowth ? "pointsPerPercent" : "pointsPerUnit";
        var rule = new ScoreMetricRule(metric, Number(m, perUnit, path, min: 0, strict: true), Number(m, "maxPoints", path, min: 0, strict: true));
        if (metric.IsCertification()) return rule with { Certifications = Codes(m, path + ".certifications") };

        rule = rule with { Measure = Measure(m, path + ".measure") };
        if (metric == ScoreMetric.UsageGrowth) return rule with { MinBaseline = Number(m, "minBaseline", path, min: 0, strict: false) };

        // minPerTenant > 0: a tenant without credited rows has value 0 and is not known to the engine, so 0 could not count it.
        var min = Number(m, "minPerTenant", path, min: 0, strict: true);
        rule = rule with { MinPerTenant = min };
        if (m.ContainsKey("maxPerTenant"))
        {
            var max = Number(m, "maxPerTenant", path, min: 0, strict: true);
            if (max < min) throw new RulesValidationException(path + ".maxPerTenant", $"must be ≥ minPerTenant ({min})");
            rule = rule with { MaxPerTenant = max };
        }
        return rule;
    }

    private static ScoreMeasure Measure(JsonObject m, string path)
    {
        if (m["measure"] is JsonValue v && v.TryGetValue<string>(out var s))
        {
            if (s.Trim().Equals("revenue", StringComparison.OrdinalIgnoreCase)) return ScoreMeasure.Revenue;
            if (s.Trim().Equals("activeUsers", StringComparison.OrdinalIgnoreCase)) return ScoreMeasure.ActiveUsers;
        }
        throw new RulesValidationException(path, $"must be revenue or activeUsers{(m["measure"] is { } n ? $", not {n.ToJsonString()}" : "")}");
    }

    private static List<string> Codes(JsonObject m, string path)
    {
        if (m["certifications"] is not JsonArray arr || arr.Count == 0)
            throw new RulesValidationException(path, "must be a non-empty array of certification codes");
        var codes = new List<string>();
        for (var i = 0; i < arr.Count; i++)
        {
            if (arr[i] is not JsonValue v || !v.TryGetValue<string>(out var code) || string.IsNullOrWhiteSpace(code))
                throw new RulesValidationException($"{path}[{i}]", "must be a non-empty certification code");
            // Upper-case, like the certifications feed stores them: codes compare case-insensitively.
            var upper = code.Trim().ToUpperInvariant();
            if (!codes.Contains(upper)) codes.Add(upper);
        }
        return codes;
    }

    private static List<AssociationSource> Sources(JsonObject d, string path)
    {
        if (d["sources"] is not JsonArray arr || arr.Count == 0)
            throw new RulesValidationException(path, "must be a non-empty array of association sources");
        var all = Enum.GetValues<AssociationSource>();
        var list = new List<AssociationSource>();
        for (var i = 0; i < arr.Count; i++)
        {
            var s = arr[i] is JsonValue v && v.TryGetValue<string>(out var text) ? text.Trim() : null;
            var match = all.Where(a => a.Name().Equals(s, StringComparison.OrdinalIgnoreCase)).Select(a => (AssociationSource?)a).FirstOrDefault()
                ?? throw new RulesValidationException($"{path}[{i}]", $"'{arr[i]}' is not an association source ({string.Join(' ', all.Select(a => a.Name()))})");
            if (!list.Contains(match)) list.Add(match);
        }
        return list;
    }

    private static string KeyName(JsonObject o, string path)
    {
        if (o["name"] is not JsonValue v || !v.TryGetValue<string>(out var s) || string.IsNullOrWhiteSpace(s))
            throw new RulesValidationException(path + ".name", "is required and must be a non-empty string");
        s = s.Trim();
        // Names end up in table keys ({asOf}|{designation}) and `;`-lists.
        if (!s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new RulesValidationException(path + ".name", $"'{s}' may hold only letters, digits, '-' and '_'");
        return s;
    }

    /// <summary>A required finite number ≥ min (strict: &gt; min).</summary>
    private static double Number(JsonObject o, string name, string path, double min, bool strict)
    {
        var fpath = $"{path}.{name}";
        var bound = strict ? $"> {min}" : $"≥ {min}";
        if (o[name] is not JsonValue v || !v.TryGetValue<double>(out var x) || !double.IsFinite(x))
            throw new RulesValidationException(fpath, $"is required and must be a number {bound}");
        if (strict ? x <= min : x < min) throw new RulesValidationException(fpath, $"must be a number {bound}, not {x}");
        return x;
    }

    private static void OnlyKeys(JsonObject o, string path, string[] allowed, string what)
    {
        foreach (var (key, _) in o)
            if (!allowed.Contains(key, StringComparer.Ordinal))
                throw new RulesValidationException($"{path}.{key}", $"is not a field of {what} ({string.Join(", ", allowed)})");
    }
}
