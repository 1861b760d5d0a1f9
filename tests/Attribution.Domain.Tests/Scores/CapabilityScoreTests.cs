using System.Text.Json;
using Attribution.Domain.Rules;
using Attribution.Domain.Scores;
using static Attribution.Domain.Tests.Scores.ScoreScenario;

namespace Attribution.Domain.Tests.Scores;

/// <summary>
/// §7.1–7.3 on hand-worked examples: every expected number is worked out in the comments from the contract, never
/// from the engine. asOf is 2026-06 throughout, so M−1 = 2026-05, M−12 = 2025-06, M−13 = 2025-05.
/// </summary>
public sealed class CapabilityScoreTests
{
    private const long G = 100;

    [Fact]
    public void NetCustomerAdds_counts_a_tenant_meeting_the_minimum_in_M_or_M_minus_1_against_a_year_earlier()
    {
        var s = new ScoreScenario().WithDesignations(Single(NetAdds(ScoreMeasure.Revenue, 1000, 10, 30)));
        s.Row(1, "2026-05", 1000, null, Csp(G))   // M−1 at the minimum: in Q(M)
         .Row(2, "2026-06", 999.99, null, Csp(G)) // under it: not
         .Row(3, "2026-04", 5000, null, Csp(G))   // M−2: too early for Q(M)
         .Row(4, "2025-05", 1500, null, Csp(G))   // M−13 = (M−12)−1: in Q(M−12)
         .Row(5, "2026-06", 400, null, Csp(G)).Row(5, "2026-06", 600, null, Csp(G)); // two rows of a tenant: 1000 in M
        var row = s.RowFor(G);
        Assert.Equal(1, row.NetCustomerAdds); // |{1, 5}| − |{4}|
        Assert.Equal(10, row.NetCustomerAddsPoints);
    }

    [Fact]
    public void NetCustomerAdds_respects_maxPerTenant_inclusively()
    {
        var s = new ScoreScenario().WithDesignations(Single(NetAdds(ScoreMeasure.ActiveUsers, 11, 2, 20, maxPerTenant: 300)));
        s.Row(1, "2026-06", null, 10, Csp(G)).Row(2, "2026-06", null, 11, Csp(G))
         .Row(3, "2026-06", null, 300, Csp(G)).Row(4, "2026-06", null, 301, Csp(G));
        var row = s.RowFor(G);
        Assert.Equal(2, row.NetCustomerAdds); // tenants 2 and 3
        Assert.Equal(4, row.NetCustomerAddsPoints);
    }

    [Fact]
    public void A_negative_net_scores_0_and_points_stop_at_maxPoints()
    {
        var losing = new ScoreScenario().WithDesignations(Single(NetAdds(ScoreMeasure.Revenue, 1000, 10, 30)));
        losing.Row(1, "2025-06", 1000, null, Csp(G)).Row(2, "2025-06", 1000, null, Csp(G)).Row(3, "2025-05", 1000, null, Csp(G))
              .Row(1, "2026-06", 1000, null, Csp(G));
        var row = losing.RowFor(G);
        Assert.Equal(-2, row.NetCustomerAdds); // 1 − 3
        Assert.Equal(0, row.NetCustomerAddsPoints);
        Assert.Equal("netCustomerAdds", row.ZeroMetrics);

        var many = new ScoreScenario().WithDesignations(Single(NetAdds(ScoreMeasure.Revenue, 1000, 10, 30)));
        for (var t = 1; t <= 5; t++) many.Row(t, "2026-06", 1000, null, Csp(G));
        Assert.Equal(5, many.RowFor(G).NetCustomerAdds);
        Assert.Equal(30, many.RowFor(G).NetCustomerAddsPoints); // 50 clamped to 30
    }

    [Theory]
    [InlineData(1000, 1250, 25.0, 20.0)] // +25 % → 25 points, max 20
    [InlineData(2000, 2100, 5.0, 5.0)]   // +5 %
    [InlineData(2000, 1500, -25.0, 0.0)] // decline: the value is negative, points 0
    public void UsageGrowth_is_the_percent_change_of_total_over_12_months(double baseline, double now, double percent, double points)
    {
        var s = new ScoreScenario().WithDesignations(Single(Growth(ScoreMeasure.Revenue, 1000, 1, 20)));
        s.Row(1, "2025-06", baseline / 2, null, Csp(G)).Row(2, "2025-06", baseline / 2, null, Csp(G)).Row(1, "2026-06", now, null, Csp(G));
        var row = s.RowFor(G);
        Assert.Equal(percent, row.UsageGrowthPercent!.Value, 9);
        Assert.Equal(points, row.UsageGrowthPoints!.Value, 9);
    }

    [Fact]
    public void UsageGrowth_is_null_with_0_points_when_the_baseline_is_under_the_minimum_or_zero()
    {
        var small = new ScoreScenario().WithDesignations(Single(Growth(ScoreMeasure.Revenue, 1000, 1, 20)));
        small.Row(1, "2025-06", 999, null, Csp(G)).Row(1, "2026-06", 5000, null, Csp(G));
        Assert.Null(small.RowFor(G).UsageGrowthPercent);
        Assert.Equal(0, small.RowFor(G).UsageGrowthPoints);

        // minBaseline 0 still refuses a zero baseline (no percent of nothing).
        var zero = new ScoreScenario().WithDesignations(Single(Growth(ScoreMeasure.Revenue, 0, 1, 20)));
        zero.Row(1, "2026-06", 5000, null, Csp(G));
        Assert.Null(zero.RowFor(G).UsageGrowthPercent);
        Assert.Equal(0, zero.RowFor(G).UsageGrowthPoints);
    }

    [Fact]
    public void Deployments_sum_revenue_over_the_window_but_take_the_peak_month_of_active_users()
    {
        var revenue = new ScoreScenario().WithDesignations(Single(Deployments(ScoreMeasure.Revenue, 12000, 2, 10)));
        for (var m = 0; m < 12; m++) revenue.Row(1, new YearMonth(2025, 7).AddMonths(m).ToString(), 1000, null, Csp(G)); // 12 × 1000 in 2025-07…2026-06
        for (var m = 0; m < 12; m++) revenue.Row(2, new YearMonth(2025, 6).AddMonths(m).ToString(), 1000, null, Csp(G)); // 2025-06 is outside: 11,000
        revenue.Row(3, "2026-06", 12000, null, Csp(G)); // one month at the minimum
        Assert.Equal(2, revenue.RowFor(G).Deployments); // tenants 1 and 3
        Assert.Equal(4, revenue.RowFor(G).DeploymentsPoints);

        var users = new ScoreScenario().WithDesignations(Single(Deployments(ScoreMeasure.ActiveUsers, 300, 5, 25)));
        for (var m = 0; m < 12; m++) users.Row(1, new YearMonth(2025, 7).AddMonths(m).ToString(), null, 200, Csp(G)); // sum 2,400, peak 200
        users.Row(2, "2025-09", null, 300, Csp(G)); // peak 300 in the window
        users.Row(3, "2025-06", null, 5000, Csp(G)); // before the window
        Assert.Equal(1, users.RowFor(G).Deployments);
        Assert.Equal(5, users.RowFor(G).DeploymentsPoints);
    }

    [Fact]
    public void A_certification_counts_when_in_force_on_the_last_day_of_M_whatever_the_case_of_its_code()
    {
        var s = new ScoreScenario().WithDesignations(Single(Certs(ScoreMetric.IntermediateCertifications, 4, 20, "AZ-104", "AZ-700")));
        s.Globals[101] = G; s.Globals[102] = G;
        s.Cert(101, "p1", "AZ-104", "2024-01-01", "2026-06-30")  // expires on the last day: counts
         .Cert(101, "p2", "AZ-104", "2024-01-01", "2026-06-29")  // the day before: does not
         .Cert(101, "p3", "az-700", "2026-06-30")                // lower-case code, earned that day: counts
         .Cert(101, "p4", "AZ-104", "2026-07-01")                // earned after M
         .Cert(101, "p5", "AZ-305", "2024-01-01")                // not listed
         .Cert(102, "p1", "AZ-700", "2024-01-01")                // p1 again at another location of G: once
         .Cert(102, "p6", "AZ-104", "2024-01-01").Cert(102, "p6", "AZ-700", "2024-01-01"); // two codes, one person
        var row = s.RowFor(G);
        Assert.Equal(3, row.IntermediateCertifications); // p1, p3, p6
        Assert.Equal(12, row.IntermediateCertificationsPoints);
        Assert.Null(row.AdvancedCertifications); // not a metric of the track
        Assert.Null(row.NetCustomerAdds);
    }

    [Fact]
    public void A_full_row_for_the_default_Infrastructure_designation()
    {
        var s = new ScoreScenario();
        s.Row(1, "2025-06", 1000, null, Csp(G)).Row(1, "2026-06", 13000, null, Csp(G))
         .Row(2, "2026-06", 1000, null, Csp(G))
         .Row(3, "2026-05", 1000, null, Csp(G))
         .Cert(G, "p1", "AZ-104", "2026-06-01").Cert(G, "p2", "az-700", "2026-06-01").Cert(G, "p1", "AZ-305", "2026-06-01");
        // netCustomerAdds: Q(M) = {1, 2, 3}, Q(M−12) = {1} → 2 → 20. usageGrowth: 1,000 → 14,000 = +1,300 % → 20 (max).
        // deployments: window sums 13,000 / 1,000 / 1,000 ≥ 12,000 → 1 → 2. intermediate: p1, p2 → 8. advanced: p1 → 4.
        var row = s.RowFor(G, "Infrastructure");
        Assert.Equal(new CapabilityScoreRow
        {
            GlobalPartnerId = new PartnerId(G), Designation = "Infrastructure", AsOf = s.AsOf, Track = "Standard",
            Score = 54, Qualified = false, Eligible = false, QualifiedMonths = "", PointsToQualify = 16, ZeroMetrics = "",
            NetCustomerAdds = 2, NetCustomerAddsPoints = 20, UsageGrowthPercent = 1300, UsageGrowthPoints = 20,
            Deployments = 1, DeploymentsPoints = 2, IntermediateCertifications = 2, IntermediateCertificationsPoints = 8,
            AdvancedCertifications = 1, AdvancedCertificationsPoints = 4,
        }, row);

        // Three more people: intermediate p1…p5 → 20, advanced p1…p3 → 12; 20 + 20 + 2 + 20 + 12 = 74 ≥ 70, no metric at 0.
        s.Cert(G, "p3", "AZ-800", "2026-06-01").Cert(G, "p4", "AZ-800", "2026-06-01").Cert(G, "p5", "AZ-800", "2026-06-01")
         .Cert(G, "p2", "AZ-400", "2026-06-01").Cert(G, "p3", "AZ-400", "2026-06-01");
        row = s.RowFor(G, "Infrastructure");
        Assert.Equal((74.0, true, true, "2026-06", 0.0), (row.Score, row.Qualified, row.Eligible, row.QualifiedMonths, row.PointsToQualify));
    }

    [Fact]
    public void A_score_over_the_bar_does_not_qualify_with_a_metric_at_0()
    {
        var d = Single(NetAdds(ScoreMeasure.Revenue, 1000, 10, 100), Certs(ScoreMetric.AdvancedCertifications, 4, 20, "AZ-305"));
        var s = new ScoreScenario().WithDesignations(d);
        for (var t = 1; t <= 8; t++) s.Row(t, "2026-06", 1000, null, Csp(G));
        var row = s.RowFor(G);
        Assert.Equal((80.0, false, 0.0, "advancedCertifications"), (row.Score, row.Qualified, row.PointsToQualify, row.ZeroMetrics));
    }

    [Fact]
    public void The_designation_takes_the_qualifying_track_over_a_higher_score_and_the_first_listed_on_a_tie()
    {
        // Enterprise: 4 tenants × 20 = 80, but nobody holds its certification (0 points) → does not qualify.
        // SMB: 4 tenants × 16.125 + 1 person × 7.5 = 72 ≥ 70, no metric at 0 → qualifies, and wins with the lower score.
        TrackRule Track(string name, double ppu, double min, double? max, string? code) => new(name,
            code is not null ? [NetAdds(ScoreMeasure.ActiveUsers, min, ppu, 100, max), Certs(ScoreMetric.AdvancedCertifications, 7.5, 15, code)]
                  : [NetAdds(ScoreMeasure.ActiveUsers, min, ppu, 100, max)]);
        var two = new DesignationRule("MW", WorkloadSet.Of(Workload.Teams), [AssociationSource.Csp], 70, 6,
            [Track("Enterprise", 20, 300, null, "MS-999"), Track("SMB", 16.125, 11, 300, "MS-721")]);
        var s = new ScoreScenario().WithDesignations(two);
        for (var t = 1; t <= 4; t++) s.RowOf(Workload.Teams, t, "2026-06", null, 300, Csp(G));
        s.Cert(G, "p1", "MS-721", "2026-01-01");
        var row = s.RowFor(G);
        Assert.Equal(("SMB", 72.0, true), (row.Track, row.Score, row.Qualified));
        Assert.Equal((80.0, false), (s.Score(G).Months[^1].Tracks[0].Score, s.Score(G).Months[^1].Tracks[0].Qualifies));

        // Neither qualifies and they tie: the first listed.
        var tie = new DesignationRule("MW", WorkloadSet.Of(Workload.Teams), [AssociationSource.Csp], 70, 6,
            [Track("A", 10, 11, null, null), Track("B", 10, 11, null, null)]);
        var t2 = new ScoreScenario().WithDesignations(tie);
        t2.RowOf(Workload.Teams, 1, "2026-06", null, 50, Csp(G));
        Assert.Equal(("A", 10.0), (t2.RowFor(G).Track, t2.RowFor(G).Score));

        // Two qualifying tracks at the same score: the first listed too.
        var a = new TrackScore("A", 75, true, []);
        var b = new TrackScore("B", 75, true, []);
        Assert.Same(a, CapabilityScores.Choose([new TrackScore("C", 90, false, []), a, b]));
    }

    [Theory]
    [InlineData("2026-01-31", "2026-02-27", true, "2026-01")]  // qualified at M−5 only: eligible
    [InlineData("2025-12-31", "2026-01-30", false, "")]        // qualified at M−6 only: outside the window
    public void A_designation_is_eligible_when_qualified_in_one_of_the_6_months_ending_asOf(string earned, string expires, bool eligible, string months)
    {
        var d = Single(Certs(ScoreMetric.IntermediateCertifications, 70, 70, "AZ-104")) with { QualificationMonths = 6 };
        var s = new ScoreScenario().WithDesignations(d);
        s.Cert(G, "p1", "AZ-104", earned, expires);
        var score = s.Score(G);
        Assert.Equal(["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"], score.Months.Select(m => m.Month.ToString()));
        Assert.Equal((false, eligible, months, 70.0), (score.Row.Qualified, score.Row.Eligible, score.Row.QualifiedMonths, score.Row.PointsToQualify));
    }

    [Fact]
    public void Two_locations_of_a_global_partner_credited_on_one_row_count_it_once()
    {
        var s = new ScoreScenario().WithDesignations(Single(Growth(ScoreMeasure.Revenue, 1000, 1, 100)));
        s.Globals[101] = G; s.Globals[102] = G;
        s.Row(1, "2025-06", 1000, null, Csp(101), ScoreCredit.Of(102, AssociationSource.Pal));
        s.Row(1, "2026-06", 1500, null, Csp(101));
        Assert.Equal(50, s.RowFor(G).UsageGrowthPercent); // 1,000 → 1,500 (2,000 → 1,500 if the row counted twice)
        Assert.DoesNotContain(s.Partials(), p => p.GlobalPartnerId != G); // the locations have no scores of their own
    }

    [Fact]
    public void Only_associations_of_the_designations_sources_credit_and_dpor_counts_when_in_force()
    {
        var cspOnly = Single(NetAdds(ScoreMeasure.Revenue, 1000, 10, 30)) with { Sources = [AssociationSource.Csp] };
        var s = new ScoreScenario().WithDesignations(cspOnly);
        s.Row(1, "2026-06", 1000, null, ScoreCredit.Of(G, AssociationSource.Dap))                          // dap only: ignored
         .Row(2, "2026-06", 1000, null, ScoreCredit.Of(G, AssociationSource.Dap, AssociationSource.Csp))  // also csp: counts
         .Row(3, "2026-06", 1000, null, ScoreCredit.Of(G, AssociationSource.Dpor));                        // dpor not listed
        Assert.Equal(1, s.RowFor(G).NetCustomerAdds);

        var withDpor = new ScoreScenario().WithDesignations(Single(NetAdds(ScoreMeasure.Revenue, 1000, 10, 30)));
        withDpor.Row(3, "2026-06", 1000, null, ScoreCredit.Of(G, AssociationSource.Dpor));
        Assert.Equal(1, withDpor.RowFor(G).NetCustomerAdds);
    }

    [Fact]
    public void Rows_of_other_workloads_and_credit_policy_do_not_change_a_score()
    {
        var s = new ScoreScenario().WithDesignations(Single(NetAdds(ScoreMeasure.Revenue, 1000, 10, 30)));
        s.RowOf(Workload.Teams, 1, "2026-06", 5000, null, Csp(G))
         .Row(2, "2026-06", 1000, null, Csp(G), Csp(200), Csp(300)); // three partners: each gets the full 1,000
        Assert.Equal(1, s.RowFor(G).NetCustomerAdds);
        s.Rules = s.Rules with { CreditPolicy = CreditPolicy.Split };
        Assert.Equal(1, s.RowFor(G).NetCustomerAdds);
        Assert.Equal(1, s.RowFor(200).NetCustomerAdds);
    }

    [Fact]
    public void Results_do_not_depend_on_the_shard_split_or_the_row_order()
    {
        var s = new ScoreScenario();
        s.Globals[101] = G; s.Globals[102] = G;
        var random = new Random(20);
        for (var t = 1; t <= 40; t++)
        {
            for (var m = 0; m < 19; m++)
            {
                if (random.Next(4) == 0) continue;
                var month = s.AsOf.AddMonths(-m).ToString();
                var partner = random.Next(3) switch { 0 => 101L, 1 => 102L, _ => 300L };
                var credited = random.Next(3) == 0 ? new[] { Csp(partner), ScoreCredit.Of(102, AssociationSource.Dpor) } : [Csp(partner)];
                // Revenue with awkward fractions, so double addition in another order would differ in the last bits.
                s.RowOf(Workload.Azure, t, month, Math.Round(random.NextDouble() * 3000, 7) + 0.1, null, credited);
                s.RowOf(Workload.Teams, t, month, null, random.Next(0, 700), credited);
            }
        }
        var options = new JsonSerializerOptions();
        var one = JsonSerializer.Serialize(s.Partials(1), options);
        Assert.Equal(one, JsonSerializer.Serialize(s.Partials(3), options));
        Assert.Equal(one, JsonSerializer.Serialize(s.Partials(3, reverse: true), options));
        foreach (var d in s.Rules.Designations)
            Assert.Equal(s.Score(G, d.Name, 1).Row, s.Score(G, d.Name, 3).Row);
        Assert.Contains(s.Partials(1), p => p.GlobalPartnerId == G && p.Designation == "ModernWork"); // the data is real
        Assert.DoesNotContain(s.Partials(1), p => p.Designation == "Security"); // csp only credits Azure/Teams here
    }

    [Fact]
    public void A_partial_round_trips_through_json()
    {
        var s = new ScoreScenario();
        s.Row(1, "2025-06", 1000.123456789, null, Csp(G)).Row(1, "2026-06", 2000, null, Csp(G));
        var partials = s.Partials();
        var back = JsonSerializer.Deserialize<List<ScorePartial>>(JsonSerializer.Serialize(partials))!;
        Assert.Equal(JsonSerializer.Serialize(partials), JsonSerializer.Serialize(back));
        Assert.Equal(CapabilityScores.Score(s.Rules.Designations[0], 12, s.AsOf, G, back[0], []).Row, s.RowFor(G, "Infrastructure"));
    }

    [Fact]
    public void The_accumulator_reads_the_19_months_the_default_designations_need()
    {
        var acc = new ScoreAccumulator(CreditRulesLoader.Default, new YearMonth(2026, 6), new Dictionary<long, long>());
        Assert.Equal(new YearMonth(2024, 12), acc.FirstMonth); // 2026-06 − 5 − 12 − 1
    }
}
