using System.Text.Json;
using System.Text.Json.Nodes;
using Attribution.Domain;

namespace Attribution.Domain.Rules;

public enum CreditPolicy : byte
{
    /// <summary>Every credited partner gets the full usage.</summary>
    Full,
    /// <summary>Each of k credited partners gets 1/k.</summary>
    Split,
    /// <summary>Only the DPOR is credited.</summary>
    DporOnly,
}

public enum CreditMetric : byte
{
    AcrUsdTtm,
    PeakMonthlyActiveUsers,
    Customers,
}

public sealed record Threshold(CreditMetric Metric, double Minimum);

/// <summary>A level of a competency in the rules: its name and the thresholds that reach it.</summary>
public sealed record LevelRule(CompetencyLevel Level, IReadOnlyList<Threshold> Thresholds);

public sealed record CompetencyRule(string Name, WorkloadSet Workloads, IReadOnlyList<LevelRule> Levels);

/// <summary>A product-name phrase of the Partner Center reconciliation export and the workloads it means.</summary>
public sealed record ProductWorkloadMapping(string Phrase, WorkloadSet Workloads);

/// <summary>The product-name phrases of the rules, in order: what turns a reconciliation export's product into workloads.</summary>
public sealed record ProductWorkloadMap(IReadOnlyList<ProductWorkloadMapping> Mappings)
{
    /// <summary>The first mapping whose phrase the product name contains, case-insensitively.</summary>
    public bool TryMap(ReadOnlySpan<char> productName, out WorkloadSet workloads)
    {
        foreach (var m in Mappings)
        {
            if (productName.Contains(m.Phrase, StringComparison.OrdinalIgnoreCase))
            {
                workloads = m.Workloads;
                return true;
            }
        }
        workloads = default;
        return false;
    }
}

/// <summary>The rules file: every number of the credit semantics, versioned.</summary>
public sealed record CreditRules(
    string RulesVersion,
    int WindowMonths,
    CreditPolicy CreditPolicy,
    IReadOnlyList<CompetencyRule> Competencies,
    IReadOnlyList<ProductWorkloadMapping> ProductWorkloads)
{
    /// <summary>The first month of the window ending with <paramref name="asOf"/>.</summary>
    public YearMonth WindowStart(YearMonth asOf) => asOf.AddMonths(1 - WindowMonths);

    /// <summary>
    /// The capability-score designations (§7). A rules file without the key gets the shipped defaults (§7.5); an
    /// explicit empty array configures none.
    /// </summary>
    public IReadOnlyList<DesignationRule> Designations { get; init; } = [];

    /// <summary>The product-name map alone: all a feed normalizer needs of the rules.</summary>
    public ProductWorkloadMap ProductMap => new(ProductWorkloads);

    public static string MetricName(CreditMetric metric) => metric switch
    {
        CreditMetric.AcrUsdTtm => "acrUsdTtm",
        CreditMetric.PeakMonthlyActiveUsers => "peakMonthlyActiveUsers",
        CreditMetric.Customers => "customers",
        _ => throw new ArgumentOutOfRangeException(nameof(metric)),
    };
}

/// <summary>Thrown when a rules file is invalid; the message names the bad field (a JSON path).</summary>
public sealed class RulesValidationException(string field, string problem)
    : Exception($"Invalid rules: {field}: {problem}")
{
    public string Field { get; } = field;
}

/// <summary>Loads and validates rules files. Fails fast with the path of the first bad field.</summary>
public static class CreditRulesLoader
{
    private static readonly Lazy<string> DefaultJsonText = new(() =>
    {
        using var stream = typeof(CreditRulesLoader).Assembly.GetManifestResourceStream("Attribution.Domain.default-rules.json")
            ?? throw new InvalidOperationException("The default rules resource is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    private static readonly Lazy<IReadOnlyList<DesignationRule>> DefaultDesignations = new(() =>
        DesignationRulesParser.Parse(JsonNode.Parse(DefaultJson, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip })!["designations"], "(default rules) $.designations"));

    /// <summary>The rules that ship with the app.</summary>
    public static string DefaultJson => DefaultJsonText.Value;

    public static CreditRules Default => Parse(DefaultJson);

    /// <summary>Whether two rules texts say the same thing (formatting and comments aside).</summary>
    public static bool SameRules(string a, string b)
    {
        if (string.Equals(a, b, StringComparison.Ordinal)) return true;
        var options = new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
        try
        {
            return JsonNode.DeepEquals(JsonNode.Parse(a, documentOptions: options), JsonNode.Parse(b, documentOptions: options));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static CreditRules Parse(string json)
    {
        JsonNode? root;
        try
        {
            // A duplicate key is an error, not "the last one wins": two windowMonths in one file is a mistake to show.
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new RulesValidationException(e.Path is { Length: > 0 } path ? path : "$", $"not valid JSON ({e.Message})");
        }
        if (root is not JsonObject obj) throw new RulesValidationException("$", "must be a JSON object");

        var version = RequiredString(obj, "rulesVersion", "$.rulesVersion");
        var window = obj["windowMonths"] is null ? 12 : RequiredInt(obj, "windowMonths", "$.windowMonths");
        if (window is < 1 or > 120) throw new RulesValidationException("$.windowMonths", "must be between 1 and 120");

        var policy = CreditPolicy.Full;
        if (obj["creditPolicy"] is not null)
        {
            var p = RequiredString(obj, "creditPolicy", "$.creditPolicy");
            policy = p.ToLowerInvariant() switch
            {
                "full" => CreditPolicy.Full,
                "split" => CreditPolicy.Split,
                "dporonly" => CreditPolicy.DporOnly,
                _ => throw new RulesValidationException("$.creditPolicy", $"'{p}' is not one of full, split, dporOnly"),
            };
        }

        if (obj["competencies"] is not JsonArray comps || comps.Count == 0)
            throw new RulesValidationException("$.competencies", "must be a non-empty array");
        var competencies = new List<CompetencyRule>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < comps.Count; i++)
        {
            var path = $"$.competencies[{i}]";
            if (comps[i] is not JsonObject c) throw new RulesValidationException(path, "must be an object");
            var name = RequiredString(c, "name", path + ".name");
            if (!IsKeySafe(name)) throw new RulesValidationException(path + ".name", $"'{name}' may hold only letters, digits, '-' and '_'");
            if (!names.Add(name)) throw new RulesValidationException(path + ".name", $"duplicate competency '{name}'");
            var workloads = WorkloadList(c, "workloads", path + ".workloads");
            if (c["levels"] is not JsonArray lv || lv.Count == 0)
                throw new RulesValidationException(path + ".levels", "must be a non-empty array");
            var levels = new List<LevelRule>();
            for (var j = 0; j < lv.Count; j++)
            {
                var lpath = $"{path}.levels[{j}]";
                if (lv[j] is not JsonObject l) throw new RulesValidationException(lpath, "must be an object");
                var lname = RequiredString(l, "name", lpath + ".name");
                if (lname.Equals(CompetencyLevel.NoneName, StringComparison.OrdinalIgnoreCase))
                    throw new RulesValidationException(lpath + ".name", "'None' is reserved for no level reached");
                if (l["thresholds"] is not JsonObject th || th.Count == 0)
                    throw new RulesValidationException(lpath + ".thresholds", "must be a non-empty object of metric: minimum");
                var thresholds = new List<Threshold>();
                foreach (var (key, value) in th)
                {
                    var tpath = $"{lpath}.thresholds.{key}";
                    CreditMetric metric = key.ToLowerInvariant() switch
                    {
                        "acrusdttm" => CreditMetric.AcrUsdTtm,
                        "peakmonthlyactiveusers" => CreditMetric.PeakMonthlyActiveUsers,
                        "customers" => CreditMetric.Customers,
                        _ => throw new RulesValidationException(tpath, "unknown metric (acrUsdTtm, peakMonthlyActiveUsers, customers)"),
                    };
                    if (value is not JsonValue v || !v.TryGetValue<double>(out var min) || !double.IsFinite(min) || min <= 0)
                        throw new RulesValidationException(tpath, "must be a number > 0");
                    thresholds.Add(new Threshold(metric, min));
                }
                levels.Add(new LevelRule(new CompetencyLevel(lname), thresholds));
            }
            // Levels are ascending: each level must ask at least as much as the one before on every metric it shares.
            for (var j = 1; j < levels.Count; j++)
            {
                foreach (var t in levels[j].Thresholds)
                {
                    var prev = levels[j - 1].Thresholds.FirstOrDefault(p => p.Metric == t.Metric);
                    if (prev is not null && prev.Minimum > t.Minimum)
                        throw new RulesValidationException($"{path}.levels[{j}].thresholds.{CreditRules.MetricName(t.Metric)}",
                            $"levels must be ascending: {t.Minimum} is below {levels[j - 1].Level}'s {prev.Minimum}");
                }
            }
            competencies.Add(new CompetencyRule(name, workloads, levels));
        }

        var products = new List<ProductWorkloadMapping>();
        if (obj["productWorkloads"] is { } pw)
        {
            if (pw is not JsonArray arr) throw new RulesValidationException("$.productWorkloads", "must be an array");
            for (var i = 0; i < arr.Count; i++)
            {
                var path = $"$.productWorkloads[{i}]";
                if (arr[i] is not JsonObject m) throw new RulesValidationException(path, "must be an object");
                var phrase = RequiredString(m, "phrase", path + ".phrase");
                products.Add(new ProductWorkloadMapping(phrase, WorkloadList(m, "workloads", path + ".workloads")));
            }
        }

        // Absent: the shipped defaults, as the contract says they ship with the app (an operator's older rules file keeps
        // its scores). `[]` is how a file says "no designations".
        var designations = obj.ContainsKey("designations")
            ? DesignationRulesParser.Parse(obj["designations"], "$.designations")
            : DefaultDesignations.Value;

        return new CreditRules(version, window, policy, competencies, products) { Designations = designations };
    }

    private static bool IsKeySafe(string s) => s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static string RequiredString(JsonObject obj, string name, string path)
    {
        if (obj[name] is not JsonValue v || !v.TryGetValue<string>(out var s) || string.IsNullOrWhiteSpace(s))
            throw new RulesValidationException(path, "is required and must be a non-empty string");
        return s.Trim();
    }

    private static int RequiredInt(JsonObject obj, string name, string path)
    {
        if (obj[name] is not JsonValue v || !v.TryGetValue<int>(out var i))
            throw new RulesValidationException(path, "must be an integer");
        return i;
    }

    internal static WorkloadSet WorkloadList(JsonObject obj, string name, string path)
    {
        if (obj[name] is not JsonArray arr || arr.Count == 0)
            throw new RulesValidationException(path, "must be a non-empty array of workload names");
        var set = WorkloadSet.Empty;
        for (var i = 0; i < arr.Count; i++)
        {
            if (arr[i] is not JsonValue v || !v.TryGetValue<string>(out var s) || !WorkloadNames.TryParse(s, out var w))
                throw new RulesValidationException($"{path}[{i}]", $"'{arr[i]}' is not a known workload ({string.Join(' ', Enum.GetNames<Workload>())})");
            set = set.Union(WorkloadSet.Of(w));
        }
        return set;
    }
}
