using System.Globalization;
using Attribution.Domain.Rules;
using Attribution.Testing;

namespace Attribution.Domain.Tests.Scores;

/// <summary>
/// The score oracle (tests/Attribution.Testing/ScoreOracle.cs) on small hand-built cases, each expected number worked
/// out by hand from PRODUCT.md §7 in the comments. asOf is 2026-06 throughout: M−1 = 2026-05, M−12 = 2025-06,
/// M−13 = 2025-05, the 12-month window 2025-07..2026-06, the qualification window 2026-01..2026-06.
/// </summary>
public sealed class ScoreOracleTests
{
    // ---- Q(M): the M / M−1 rule, minPerTenant and maxPerTenant -------------------------------------------------

    [Fact]
    public void Q_counts_a_tenant_within_the_bounds_in_M_or_in_M_minus_1_and_net_adds_subtract_Q_a_year_earlier()
    {
        // netCustomerAdds on revenue, min 1,000, 10 points a tenant (max 100); csp partner 1 tenant-wide on all.
        var c = new OracleCase().With(OracleCase.Designation("T", OracleCase.NetAdds(ScoreMeasure.Revenue, 1000, 10, 100)));
        c.Use(1, "2026-06", 1000, null);              // exactly the minimum, in M          → Q(M)
        c.Use(2, "2026-05", 5000, null);              // in M−1 only                        → Q(M)
        c.Use(3, "2026-04", 5000, null);              // M−2: neither M nor M−1             → not counted
        c.Use(8, "2026-04", 5000, null);              // M−2 again (so a wrong month shows in the count)
        c.Use(4, "2026-06", 999.99, null);            // under the minimum                  → not counted
        c.Use(5, "2026-06", 600, null, sub: 51);      // two rows of one tenant in M:
        c.Use(5, "2026-06", 400, null, sub: 52);      //   value = 600 + 400 = 1,000        → Q(M)
        c.Use(6, "2025-05", 2000, null);              // M−13 = (M−12)−1                    → Q(M−12)
        c.Use(7, "2025-04", 2000, null);              // M−14                               → not counted
        for (var t = 1; t <= 8; t++) c.Csp(1, t);
        c.Credit(1);

        var row = c.Row(1, "T");

        // |Q(M)| = |{1, 2, 5}| = 3, |Q(M−12)| = |{6}| = 1 → 2 net adds × 10 = 20 points (reading M−2 would give 4 − 1).
        Assert.Equal(2, row.NetCustomerAdds);
        Assert.Equal(20, row.NetCustomerAddsPoints);
        Assert.Equal(20, row.Score);
        Assert.False(row.Qualified);
        Assert.Equal(50, row.PointsToQualify); // 70 − 20
        Assert.Equal("", row.ZeroMetrics);
        Assert.Equal("Only", row.Track);
    }

    [Fact]
    public void MaxPerTenant_bounds_Q_from_above_inclusively_and_either_month_may_fit()
    {
        // netCustomerAdds on active users, 11 ≤ value ≤ 300, 2 points a tenant (max 20).
        var c = new OracleCase().With(OracleCase.Designation("T", OracleCase.NetAdds(ScoreMeasure.ActiveUsers, 11, 2, 20, maxPerTenant: 300)));
        c.Use(1, "2026-06", null, 10);   // under 11          → no
        c.Use(2, "2026-06", null, 11);   // = min             → yes
        c.Use(3, "2026-06", null, 300);  // = max             → yes
        c.Use(4, "2026-06", null, 301);  // over max          → no
        c.Use(5, "2026-06", null, 301);  // over max in M,
        c.Use(5, "2026-05", null, 200);  // but fits in M−1   → yes
        for (var t = 1; t <= 5; t++) c.Csp(1, t);
        c.Credit(1);

        var row = c.Row(1, "T");

        // |Q(M)| = |{2, 3, 5}| = 3, |Q(M−12)| = 0 → 3 × 2 = 6 points.
        Assert.Equal(3, row.NetCustomerAdds);
        Assert.Equal(6, row.NetCustomerAddsPoints);
    }

    [Fact]
    public void Negative_net_adds_are_published_as_they_are_with_0_points()
    {
        var c = new OracleCase().With(OracleCase.Designation("T", OracleCase.NetAdds(ScoreMeasure.Revenue, 1000, 10, 30)));
        c.Use(1, "2025-06", 2000, null); // M−12 → Q(M−12)
        c.Use(2, "2025-05", 1500, null); // M−13 → Q(M−12)
        c.Use(3, "2026-06", 5000, null); // M    → Q(M)
        for (var t = 1; t <= 3; t++) c.Csp(1, t);
        c.Credit(1);

        var row = c.Row(1, "T");

        // 1 − 2 = −1 net adds; −1 × 10 = −10 → clamped to 0 points.
        Assert.Equal(-1, row.NetCustomerAdds);
        Assert.Equal(0, row.NetCustomerAddsPoints);
        Assert.Equal(0, row.Score);
        Assert.Equal("netCustomerAdds", row.ZeroMetrics);
        Assert.Equal(70, row.PointsToQualify);
    }

    // ---- usageGrowth ------------------------------------------------------------------------------------------

    [Fact]
    public void Usage_growth_is_null_under_the_minimum_baseline_or_a_zero_baseline_and_else_a_percent_of_the_baseline()
    {
        var c = new OracleCase().With(
            OracleCase.Designation("G1000", OracleCase.Growth(ScoreMeasure.Revenue, 1000, 1, 20)),
            OracleCase.Designation("G0", OracleCase.Growth(ScoreMeasure.Revenue, 0, 1, 20)));
        // Partner 1: baseline 999 < 1,000.
        c.Use(1, "2025-06", 999, null).Use(1, "2026-06", 5000, null).Csp(1, 1);
        // Partner 2: nothing a year ago: baseline 0.
        c.Use(2, "2026-06", 5000, null).Csp(2, 2);
        // Partner 3: 1,000 → 1,100.
        c.Use(3, "2025-06", 1000, null).Use(3, "2026-06", 1100, null).Csp(3, 3);
        // Partner 4: 2,000 → 1,000.
        c.Use(4, "2025-06", 2000, null).Use(4, "2026-06", 1000, null).Csp(4, 4);
        // Partner 5: 1,200 → 1,250.50.
        c.Use(5, "2025-06", 1200, null).Use(5, "2026-06", 1250.5, null).Csp(5, 5);
        c.Credit(1, 2, 3, 4, 5);

        // 1: under the minimum baseline → null, 0 points; with minBaseline 0: (5000 − 999) / 999 × 100 = 400.4 % → max 20.
        Assert.Null(c.Row(1, "G1000").UsageGrowthPercent);
        Assert.Equal(0, c.Row(1, "G1000").UsageGrowthPoints);
        Assert.Equal("usageGrowth", c.Row(1, "G1000").ZeroMetrics);
        Assert.True(ScoreOracle.Close(4001.0 / 999 * 100, c.Row(1, "G0").UsageGrowthPercent!.Value));
        Assert.Equal(20, c.Row(1, "G0").UsageGrowthPoints);
        // 2: baseline 0 → null even when the minimum is 0.
        Assert.Null(c.Row(2, "G0").UsageGrowthPercent);
        Assert.Equal(0, c.Row(2, "G0").UsageGrowthPoints);
        // 3: (1100 − 1000) / 1000 × 100 = 10 % → 10 points.
        Assert.Equal(10, c.Row(3, "G1000").UsageGrowthPercent);
        Assert.Equal(10, c.Row(3, "G1000").UsageGrowthPoints);
        // 4: (1000 − 2000) / 2000 × 100 = −50 % → 0 points.
        Assert.Equal(-50, c.Row(4, "G1000").UsageGrowthPercent);
        Assert.Equal(0, c.Row(4, "G1000").UsageGrowthPoints);
        // 5: 50.5 / 1200 × 100 = 4.208333… % → 4.208333… points.
        Assert.True(ScoreOracle.Close(4.208333333333333, c.Row(5, "G1000").UsageGrowthPercent!.Value));
        Assert.True(ScoreOracle.Close(4.208333333333333, c.Row(5, "G1000").UsageGrowthPoints!.Value));
    }

    // ---- deployments ------------------------------------------------------------------------------------------

    [Fact]
    public void Deployments_sum_revenue_over_the_window_but_take_the_peak_month_of_active_users()
    {
        var c = new OracleCase().With(
            OracleCase.Designation("DRev", OracleCase.Deployments(ScoreMeasure.Revenue, 12000, 2, 10)),
            OracleCase.Designation("DUsers", OracleCase.Deployments(ScoreMeasure.ActiveUsers, 300, 5, 25)));
        // Tenant 1: 1,000 USD and 200 users in each of the 12 window months 2025-07..2026-06.
        for (var i = 0; i < 12; i++) c.Use(1, new YearMonth(2025, 7).AddMonths(i).ToString(), 1000, 200);
        // Tenant 2: 11,000 USD in M, 5,000 USD in 2025-06 (just outside the window), 300 users in 2025-07 (its first month).
        c.Use(2, "2026-06", 11000, null).Use(2, "2025-06", 5000, null).Use(2, "2025-07", null, 300);
        // Tenant 3: 1,000 users in 2025-06 only: outside the window.
        c.Use(3, "2025-06", null, 1000);
        for (var t = 1; t <= 3; t++) c.Csp(1, t);
        c.Credit(1);

        // Revenue: tenant 1 sums 12 × 1,000 = 12,000 ≥ 12,000 ✓; tenant 2 sums 11,000 (+ 0) ✗; tenant 3: 0 ✗ → 1 × 2 = 2 points.
        Assert.Equal(1, c.Row(1, "DRev").Deployments);
        Assert.Equal(2, c.Row(1, "DRev").DeploymentsPoints);
        // Users: tenant 1 peaks at 200 ✗ (its sum 2,400 would pass); tenant 2 peaks at 300 ✓; tenant 3 ✗ → 1 × 5 = 5 points.
        Assert.Equal(1, c.Row(1, "DUsers").Deployments);
        Assert.Equal(5, c.Row(1, "DUsers").DeploymentsPoints);
    }

    // ---- certifications ---------------------------------------------------------------------------------------

    [Fact]
    public void Certifications_count_distinct_persons_across_locations_in_force_on_the_last_day_of_M()
    {
        var c = new OracleCase().With(
            OracleCase.Designation("C",
                OracleCase.Certs(ScoreMetric.IntermediateCertifications, 4, 40, "AZ-104", "AZ-700"),
                OracleCase.Certs(ScoreMetric.AdvancedCertifications, 4, 20, "AZ-305")),
            // Codes as a hand-built rule might hold them, lower-case (the loader upper-cases; the oracle must not care).
            OracleCase.Designation("Lower", OracleCase.Certs(ScoreMetric.AdvancedCertifications, 4, 20, "az-305")));
        c.Location(11, 1);
        c.Cert(1, "p0", "AZ-104", "2025-01-01", "2026-06-30");  // expires on the last day of M: still held   ✓ p0
        c.Cert(1, "p1", "AZ-104", "2025-01-01");                //                                              ✓ p1
        c.Cert(1, "p2", "AZ-700", "2025-01-01", "2026-06-29");  // expired the day before                      ✗
        c.Cert(1, "p3", "az-104", "2026-06-30");                // lower-case code, earned on the day          ✓ p3
        c.Cert(1, "p1", "AZ-700", "2025-01-01");                // p1 again                                     (p1)
        c.Cert(1, "p4", "AZ-900", "2025-01-01");                // not a listed code                            ✗
        c.Cert(1, "P1", "AZ-104", "2025-01-01");                // "P1" ≠ "p1": person ids compare exactly      ✓ P1
        c.Cert(1, "p8", "AZ-104", "2026-07-01");                // earned after M                               ✗
        c.Cert(11, "p1", "AZ-104", "2025-01-01");               // location 11 → global 1: p1 again             (p1)
        c.Cert(11, "p6", "AZ-700", "2025-01-01");               // location 11 → global 1                       ✓ p6
        c.Cert(1, "p5", "AZ-305", "2025-01-01");                // advanced                                     ✓ p5

        var rows = c.Rows();
        var row = c.Row(1, "C");

        // Intermediate {p0, p1, p3, P1, p6} = 5 × 4 = 20; advanced {p5} = 1 × 4 = 4; score 24.
        Assert.Equal(5, row.IntermediateCertifications);
        Assert.Equal(20, row.IntermediateCertificationsPoints);
        Assert.Equal(1, row.AdvancedCertifications);
        Assert.Equal(4, row.AdvancedCertificationsPoints);
        Assert.Equal(24, row.Score);
        Assert.Equal(1, c.Row(1, "Lower").AdvancedCertifications);
        // Certifications alone put global 1 in the population; the location has no row of its own.
        Assert.DoesNotContain(rows, r => r.GlobalPartnerId == 11);
        // Metrics the track lacks are null.
        Assert.Null(row.NetCustomerAdds);
        Assert.Null(row.UsageGrowthPercent);
        Assert.Null(row.UsageGrowthPoints);
        Assert.Null(row.DeploymentsPoints);
    }

    // ---- who is credited --------------------------------------------------------------------------------------

    [Fact]
    public void Locations_roll_up_to_their_global_partner_and_a_row_credited_to_two_locations_counts_once()
    {
        // 500 ≤ value ≤ 1,500: a row counted twice (2,000) would fall out of Q.
        var c = new OracleCase().With(OracleCase.Designation("T", OracleCase.NetAdds(ScoreMeasure.Revenue, 500, 1, 100, maxPerTenant: 1500)));
        c.Location(11, 1).Location(12, 1).Location(20, 20);
        c.Use(1, "2026-06", 1000, null).Csp(11, 1).Pal(12, 1);   // two locations of 1 on one row: value 1,000 for G = 1
        c.Use(2, "2026-06", 800, null).Pal(12, 2);               // location 12 → 1
        c.Use(3, "2026-06", 900, null).Csp(13, 3);               // 13 is not in the directory: its own global partner

        var withCredit = ScoreOracle.GlobalPartnersCredited(c.Rules, c.AsOf, c.Usage, c.Associations, c.Dpor, c.Partners);
        Assert.Equal([1L, 13L], withCredit.Order());
        c.Credit([.. withCredit]);
        var rows = c.Rows();

        // Global 1: Q(M) = {1 (1,000 once), 2 (800)} → 2; global 13: {3} → 1. No row for a location.
        Assert.Equal(2, c.Row(1, "T").NetCustomerAdds);
        Assert.Equal(1, c.Row(13, "T").NetCustomerAdds);
        Assert.Equal([1L, 13L], rows.Select(r => r.GlobalPartnerId));
    }

    [Fact]
    public void A_pal_association_credits_within_its_subscription_and_workload_scope_when_in_force_on_a_day_of_the_month()
    {
        // 1 point a tenant with any revenue in M or M−1; sources csp dpor pal.
        var c = new OracleCase().With(OracleCase.Designation("T", OracleCase.NetAdds(ScoreMeasure.Revenue, 1, 1, 100)));
        for (var t = 1; t <= 8; t++) c.Use(t, "2026-06", 100, null);               // tenant t's subscription is t
        c.Pal(1, 1);                                                               // tenant-wide, all workloads      ✓
        c.Pal(1, 2, sub: 99);                                                      // another subscription            ✗
        c.Pal(1, 3, sub: 3, workloads: OracleCase.W(Workload.Azure));              // its subscription and Azure      ✓
        c.Pal(1, 4, workloads: OracleCase.W(Workload.Exchange));                   // another workload                ✗
        c.Pal(1, 5, from: "2026-06-30");                                           // linked on M's last day          ✓
        c.Pal(1, 6, from: "2025-01-01", to: "2026-04-30");                         // unlinked before M−1             ✗
        c.Assoc(AssociationSource.Dap, 1, 7, null, WorkloadSet.Empty, "2020-01-01", null); // dap is not a source  ✗
        c.Pal(1, 8, from: "2025-01-01", to: "2026-06-01");                         // in force on M's first day       ✓
        c.Credit(1);

        // Q(M) = {1, 3, 5, 8} → 4.
        Assert.Equal(4, c.Row(1, "T").NetCustomerAdds);
    }

    [Fact]
    public void The_dpor_credits_only_designations_that_list_dpor_for_months_it_is_in_force_on_at_least_one_day()
    {
        var with = OracleCase.Designation("WithDpor", OracleCase.NetAdds(ScoreMeasure.Revenue, 1, 1, 100)) with { Sources = [AssociationSource.Dpor] };
        var without = OracleCase.Designation("NoDpor", OracleCase.NetAdds(ScoreMeasure.Revenue, 1, 1, 100)) with { Sources = [AssociationSource.Csp, AssociationSource.Pal] };
        var c = new OracleCase().With(with, without);
        for (var t = 1; t <= 6; t++) c.Use(t, "2026-06", 100, null);
        // One partner (or two) per subscription, so each case is judged on its own.
        c.DporEvent(1, 1, "2026-06-30");                                                  // S1: 1 from June 30 (one day)      → 1 ✓
        c.DporEvent(2, 3, "2026-01-01").DporEvent(2, 3, "2026-06-01", DporAction.Remove); // S2: removed June 1 = ends May 31   → 3 ✗
        c.DporEvent(3, 4, "2026-01-01").DporEvent(3, 5, "2026-06-02");                    // S3: 4 on June 1 only, 5 from June 2 → 4 ✓, 5 ✓
        c.DporEvent(4, 6, "2026-06-15", ingestedMinutes: 0).DporEvent(4, 7, "2026-06-15", ingestedMinutes: 60); // S4: same day, 7 ingested later wins → 7 ✓, 6 ✗
        c.DporEvent(5, 8, "2026-06-15", ingestedMinutes: 0)
         .DporEvent(5, 8, "2026-06-15", DporAction.Remove, ingestedMinutes: 60);          // S5: the later remove wins the day → 8 ✗
        c.DporEvent(6, 9, "2026-07-01");                                                  // S6: after M                       → 9 ✗
        c.DporEvent(6, 10, "2026-05-31");                                                 //     10 from May 31 on            → 10 ✓
        c.Credit(1, 3, 4, 5, 6, 7, 8, 9, 10);

        var expected = new Dictionary<long, int> { [1] = 1, [3] = 0, [4] = 1, [5] = 1, [6] = 0, [7] = 1, [8] = 0, [9] = 0, [10] = 1 };
        foreach (var (partner, adds) in expected)
        {
            Assert.True(adds == c.Row(partner, "WithDpor").NetCustomerAdds, $"partner {partner}: expected {adds} with dpor");
            // Without dpor in the sources nobody is credited.
            Assert.Equal(0, c.Row(partner, "NoDpor").NetCustomerAdds);
        }
    }

    [Fact]
    public void With_the_default_designations_the_dpor_credits_Infrastructure_but_not_Security()
    {
        var c = new OracleCase();
        c.Use(1, "2026-06", 5000, null, Workload.Azure).Use(1, "2026-06", null, 500, Workload.Intune);
        c.DporEvent(1, 1, "2026-01-01");
        c.Credit(1);

        // Infrastructure (csp dpor pal): 5,000 ≥ 1,000 → 1 net add, 10 points. Security (csp dap pal): the DPOR is no
        // source, so 500 users ≥ 100 do not count.
        Assert.Equal(1, c.Row(1, "Infrastructure").NetCustomerAdds);
        Assert.Equal(10, c.Row(1, "Infrastructure").NetCustomerAddsPoints);
        Assert.Equal(0, c.Row(1, "Security").NetCustomerAdds);
    }

    // ---- tracks -----------------------------------------------------------------------------------------------

    [Fact]
    public void A_qualifying_track_wins_over_a_higher_score_that_does_not_qualify()
    {
        var c = new OracleCase(); // default rules: ModernWork Enterprise, then SMB
        for (var t = 1; t <= 5; t++)   // 5 large tenants: 1,000 users a year ago, 2,000 now
            c.Use(t, "2025-06", null, 1000, Workload.Exchange).Use(t, "2026-06", null, 2000, Workload.Exchange).Csp(1, t);
        for (var t = 11; t <= 14; t++) // 4 small tenants, new: 30 users
            c.Use(t, "2026-06", null, 30, Workload.Exchange).Csp(1, t);
        foreach (var p in new[] { "a", "b", "c", "d" }) c.Cert(1, p, "MS-102", "2025-01-01");
        foreach (var p in new[] { "e", "f" }) c.Cert(1, p, "MS-721", "2025-01-01");
        c.Credit(1);

        var row = c.Row(1, "ModernWork");

        // Both: growth base total(2025-06) = 5,000, now 5 × 2,000 + 4 × 30 = 10,120 → 102.4 % → max 30;
        //       intermediate 4 persons × 2.5 = 10 (max 10), advanced 2 × 7.5 = 15 (max 15).
        // Enterprise: Q(M) ≥ 300 = the 5 large, Q(M−12) = the 5 large → 0 net adds → 0; deployments peak ≥ 300: 5 × 5 = 25.
        //             score 0 + 30 + 25 + 10 + 15 = 80, but a metric is at 0: does not qualify.
        // SMB: Q(M) in [11, 300] = the 4 small (2,000 > 300), Q(M−12) = {} (1,000 > 300) → 4 × 2 = 8;
        //      deployments peak ≥ 40 = the 5 large (30 < 40) → 5 × 2.5 = 12.5. Score 8 + 30 + 12.5 + 10 + 15 = 75.5 ≥ 70,
        //      every metric > 0: qualifies, and is chosen over Enterprise's 80.
        Assert.Equal("SMB", row.Track);
        Assert.Equal(75.5, row.Score);
        Assert.True(row.Qualified);
        Assert.Equal(0, row.PointsToQualify);
        Assert.Equal("", row.ZeroMetrics);
        Assert.Equal(4, row.NetCustomerAdds);
        Assert.Equal(8, row.NetCustomerAddsPoints);
        Assert.True(ScoreOracle.Close(102.4, row.UsageGrowthPercent!.Value));
        Assert.Equal(30, row.UsageGrowthPoints);
        Assert.Equal(5, row.Deployments);
        Assert.Equal(12.5, row.DeploymentsPoints);
        Assert.Equal(4, row.IntermediateCertifications);
        Assert.Equal(10, row.IntermediateCertificationsPoints);
        Assert.Equal(2, row.AdvancedCertifications);
        Assert.Equal(15, row.AdvancedCertificationsPoints);
        // 2026-01..05: no usage in M or M−1 nor a year before, baseline total(M−12) = 0; the window still holds 2025-06:
        // Enterprise 0 + 0 + 25 + 25 = 50 beats SMB 0 + 0 + 12.5 + 25 = 37.5, and neither qualifies. Only 2026-06 does.
        Assert.Equal("2026-06", row.QualifiedMonths);
        Assert.True(row.Eligible);
        Assert.Equal(["Enterprise", "Enterprise", "Enterprise", "Enterprise", "Enterprise", "SMB"], row.Months.Select(m => m.Track));
        Assert.Equal(50, row.Months[0].Score);
    }

    [Fact]
    public void Without_a_qualifying_track_the_highest_score_wins_and_a_tie_goes_to_the_first_listed()
    {
        var c = new OracleCase();
        // Partner 1: one MS-102 holder and nothing else: 2.5 in both tracks → tie → Enterprise (listed first).
        c.Cert(1, "x", "MS-102", "2025-01-01");
        // Partner 2: the same, plus one tenant with 50 users in M: Enterprise gains nothing (50 < 300);
        // SMB: 50 in [11, 300] → 1 net add × 2 = 2, peak 50 ≥ 40 → 1 deployment × 2.5 = 2.5 → 7 > 2.5.
        c.Cert(2, "y", "MS-102", "2025-01-01");
        c.Use(1, "2026-06", null, 50, Workload.Teams).Csp(2, 1);
        c.Credit(2);

        var tie = c.Row(1, "ModernWork");
        Assert.Equal("Enterprise", tie.Track);
        Assert.Equal(2.5, tie.Score);
        Assert.False(tie.Qualified);
        Assert.Equal(67.5, tie.PointsToQualify);
        Assert.Equal("advancedCertifications;deployments;netCustomerAdds;usageGrowth", tie.ZeroMetrics);
        Assert.Equal(0, tie.NetCustomerAdds);
        Assert.Null(tie.UsageGrowthPercent);
        Assert.Equal(0, tie.UsageGrowthPoints);

        var smb = c.Row(2, "ModernWork");
        Assert.Equal("SMB", smb.Track);
        Assert.Equal(7, smb.Score);
        Assert.Equal("advancedCertifications;usageGrowth", smb.ZeroMetrics);
    }

    // ---- qualification window and population ------------------------------------------------------------------

    [Fact]
    public void Eligible_when_qualified_in_any_of_the_six_months_ending_asOf_and_not_when_only_in_the_seventh()
    {
        // One certification holder is worth the whole bar.
        var c = new OracleCase().With(OracleCase.Designation("Cert70", OracleCase.Certs(ScoreMetric.IntermediateCertifications, 70, 70, "AZ-104")));
        c.Cert(1, "a", "AZ-104", "2026-01-31", "2026-02-27"); // held on 2026-01-31 (M−5) only
        c.Cert(2, "b", "AZ-104", "2025-12-31", "2026-01-30"); // held on 2025-12-31 (M−6) only
        c.Cert(3, "c", "AZ-104", "2026-03-31");               // held from 2026-03-31 on
        c.Credit(2); // 2's certification is outside the window: only credit puts it in the population

        var one = c.Row(1, "Cert70");
        Assert.False(one.Qualified);
        Assert.True(one.Eligible);
        Assert.Equal("2026-01", one.QualifiedMonths);
        Assert.Equal(0, one.Score);

        var two = c.Row(2, "Cert70");
        Assert.False(two.Eligible);
        Assert.Equal("", two.QualifiedMonths);

        var three = c.Row(3, "Cert70");
        Assert.True(three.Qualified);
        Assert.True(three.Eligible);
        Assert.Equal("2026-03;2026-04;2026-05;2026-06", three.QualifiedMonths);
        Assert.Equal(70, three.Score);
        Assert.Equal(0, three.PointsToQualify);
    }

    [Fact]
    public void The_population_is_the_partners_with_credit_and_those_holding_any_certification_on_a_last_day_of_the_window()
    {
        var c = new OracleCase(); // the four default designations
        c.Location(61, 6);
        c.Cert(61, "a", "AZ-104", "2026-01-31", "2026-01-31"); // held on 2026-01-31 only → global 6 is in
        c.Cert(7, "b", "AZ-104", "2025-01-01", "2026-01-30");  // last held on 2025-12-31: outside → 7 is out
        c.Cert(8, "c", "AZ-104", "2026-07-01");                // earned after asOf → 8 is out
        c.Cert(9, "d", "XX-999", "2025-01-01");                // a code no designation lists still counts → 9 is in
        c.Credit(5);                                           // 5: a GlobalPartnerCredit row

        var rows = c.Rows();

        string[] designations = ["Infrastructure", "ModernWork", "Security", "BusinessApplications"];
        Assert.Equal([5L, 5, 5, 5, 6, 6, 6, 6, 9, 9, 9, 9], rows.Select(r => r.GlobalPartnerId));
        Assert.Equal([.. designations, .. designations, .. designations], rows.Select(r => r.Designation));
        Assert.All(rows, r => Assert.Equal("2026-06", r.AsOf.ToString()));
        Assert.All(rows, r => Assert.Equal($"2026-06|{r.Designation}", r.RowKey));
    }

    [Fact]
    public void ToProperties_names_every_published_property_of_7_4_and_leaves_the_metrics_the_track_lacks_null()
    {
        var c = new OracleCase();
        c.Credit(5);
        var security = c.Row(5, "Security"); // Security has no advancedCertifications

        var p = security.ToProperties();

        Assert.Equal(
            ["advancedCertifications", "advancedCertificationsPoints", "asOf", "deployments", "deploymentsPoints", "designation",
             "eligible", "globalPartnerId", "intermediateCertifications", "intermediateCertificationsPoints", "netCustomerAdds",
             "netCustomerAddsPoints", "pointsToQualify", "qualified", "qualifiedMonths", "rulesVersion", "score", "track",
             "usageGrowthPercent", "usageGrowthPoints", "zeroMetrics"],
            p.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("5", p["globalPartnerId"]);
        Assert.Equal("2026-06", p["asOf"]);
        Assert.Equal("Security", p["designation"]);
        Assert.Equal(c.Rules.RulesVersion, p["rulesVersion"]);
        Assert.Null(p["advancedCertifications"]);
        Assert.Null(p["advancedCertificationsPoints"]);
        Assert.Null(p["usageGrowthPercent"]);          // baseline 0
        Assert.Equal(0.0, p["usageGrowthPoints"]);
        Assert.Equal(0, p["netCustomerAdds"]);
        Assert.Equal(70.0, p["pointsToQualify"]);
        Assert.Equal("deployments;intermediateCertifications;netCustomerAdds;usageGrowth", p["zeroMetrics"]);
        Assert.Equal("5", security.PartitionKey);
    }

    [Fact]
    public void Close_is_a_relative_tolerance_of_one_in_a_billion()
    {
        Assert.True(ScoreOracle.Close(1e12, 1e12 + 100));
        Assert.False(ScoreOracle.Close(1e12, 1e12 + 10_000));
        Assert.True(ScoreOracle.Close(0.1 + 0.2, 0.3));
        Assert.False(ScoreOracle.Close(70, 70.001));
        Assert.True(ScoreOracle.Close((double?)null, null));
        Assert.False(ScoreOracle.Close(0, (double?)null));
    }
}

/// <summary>Plain records for the oracle, built by hand. Tenant n's subscription is n unless said otherwise.</summary>
internal sealed class OracleCase
{
    private static readonly DateTimeOffset Ingested = new(2026, 7, 1, 8, 0, 0, TimeSpan.Zero);

    public YearMonth AsOf { get; } = new(2026, 6);
    public CreditRules Rules { get; private set; } = CreditRulesLoader.Default;
    public List<UsageRecord> Usage { get; } = [];
    public List<Association> Associations { get; } = [];
    public List<DporEvent> Dpor { get; } = [];
    public List<PartnerRecord> Partners { get; } = [];
    public List<CertificationRecord> Certifications { get; } = [];
    public HashSet<long> WithCredit { get; } = [];
    private long _line;

    public static Guid Tenant(int n) => new($"10000000-0000-0000-0000-{n:D12}");
    public static Guid Sub(int n) => new($"20000000-0000-0000-0000-{n:D12}");
    public static DateOnly D(string date) => DateOnly.Parse(date, CultureInfo.InvariantCulture);
    public static WorkloadSet W(params Workload[] workloads) => WorkloadSet.Of(workloads);

    private FeedLineage Lineage(int minutes = 0) => new("ing", ++_line, Ingested.AddMinutes(minutes));

    public OracleCase With(params DesignationRule[] designations)
    {
        Rules = Rules with { Designations = designations };
        return this;
    }

    public OracleCase Use(int tenant, string month, double? revenue, long? users, Workload workload = Workload.Azure, int? sub = null)
    {
        Usage.Add(new UsageRecord(Tenant(tenant), Sub(sub ?? tenant), workload, YearMonth.Parse(month), revenue, users, Lineage()));
        return this;
    }

    public OracleCase Assoc(AssociationSource source, long partner, int tenant, int? sub, WorkloadSet workloads, string from, string? to)
    {
        Associations.Add(new Association(source, partner, Tenant(tenant), sub is { } s ? Sub(s) : null, workloads, D(from),
            to is null ? null : D(to), Lineage()));
        return this;
    }

    /// <summary>A csp association, tenant-wide unless a subscription is given, in force since 2020.</summary>
    public OracleCase Csp(long partner, int tenant, int? sub = null) =>
        Assoc(AssociationSource.Csp, partner, tenant, sub, WorkloadSet.Empty, "2020-01-01", null);

    public OracleCase Pal(long partner, int tenant, int? sub = null, WorkloadSet workloads = default, string from = "2020-01-01", string? to = null) =>
        Assoc(AssociationSource.Pal, partner, tenant, sub, workloads, from, to);

    /// <summary>A DPOR event on subscription (and tenant) <paramref name="n"/>.</summary>
    public OracleCase DporEvent(int n, long partner, string date, DporAction action = DporAction.Set, int ingestedMinutes = 0)
    {
        Dpor.Add(new DporEvent(Sub(n), Tenant(n), partner, D(date), action, Lineage(ingestedMinutes)));
        return this;
    }

    public OracleCase Location(long location, long global)
    {
        Partners.Add(new PartnerRecord(location, global, null, null));
        return this;
    }

    public OracleCase Cert(long partner, string person, string code, string earned, string? expires = null)
    {
        Certifications.Add(new CertificationRecord(partner, person, code, D(earned), expires is null ? null : D(expires), Lineage()));
        return this;
    }

    public OracleCase Credit(params long[] globals)
    {
        WithCredit.UnionWith(globals);
        return this;
    }

    public IReadOnlyList<ExpectedScoreRow> Rows() =>
        ScoreOracle.Expected(Rules, AsOf, Usage, Associations, Dpor, Partners, Certifications, WithCredit);

    public ExpectedScoreRow Row(long global, string designation) =>
        Assert.Single(Rows(), r => r.GlobalPartnerId == global && r.Designation == designation);

    // A one-track designation on Azure, sources csp dpor pal, bar 70 over 6 months.
    public static DesignationRule Designation(string name, params ScoreMetricRule[] metrics) =>
        new(name, W(Workload.Azure), [AssociationSource.Csp, AssociationSource.Dpor, AssociationSource.Pal], 70, 6,
            [new TrackRule("Only", metrics)]);

    public static ScoreMetricRule NetAdds(ScoreMeasure measure, double min, double ppu, double max, double? maxPerTenant = null) =>
        new(ScoreMetric.NetCustomerAdds, ppu, max) { Measure = measure, MinPerTenant = min, MaxPerTenant = maxPerTenant };

    public static ScoreMetricRule Growth(ScoreMeasure measure, double minBaseline, double ppp, double max) =>
        new(ScoreMetric.UsageGrowth, ppp, max) { Measure = measure, MinBaseline = minBaseline };

    public static ScoreMetricRule Deployments(ScoreMeasure measure, double min, double ppu, double max) =>
        new(ScoreMetric.Deployments, ppu, max) { Measure = measure, MinPerTenant = min };

    public static ScoreMetricRule Certs(ScoreMetric metric, double ppu, double max, params string[] codes) =>
        new(metric, ppu, max) { Certifications = codes };
}
