using Attribution.Pipeline.Storage;
using Parquet.Schema;

namespace Attribution.Pipeline.Recalculation.Snapshots;

/// <summary>Column types: text (required or optional), double, 32-bit integer, boolean.</summary>
internal enum ColumnKind
{
    Text,
    OptionalText,
    Real,
    Whole,
    Flag,
    OptionalReal,
    OptionalWhole,
}

internal sealed record SnapshotColumn(string Name, ColumnKind Kind)
{
    public DataField Field { get; } = Kind switch
    {
        ColumnKind.Text => new DataField<string>(Name, nullable: false),
        ColumnKind.OptionalText => new DataField<string>(Name, nullable: true),
        ColumnKind.Real => new DataField<double>(Name, nullable: false),
        ColumnKind.Whole => new DataField<int>(Name, nullable: false),
        ColumnKind.Flag => new DataField<bool>(Name, nullable: false),
        ColumnKind.OptionalReal => new DataField<double?>(Name),
        ColumnKind.OptionalWhole => new DataField<int?>(Name),
        _ => throw new ArgumentOutOfRangeException(nameof(Kind)),
    };
}

/// <summary>
/// The Parquet schema of each snapshot table: the table's PartitionKey and RowKey, then its §4 properties with
/// their table types (runId is not stored: a snapshot is one run's result set, named by its path).
/// </summary>
internal sealed class SnapshotSchema
{
    private SnapshotSchema(string table, params SnapshotColumn[] properties)
    {
        Table = table;
        Columns = [new("PartitionKey", ColumnKind.Text), new("RowKey", ColumnKind.Text), .. properties];
        Parquet = new ParquetSchema(Columns.Select(c => (Field)c.Field).ToArray());
    }

    public string Table { get; }
    public IReadOnlyList<SnapshotColumn> Columns { get; }
    public ParquetSchema Parquet { get; }

    private static SnapshotColumn S(string name) => new(name, ColumnKind.Text);
    private static SnapshotColumn D(string name) => new(name, ColumnKind.Real);
    private static SnapshotColumn I(string name) => new(name, ColumnKind.Whole);

    private static SnapshotColumn[] Credit() =>
    [
        S("competency"), S("asOf"), D("acrUsdTtm"), D("peakMonthlyActiveUsers"), I("customers"), S("level"),
        new("nextLevel", ColumnKind.OptionalText), D("progress"), D("incentiveEligibleAcrUsdTtm"), S("sources"), S("rulesVersion"),
    ];

    public static readonly SnapshotSchema PartnerCredit = new(TableNames.PartnerCredit, [S("partnerId"), S("globalPartnerId"), .. Credit()]);
    public static readonly SnapshotSchema GlobalPartnerCredit = new(TableNames.GlobalPartnerCredit, [S("partnerId"), S("locations"), .. Credit()]);
    public static readonly SnapshotSchema SubscriptionPartners = new(TableNames.SubscriptionPartners,
        S("customerTenantId"), S("partnerId"), S("sources"), new("isDpor", ColumnKind.Flag), S("workloads"));
    public static readonly SnapshotSchema IncentiveEligibility = new(TableNames.IncentiveEligibility,
        S("asOf"), S("month"), S("subscriptionId"), S("customerTenantId"), D("acrUsd"), I("dporDays"), I("daysInMonth"), D("incentiveAcrUsd"));
    public static readonly SnapshotSchema PartnerSubscriptions = new(CreditEntities.PartnerSubscriptions,
        S("customerTenantId"), S("sources"), S("workloads"));

    private static SnapshotColumn OD(string name) => new(name, ColumnKind.OptionalReal);
    private static SnapshotColumn OI(string name) => new(name, ColumnKind.OptionalWhole);

    public static readonly SnapshotSchema PartnerCapabilityScore = new(TableNames.PartnerCapabilityScore,
        S("globalPartnerId"), S("designation"), S("asOf"), S("track"), D("score"), new("qualified", ColumnKind.Flag), new("eligible", ColumnKind.Flag),
        S("qualifiedMonths"), D("pointsToQualify"), S("zeroMetrics"),
        OI("netCustomerAdds"), OD("netCustomerAddsPoints"), OD("usageGrowthPercent"), OD("usageGrowthPoints"), OI("deployments"), OD("deploymentsPoints"),
        OI("intermediateCertifications"), OD("intermediateCertificationsPoints"), OI("advancedCertifications"), OD("advancedCertificationsPoints"),
        S("rulesVersion"));

    public static readonly SnapshotSchema ScoreCustomers = new(CreditEntities.ScoreCustomers,
        [S("designation"), S("customerTenantId"), S("counts"), S("associations"),
         .. CreditEntities.ScoreCustomerValues.SelectMany(v => new[] { D("revenue" + v), D("users" + v) })]);

    public static readonly IReadOnlyList<SnapshotSchema> All =
        [PartnerCredit, GlobalPartnerCredit, SubscriptionPartners, IncentiveEligibility, PartnerSubscriptions, PartnerCapabilityScore, ScoreCustomers];

    /// <summary>
    /// Columns a file written before they existed may lack: `IncentiveEligibility`'s key parts (its RowKey then was
    /// `{month}|{subscriptionId}`). Such rows come back without them, for the reader to recognise as legacy.
    /// </summary>
    public bool MayLack(string column) => Table == TableNames.IncentiveEligibility && column is "asOf" or "month" or "subscriptionId";

    public static SnapshotSchema Of(string table) =>
        All.FirstOrDefault(s => s.Table == table) ?? throw new ArgumentException($"'{table}' is not a snapshot table.", nameof(table));
}
