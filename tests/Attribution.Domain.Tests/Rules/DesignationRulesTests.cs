using System.Text.Json.Nodes;
using Attribution.Domain.Rules;

namespace Attribution.Domain.Tests.Rules;

/// <summary>`designations` in the rules file (§7, defaults of §7.5): the shipped values and fail-fast validation.</summary>
public sealed class DesignationRulesTests
{
    private static JsonObject DefaultRules() => JsonNode.Parse(CreditRulesLoader.DefaultJson, documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip })!.AsObject();

    private static JsonArray Designations(JsonObject rules) => rules["designations"]!.AsArray();

    private static string Fails(JsonObject rules) =>
        Assert.Throws<RulesValidationException>(() => CreditRulesLoader.Parse(rules.ToJsonString())).Field;

    /// <summary>§7.5 written out: (designation, track, metric, measure, min, max, minBaseline, perUnit, maxPoints, codes).</summary>
    public static TheoryData<string, string, string, string?, double, double?, double, double, double, string> Table() => new()
    {
        { "Infrastructure", "Standard", "netCustomerAdds", "revenue", 1000, null, 0, 10, 30, "" },
        { "Infrastructure", "Standard", "intermediateCertifications", null, 0, null, 0, 4, 20, "AZ-104;AZ-700;AZ-800" },
        { "Infrastructure", "Standard", "advancedCertifications", null, 0, null, 0, 4, 20, "AZ-305;AZ-400" },
        { "Infrastructure", "Standard", "usageGrowth", "revenue", 0, null, 1000, 1, 20, "" },
        { "Infrastructure", "Standard", "deployments", "revenue", 12000, null, 0, 2, 10, "" },
        { "ModernWork", "Enterprise", "netCustomerAdds", "activeUsers", 300, null, 0, 4, 20, "" },
        { "ModernWork", "Enterprise", "intermediateCertifications", null, 0, null, 0, 2.5, 10, "MS-102;MD-102;MS-700" },
        { "ModernWork", "Enterprise", "advancedCertifications", null, 0, null, 0, 7.5, 15, "MS-721" },
        { "ModernWork", "Enterprise", "usageGrowth", "activeUsers", 0, null, 1000, 1, 30, "" },
        { "ModernWork", "Enterprise", "deployments", "activeUsers", 300, null, 0, 5, 25, "" },
        { "ModernWork", "SMB", "netCustomerAdds", "activeUsers", 11, 300, 0, 2, 20, "" },
        { "ModernWork", "SMB", "intermediateCertifications", null, 0, null, 0, 2.5, 10, "MS-102;MD-102;MS-700" },
        { "ModernWork", "SMB", "advancedCertifications", null, 0, null, 0, 7.5, 15, "MS-721" },
        { "ModernWork", "SMB", "usageGrowth", "activeUsers", 0, null, 200, 1, 30, "" },
        { "ModernWork", "SMB", "deployments", "activeUsers", 40, null, 0, 2.5, 25, "" },
        { "Security", "Standard", "netCustomerAdds", "activeUsers", 100, null, 0, 2, 20, "" },
        { "Security", "Standard", "intermediateCertifications", null, 0, null, 0, 8, 40, "SC-200;SC-300;AZ-500" },
        { "Security", "Standard", "usageGrowth", "activeUsers", 0, null, 500, 1, 20, "" },
        { "Security", "Standard", "deployments", "activeUsers", 1000, null, 0, 4, 20, "" },
        { "BusinessApplications", "Standard", "netCustomerAdds", "revenue", 250, null, 0, 3, 15, "" },
        { "BusinessApplications", "Standard", "intermediateCertifications", null, 0, null, 0, 4, 20, "PL-200;MB-210;MB-230" },
        { "BusinessApplications", "Standard", "advancedCertifications", null, 0, null, 0, 7.5, 15, "PL-600;MB-335" },
        { "BusinessApplications", "Standard", "usageGrowth", "revenue", 0, null, 5000, 1, 30, "" },
        { "BusinessApplications", "Standard", "deployments", "revenue", 5000, null, 0, 4, 20, "" },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void The_shipped_rules_hold_the_default_designations_of_the_contract(string designation, string track, string metric,
        string? measure, double min, double? max, double minBaseline, double perUnit, double maxPoints, string codes)
    {
        var d = CreditRulesLoader.Default.Designations.Single(x => x.Name == designation);
        var m = d.Tracks.Single(t => t.Name == track).Metrics.Single(x => x.Metric.Name() == metric);
        if (measure is not null) Assert.Equal(measure, m.Measure.Name());
        Assert.Equal(min, m.MinPerTenant);
        Assert.Equal(max, m.MaxPerTenant);
        Assert.Equal(minBaseline, m.MinBaseline);
        Assert.Equal(perUnit, m.PointsPerUnit);
        Assert.Equal(maxPoints, m.MaxPoints);
        Assert.Equal(codes, string.Join(';', m.Certifications));
    }

    [Fact]
    public void The_default_designations_have_their_workloads_sources_bar_window_and_metric_counts()
    {
        var ds = CreditRulesLoader.Default.Designations;
        Assert.Equal(["Infrastructure", "ModernWork", "Security", "BusinessApplications"], ds.Select(d => d.Name));
        Assert.All(ds, d => Assert.Equal(70, d.QualifyingPoints));
        Assert.All(ds, d => Assert.Equal(6, d.QualificationMonths));
        Assert.Equal("Azure", ds[0].Workloads.ToString());
        Assert.Equal("Exchange;OneDrive;SharePoint;Teams", ds[1].Workloads.ToString());
        Assert.Equal("EntraID;Intune", ds[2].Workloads.ToString());
        Assert.Equal("Dynamics365;PowerPlatform", ds[3].Workloads.ToString());
        Assert.Equal([AssociationSource.Csp, AssociationSource.Dpor, AssociationSource.Pal], ds[0].Sources);
        Assert.Equal([AssociationSource.Csp, AssociationSource.Dap, AssociationSource.Pal], ds[2].Sources);
        Assert.Equal(["Enterprise", "SMB"], ds[1].Tracks.Select(t => t.Name));
        Assert.Equal([5, 5, 5, 4, 5], ds.SelectMany(d => d.Tracks).Select(t => t.Metrics.Count));
    }

    [Fact]
    public void A_rules_file_without_designations_gets_the_shipped_defaults_and_an_empty_array_means_none()
    {
        var without = DefaultRules();
        without.Remove("designations");
        without["rulesVersion"] = "older-file";
        var parsed = CreditRulesLoader.Parse(without.ToJsonString());
        Assert.Equal(["Infrastructure", "ModernWork", "Security", "BusinessApplications"], parsed.Designations.Select(d => d.Name));

        var none = DefaultRules();
        none["designations"] = new JsonArray();
        Assert.Empty(CreditRulesLoader.Parse(none.ToJsonString()).Designations);

        var nullValue = DefaultRules();
        nullValue["designations"] = null;
        Assert.Equal("$.designations", Fails(nullValue));
    }

    [Fact]
    public void Certification_codes_are_stored_upper_case()
    {
        var rules = DefaultRules();
        Designations(rules)[0]!["tracks"]![0]!["metrics"]![1]!["certifications"] = new JsonArray("az-104", " Az-700 ");
        var m = CreditRulesLoader.Parse(rules.ToJsonString()).Designations[0].Tracks[0].Metrics[1];
        Assert.Equal(["AZ-104", "AZ-700"], m.Certifications);
    }

    [Fact]
    public void Every_association_source_is_a_valid_designation_source()
    {
        var rules = DefaultRules();
        Designations(rules)[0]!["sources"] = new JsonArray("sales", "csp", "fasttrack", "dap", "dpor", "pal");
        Assert.Equal(6, CreditRulesLoader.Parse(rules.ToJsonString()).Designations[0].Sources.Count);
    }

    // Each case breaks one field of the shipped designations and names the path it must fail on.
    [Theory]
    [InlineData("unknown metric", "$.designations[0].tracks[0].metrics[0].metric")]
    [InlineData("metric twice", "$.designations[1].tracks[0].metrics[1].metric")]
    [InlineData("measure", "$.designations[0].tracks[0].metrics[0].measure")]
    [InlineData("negative pointsPerUnit", "$.designations[1].tracks[0].metrics[2].pointsPerUnit")]
    [InlineData("negative pointsPerPercent", "$.designations[0].tracks[0].metrics[3].pointsPerPercent")]
    [InlineData("negative minPerTenant", "$.designations[2].tracks[0].metrics[3].minPerTenant")]
    [InlineData("negative minBaseline", "$.designations[2].tracks[0].metrics[2].minBaseline")]
    [InlineData("maxPoints zero", "$.designations[3].tracks[0].metrics[4].maxPoints")]
    [InlineData("maxPerTenant below min", "$.designations[1].tracks[1].metrics[0].maxPerTenant")]
    [InlineData("field of another metric", "$.designations[0].tracks[0].metrics[0].minBaseline")]
    [InlineData("empty workloads", "$.designations[0].workloads")]
    [InlineData("unknown workload", "$.designations[0].workloads[1]")]
    [InlineData("empty sources", "$.designations[2].sources")]
    [InlineData("unknown source", "$.designations[2].sources[0]")]
    [InlineData("empty tracks", "$.designations[3].tracks")]
    [InlineData("empty certifications", "$.designations[0].tracks[0].metrics[1].certifications")]
    [InlineData("duplicate designation", "$.designations[2].name")]
    [InlineData("duplicate track", "$.designations[1].tracks[1].name")]
    [InlineData("qualificationMonths zero", "$.designations[0].qualificationMonths")]
    [InlineData("qualifyingPoints missing", "$.designations[0].qualifyingPoints")]
    [InlineData("unknown designation field", "$.designations[0].qualificationMonth")]
    public void A_bad_designation_fails_fast_naming_its_json_path(string change, string path)
    {
        var rules = DefaultRules();
        var ds = Designations(rules);
        JsonNode Metric(int d, int t, int m) => ds[d]!["tracks"]![t]!["metrics"]![m]!;
        switch (change)
        {
            case "unknown metric": Metric(0, 0, 0)["metric"] = "netCustomerGrowth"; break;
            case "metric twice": Metric(1, 0, 1)["metric"] = "netCustomerAdds"; Metric(1, 0, 1).AsObject().Remove("certifications"); break;
            case "measure": Metric(0, 0, 0)["measure"] = "seats"; break;
            case "negative pointsPerUnit": Metric(1, 0, 2)["pointsPerUnit"] = -7.5; break;
            case "negative pointsPerPercent": Metric(0, 0, 3)["pointsPerPercent"] = -1; break;
            case "negative minPerTenant": Metric(2, 0, 3)["minPerTenant"] = -1000; break;
            case "negative minBaseline": Metric(2, 0, 2)["minBaseline"] = -1; break;
            case "maxPoints zero": Metric(3, 0, 4)["maxPoints"] = 0; break;
            case "maxPerTenant below min": Metric(1, 1, 0)["maxPerTenant"] = 10; break;
            case "field of another metric": Metric(0, 0, 0)["minBaseline"] = 1000; break;
            case "empty workloads": ds[0]!["workloads"] = new JsonArray(); break;
            case "unknown workload": ds[0]!["workloads"] = new JsonArray("Azure", "Mainframe"); break;
            case "empty sources": ds[2]!["sources"] = new JsonArray(); break;
            case "unknown source": ds[2]!["sources"] = new JsonArray("partnerCenter", "csp"); break;
            case "empty tracks": ds[3]!["tracks"] = new JsonArray(); break;
            case "empty certifications": Metric(0, 0, 1)["certifications"] = new JsonArray(); break;
            case "duplicate designation": ds[2]!["name"] = "infrastructure"; break;
            case "duplicate track": ds[1]!["tracks"]![1]!["name"] = "ENTERPRISE"; break;
            case "qualificationMonths zero": ds[0]!["qualificationMonths"] = 0; break;
            case "qualifyingPoints missing": ds[0]!.AsObject().Remove("qualifyingPoints"); break;
            case "unknown designation field": ds[0]!["qualificationMonth"] = 3; break;
            default: throw new ArgumentOutOfRangeException(nameof(change));
        }
        Assert.Equal(path, Fails(rules));
    }

    [Fact]
    public void The_error_message_names_the_path_like_the_other_rules()
    {
        var rules = DefaultRules();
        Designations(rules)[1]!["tracks"]![0]!["metrics"]![2]!["pointsPerUnit"] = -1;
        var e = Assert.Throws<RulesValidationException>(() => CreditRulesLoader.Parse(rules.ToJsonString()));
        Assert.StartsWith("Invalid rules: $.designations[1].tracks[0].metrics[2].pointsPerUnit: ", e.Message);
    }
}
