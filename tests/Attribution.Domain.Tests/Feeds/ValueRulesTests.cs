using Attribution.Domain;
using Attribution.Domain.Feeds;

namespace Attribution.Domain.Tests.Feeds;

public sealed class ValueRulesTests
{
    [Theory]
    [InlineData("3F2504E0-4F89-11D3-9A0C-0305E82C3301", "3f2504e0-4f89-11d3-9a0c-0305e82c3301")]
    [InlineData("{3f2504e0-4f89-11d3-9a0c-0305e82c3301}", "3f2504e0-4f89-11d3-9a0c-0305e82c3301")]
    [InlineData("  3f2504e0-4f89-11d3-9a0c-0305e82c3301 ", "3f2504e0-4f89-11d3-9a0c-0305e82c3301")]
    public void Guids_in_any_case_with_or_without_braces_are_stored_lower_case(string text, string expected)
    {
        Assert.Null(ValueRules.ParseGuid(text, out var g));
        Assert.Equal(expected, g.ToString("D"));
    }

    [Theory]
    [InlineData("3f2504e04f8911d39a0c0305e82c3301")] // no hyphens
    [InlineData("(3f2504e0-4f89-11d3-9a0c-0305e82c3301)")]
    [InlineData("3f2504e0-4f89-11d3-9a0c-0305e82c330")]
    [InlineData("contoso.onmicrosoft.com")]
    [InlineData("")]
    public void Anything_else_is_not_a_guid(string text)
    {
        var problem = ValueRules.ParseGuid(text, out _);
        Assert.NotNull(problem);
        Assert.Contains("not a GUID", problem);
    }

    [Theory]
    [InlineData("1234567", 1234567)]
    [InlineData(" 0001234567 ", 1234567)]
    [InlineData("9999999999", 9999999999)]
    [InlineData("7", 7)]
    public void Partner_ids_are_up_to_ten_digits_with_leading_zeros_dropped(string text, long expected)
    {
        Assert.Null(ValueRules.ParsePartnerId(text, out var id));
        Assert.Equal(expected, id.Value);
    }

    [Theory]
    [InlineData("12345678901")]
    [InlineData("12a45")]
    [InlineData("-123")]
    [InlineData("1 234")]
    [InlineData("12.0")]
    public void Other_partner_ids_are_rejected(string text) =>
        Assert.Contains("not a partner ID", ValueRules.ParsePartnerId(text, out _));

    [Theory]
    [InlineData("2026-03-01", 2026, 3, 1)]
    [InlineData("2026-03-01T23:30:00Z", 2026, 3, 1)]
    [InlineData("2026-03-01T23:30:00-05:00", 2026, 3, 2)] // the UTC date counts
    [InlineData("2026-03-01T01:30:00+02:00", 2026, 2, 28)]
    [InlineData("2026-03-01T10:00:00.1234567Z", 2026, 3, 1)]
    [InlineData("3/1/2026", 2026, 3, 1)]
    [InlineData("12/31/2025 11:59:59 PM", 2025, 12, 31)]
    [InlineData("1/5/2026 12:00:00 AM", 2026, 1, 5)]
    [InlineData("01/05/2026 13:45", 2026, 1, 5)]
    public void Dates_in_the_three_accepted_forms(string text, int y, int m, int d)
    {
        Assert.Null(ValueRules.ParseDate(text, out var date));
        Assert.Equal(new DateOnly(y, m, d), date);
    }

    [Theory]
    [InlineData("2026-02-30")]
    [InlineData("2026-13-01")]
    [InlineData("2026-03-01T10:00:00")] // no offset
    [InlineData("01.03.2026")]
    [InlineData("2026/03/01")]
    [InlineData("13/1/2026")]
    [InlineData("2/30/2026")]
    [InlineData("3/1/26")]
    [InlineData("3/1/2026 noon")]
    [InlineData("yesterday")]
    public void Other_dates_are_rejected(string text) => Assert.NotNull(ValueRules.ParseDate(text, out _));

    [Theory]
    [InlineData("2026-01", 2026, 1)]
    [InlineData("1999-12", 1999, 12)]
    public void Months_are_yyyy_MM(string text, int y, int m)
    {
        Assert.Null(ValueRules.ParseMonth(text, out var month));
        Assert.Equal(new YearMonth(y, m), month);
    }

    [Theory]
    [InlineData("2026-1")]
    [InlineData("2026-13")]
    [InlineData("202601")]
    [InlineData("Jan 2026")]
    [InlineData("2026-01-01")]
    public void Other_months_are_rejected(string text) => Assert.Contains("not a month", ValueRules.ParseMonth(text, out _));

    [Theory]
    [InlineData("0", 0)]
    [InlineData("1234.56", 1234.56)]
    [InlineData(" 7.5 ", 7.5)]
    [InlineData(".5", 0.5)]
    public void Amounts_are_invariant_decimals_at_least_zero(string text, double expected)
    {
        Assert.Null(ValueRules.ParseAmount(text, out var v));
        Assert.Equal(expected, v);
    }

    [Theory]
    [InlineData("-1", "negative")]
    [InlineData("1,234.56", "not a decimal")]
    [InlineData("12,5", "not a decimal")]
    [InlineData("1e5", "not a decimal")]
    [InlineData("NaN", "not a decimal")]
    [InlineData("$12", "not a decimal")]
    public void Other_amounts_are_rejected(string text, string problem) => Assert.Contains(problem, ValueRules.ParseAmount(text, out _));

    [Theory]
    [InlineData("0", 0)]
    [InlineData("250", 250)]
    public void Active_users_are_whole_numbers_at_least_zero(string text, long expected)
    {
        Assert.Null(ValueRules.ParseCount(text, out var v));
        Assert.Equal(expected, v);
    }

    [Theory]
    [InlineData("-3", "negative")]
    [InlineData("2.5", "not a whole number")]
    [InlineData("many", "not a whole number")]
    public void Other_counts_are_rejected(string text, string problem) => Assert.Contains(problem, ValueRules.ParseCount(text, out _));

    [Theory]
    [InlineData("Azure", Workload.Azure)]
    [InlineData("azure", Workload.Azure)]
    [InlineData("Microsoft Azure", Workload.Azure)]
    [InlineData("Exchange Online", Workload.Exchange)]
    [InlineData("SharePoint Online", Workload.SharePoint)]
    [InlineData("Microsoft Teams", Workload.Teams)]
    [InlineData("OneDrive for Business", Workload.OneDrive)]
    [InlineData("Microsoft Intune", Workload.Intune)]
    [InlineData("EMS", Workload.Intune)]
    [InlineData("Azure AD Premium", Workload.EntraID)]
    [InlineData("Entra ID P1", Workload.EntraID)]
    [InlineData("ENTRAID", Workload.EntraID)]
    [InlineData("Dynamics 365", Workload.Dynamics365)]
    [InlineData("Power Apps", Workload.PowerPlatform)]
    [InlineData("Power Automate", Workload.PowerPlatform)]
    [InlineData("Power BI", Workload.PowerPlatform)]
    public void Workload_names_and_common_product_names(string text, Workload expected)
    {
        Assert.True(WorkloadNames.TryParse(text, out var w));
        Assert.Equal(expected, w);
    }

    [Fact]
    public void Workload_lists_are_separated_by_semicolons_or_pipes()
    {
        Assert.True(WorkloadNames.TryParseList("Exchange Online; Teams|Power BI", out var set, out _));
        Assert.Equal("Exchange;PowerPlatform;Teams", set.ToString());
        Assert.False(WorkloadNames.TryParseList("Teams;Minecraft", out _, out var unknown));
        Assert.Equal("Minecraft", unknown);
    }

    [Fact]
    public void Unknown_workloads_are_not_recognised()
    {
        Assert.False(WorkloadNames.TryParse("Office", out _));
        Assert.False(WorkloadNames.TryParse("Minecraft", out _));
    }

    [Theory]
    [InlineData("samples/feeds/usage/anything.csv", FeedSource.Usage)]
    [InlineData("/x/csp/recon.csv.gz", FeedSource.Csp)]
    [InlineData("/x/y/fasttrack_2026.jsonl", FeedSource.FastTrack)]
    [InlineData("/x/y/DAP-export.csv", FeedSource.Dap)]
    [InlineData("/x/y/partners.csv", FeedSource.Partners)]
    public void The_source_is_inferred_from_the_folder_or_file_name(string path, FeedSource expected)
    {
        Assert.True(FeedSources.TryInferFromPath(path, out var s));
        Assert.Equal(expected, s);
    }

    [Fact]
    public void A_name_that_merely_starts_like_a_source_is_not_inferred() =>
        Assert.False(FeedSources.TryInferFromPath("/x/y/usagedata.csv", out _));
}
