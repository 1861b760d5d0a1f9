using System.Globalization;
using Attribution.Core.Credit;
using Attribution.Core.Domain;
using Attribution.Core.Storage;
using Azure.Data.Tables;

namespace Attribution.Core.Recalculation.Snapshots;

/// <summary>
/// The published rows (§4) as table entities: the keys and properties every run writes to its snapshot and
/// publish writes to the tables (publish adds `runId`, the run that last changed the row).
/// </summary>
internal static class CreditEntities
{
    public static readonly IReadOnlyList<string> PublishedTables =
        [TableNames.PartnerCredit, TableNames.GlobalPartnerCredit, TableNames.SubscriptionPartners, TableNames.IncentiveEligibility];

    /// <summary>Snapshot-only index from partner to the subscriptions (and tenants) it was credited on, for evidence.</summary>
    public const string PartnerSubscriptions = "PartnerSubscriptions";

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Num(PartnerId v) => v.ToString();

    public static TableEntity PartnerCreditEntity(PartnerCreditRow r, YearMonth asOf, string rulesVersion, string? runId = null)
    {
        var e = new TableEntity(Num(r.PartnerId), $"{asOf}|{r.Credit.Competency}")
        {
            ["partnerId"] = Num(r.PartnerId),
            ["globalPartnerId"] = Num(r.GlobalPartnerId),
        };
        return WithCredit(e, r.Credit, asOf, rulesVersion, runId);
    }

    public static TableEntity GlobalPartnerCreditEntity(GlobalPartnerCreditRow r, YearMonth asOf, string rulesVersion, string? runId = null)
    {
        var e = new TableEntity(Num(r.GlobalPartnerId), $"{asOf}|{r.Credit.Competency}")
        {
            ["partnerId"] = Num(r.GlobalPartnerId),
            ["locations"] = r.Locations,
        };
        return WithCredit(e, r.Credit, asOf, rulesVersion, runId);
    }

    // The properties PartnerCredit and GlobalPartnerCredit share (§4).
    private static TableEntity WithCredit(TableEntity e, CompetencyMetrics c, YearMonth asOf, string rulesVersion, string? runId)
    {
        e["competency"] = c.Competency;
        e["asOf"] = asOf.ToString();
        e["acrUsdTtm"] = c.AcrUsdTtm;
        e["peakMonthlyActiveUsers"] = c.PeakMonthlyActiveUsers;
        e["customers"] = c.Customers;
        e["level"] = c.Level.Name;
        e["nextLevel"] = c.NextLevel?.Name;
        e["progress"] = c.Progress;
        e["incentiveEligibleAcrUsdTtm"] = c.IncentiveEligibleAcrUsdTtm;
        e["sources"] = c.Sources;
        e["rulesVersion"] = rulesVersion;
        if (runId is not null) e["runId"] = runId;
        return e;
    }

    public static TableEntity SubscriptionPartnerEntity(SubscriptionPartnerRow r, YearMonth asOf, string? runId = null)
    {
        var e = new TableEntity(r.SubscriptionId.ToString("D"), $"{asOf}|{Num(r.PartnerId)}")
        {
            ["customerTenantId"] = r.CustomerTenantId.ToString("D"),
            ["partnerId"] = Num(r.PartnerId),
            ["sources"] = r.Sources,
            ["isDpor"] = r.IsDpor,
            ["workloads"] = r.Workloads.ToString(),
        };
        if (runId is not null) e["runId"] = runId;
        return e;
    }

    public static TableEntity IncentiveEligibilityEntity(IncentiveEligibilityRow r, string? runId = null)
    {
        var e = new TableEntity(Num(r.DporPartnerId), $"{r.Month}|{r.SubscriptionId:D}")
        {
            ["customerTenantId"] = r.CustomerTenantId.ToString("D"),
            ["acrUsd"] = r.AcrUsd,
            ["dporDays"] = r.DporDays,
            ["daysInMonth"] = r.DaysInMonth,
            ["incentiveAcrUsd"] = r.IncentiveAcrUsd,
        };
        if (runId is not null) e["runId"] = runId;
        return e;
    }

    /// <summary>The evidence index row: partner → a subscription (and its tenant) it was credited on.</summary>
    public static TableEntity PartnerSubscriptionEntity(SubscriptionPartnerRow r) =>
        new(Num(r.PartnerId), r.SubscriptionId.ToString("D"))
        {
            ["customerTenantId"] = r.CustomerTenantId.ToString("D"),
            ["sources"] = r.Sources,
            ["workloads"] = r.Workloads.ToString(),
        };
}
