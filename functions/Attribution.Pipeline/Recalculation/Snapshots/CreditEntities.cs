using System.Globalization;
using Attribution.Domain.Credit;
using Attribution.Domain;
using Attribution.Domain.Scores;
using Attribution.Pipeline.Storage;
using Azure.Data.Tables;

namespace Attribution.Pipeline.Recalculation.Snapshots;

/// <summary>
/// The published rows (§4) as table entities: the keys and properties every run writes to its snapshot and
/// publish writes to the tables (publish adds `runId`, the run that last changed the row).
/// </summary>
internal static class CreditEntities
{
    public static readonly IReadOnlyList<string> PublishedTables =
        [TableNames.PartnerCredit, TableNames.GlobalPartnerCredit, TableNames.SubscriptionPartners, TableNames.IncentiveEligibility,
            TableNames.PartnerCapabilityScore];

    /// <summary>Snapshot-only index from partner to the subscriptions (and tenants) it was credited on, for evidence.</summary>
    public const string PartnerSubscriptions = "PartnerSubscriptions";

    /// <summary>
    /// Snapshot-only index of the customer eligibility view (§7.4): per global partner, one row per designation and
    /// customer tenant with its values, the engine's decisions and the associations behind them, written by the shard
    /// that holds the tenant, so the view reads one partition's range and re-runs nothing.
    /// </summary>
    public const string ScoreCustomers = "ScoreCustomers";

    private static readonly System.Text.Json.JsonSerializerOptions AssociationsJson = new(System.Text.Json.JsonSerializerDefaults.Web);

    public static TableEntity ScoreCustomerEntity(ScoreCustomerRow r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var e = new TableEntity(Num(r.GlobalPartnerId), $"{r.Designation}|{r.CustomerTenantId:D}")
        {
            ["designation"] = r.Designation,
            ["customerTenantId"] = r.CustomerTenantId.ToString("D"),
            ["counts"] = r.Counts,
            ["associations"] = System.Text.Json.JsonSerializer.Serialize(r.Associations, AssociationsJson),
        };
        for (var i = 0; i < ScoreCustomerValues.Length; i++)
        {
            e["revenue" + ScoreCustomerValues[i]] = r.Revenue[i];
            e["users" + ScoreCustomerValues[i]] = r.Users[i];
        }
        return e;
    }

    /// <summary>The value columns' suffixes, in <see cref="ScoreCustomerRow.Revenue"/>'s order.</summary>
    public static readonly string[] ScoreCustomerValues = ["M", "M1", "M12", "M13", "WindowSum", "WindowPeak"];

    public static IReadOnlyList<ScoreAssociation> ScoreCustomerAssociations(TableEntity e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.GetString("associations") is { Length: > 0 } json
            ? System.Text.Json.JsonSerializer.Deserialize<List<ScoreAssociation>>(json, AssociationsJson) ?? []
            : [];
    }

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

    /// <summary>
    /// A `PartnerCapabilityScore` row (§7.4): keyed by global partner and `{asOf}|{designation}`. Metrics the chosen
    /// track lacks are absent (null), as is usageGrowthPercent when the baseline is too small.
    /// </summary>
    public static TableEntity PartnerCapabilityScoreEntity(CapabilityScoreRow r, string rulesVersion, string? runId = null)
    {
        ArgumentNullException.ThrowIfNull(r);
        var e = new TableEntity(Num(r.GlobalPartnerId), $"{r.AsOf}|{r.Designation}")
        {
            ["globalPartnerId"] = Num(r.GlobalPartnerId),
            ["designation"] = r.Designation,
            ["asOf"] = r.AsOf.ToString(),
            ["track"] = r.Track,
            ["score"] = r.Score,
            ["qualified"] = r.Qualified,
            ["eligible"] = r.Eligible,
            ["qualifiedMonths"] = r.QualifiedMonths,
            ["pointsToQualify"] = r.PointsToQualify,
            ["zeroMetrics"] = r.ZeroMetrics,
            ["netCustomerAdds"] = r.NetCustomerAdds,
            ["netCustomerAddsPoints"] = r.NetCustomerAddsPoints,
            ["usageGrowthPercent"] = r.UsageGrowthPercent,
            ["usageGrowthPoints"] = r.UsageGrowthPoints,
            ["deployments"] = r.Deployments,
            ["deploymentsPoints"] = r.DeploymentsPoints,
            ["intermediateCertifications"] = r.IntermediateCertifications,
            ["intermediateCertificationsPoints"] = r.IntermediateCertificationsPoints,
            ["advancedCertifications"] = r.AdvancedCertifications,
            ["advancedCertificationsPoints"] = r.AdvancedCertificationsPoints,
            ["rulesVersion"] = rulesVersion,
        };
        foreach (var key in e.Keys.ToList())
            if (e[key] is null) e.Remove(key); // a table stores no nulls: an absent property reads as null
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

    /// <summary>
    /// An `IncentiveEligibility` row of one asOf (§4): keyed `{asOf}|{month}|{subscriptionId}`, because overlapping
    /// 12-month windows hold the same months and every asOf's rows must be its own.
    /// </summary>
    public static TableEntity IncentiveEligibilityEntity(IncentiveEligibilityRow r, YearMonth asOf, string? runId = null)
    {
        var e = new TableEntity(Num(r.DporPartnerId), IncentiveEligibilityKey(asOf, r.Month, r.SubscriptionId.ToString("D")))
        {
            ["asOf"] = asOf.ToString(),
            ["month"] = r.Month.ToString(),
            ["subscriptionId"] = r.SubscriptionId.ToString("D"),
            ["customerTenantId"] = r.CustomerTenantId.ToString("D"),
            ["acrUsd"] = r.AcrUsd,
            ["dporDays"] = r.DporDays,
            ["daysInMonth"] = r.DaysInMonth,
            ["incentiveAcrUsd"] = r.IncentiveAcrUsd,
        };
        if (runId is not null) e["runId"] = runId;
        return e;
    }

    public static string IncentiveEligibilityKey(YearMonth asOf, YearMonth month, string subscriptionId) => $"{asOf}|{month}|{subscriptionId}";

    /// <summary>
    /// A RowKey of the layout before `asOf` was part of the key (`{month}|{subscriptionId}`, one separator): such rows
    /// were shared between overlapping months and are removed once (<see cref="IncentiveEligibilityMigration"/>).
    /// </summary>
    public static bool IsLegacyIncentiveEligibilityKey(string rowKey) => rowKey.IndexOf('|', StringComparison.Ordinal) is var i and >= 0
        && rowKey.IndexOf('|', i + 1) < 0;

    /// <summary>
    /// A snapshot row written before `asOf` was part of the key, in today's layout (the run's asOf prefixed, the key's
    /// parts as properties); a row already in today's layout is returned as it is.
    /// </summary>
    public static TableEntity FromLegacyIncentiveEligibility(TableEntity row, YearMonth asOf)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (!IsLegacyIncentiveEligibilityKey(row.RowKey)) return row;
        var split = row.RowKey.IndexOf('|', StringComparison.Ordinal);
        var (month, subscription) = (row.RowKey[..split], row.RowKey[(split + 1)..]);
        var e = new TableEntity(row.PartitionKey, $"{asOf}|{row.RowKey}")
        {
            ["asOf"] = asOf.ToString(),
            ["month"] = month,
            ["subscriptionId"] = subscription,
        };
        foreach (var (k, v) in row)
            if (k is not ("PartitionKey" or "RowKey" or "odata.etag" or "Timestamp")) e[k] = v;
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
