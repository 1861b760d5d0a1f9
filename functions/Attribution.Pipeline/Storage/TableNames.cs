namespace Attribution.Pipeline.Storage;

/// <summary>Table and container names. The published ones (§4) are fixed by the contract.</summary>
public static class TableNames
{
    // Published (§4): downstream systems read these.
    public const string PartnerCredit = "PartnerCredit";
    public const string GlobalPartnerCredit = "GlobalPartnerCredit";
    public const string SubscriptionPartners = "SubscriptionPartners";
    public const string IncentiveEligibility = "IncentiveEligibility";
    public const string PartnerCapabilityScore = "PartnerCapabilityScore";
    public const string FeedIngestions = "FeedIngestions";
    public const string RejectedRecords = "RejectedRecords";
    public const string RecalculationRuns = "RecalculationRuns";

    public static readonly IReadOnlyList<string> All =
    [
        PartnerCredit, GlobalPartnerCredit, SubscriptionPartners, IncentiveEligibility, PartnerCapabilityScore, FeedIngestions,
        RejectedRecords, RecalculationRuns,
    ];

    public const string FeedsContainer = "feeds";
    /// <summary>Each run's manifest, Parquet snapshot and reduce partials, and rules by hash (Recalculation/Snapshots/SnapshotStore.cs).</summary>
    public const string RecalculationContainer = "recalculations";

    /// <summary>Canonical records: Parquet segments and their commit log (docs/storage.md).</summary>
    public const string RecordsContainer = "records";
}
