using Attribution.Domain.Credit;

namespace Attribution.Domain.Scores;

/// <summary>
/// An association (or a DPOR designation period) that credits a location of the global partner on the customer's
/// rows of the designation (§7.4's customer eligibility view): source, location partner, scope, in-force dates, feed
/// file and line.
/// </summary>
public sealed record ScoreAssociation(
    string Source,
    long PartnerId,
    Guid? SubscriptionId,
    string Workloads,
    DateOnly ValidFrom,
    DateOnly? ValidTo,
    string IngestionId,
    long Line);

/// <summary>
/// One customer tenant of a (global partner, designation) as of asOf, computed in the shard that holds the tenant:
/// value(t) at M, M−1, M−12, M−13 and over the deployments window (sum, largest month), in both measures (the view
/// shows the chosen track's), and each track's decisions as the engine took them (exact, in billionths).
/// </summary>
public sealed record ScoreCustomerRow
{
    public long GlobalPartnerId { get; init; }
    public string Designation { get; init; } = "";
    public Guid CustomerTenantId { get; init; }

    /// <summary>Revenue (USD): M, M−1, M−12, M−13, window sum, window peak.</summary>
    public IReadOnlyList<double> Revenue { get; init; } = [];

    /// <summary>Active users: M, M−1, M−12, M−13, window sum, window peak.</summary>
    public IReadOnlyList<double> Users { get; init; } = [];

    /// <summary>
    /// Per track (rules order, `;`-separated), three flags: counted in Q(M), in Q(M−12), by deployments at M
    /// (`1`/`0`; `-` when the track has no such metric). E.g. `10-;110`.
    /// </summary>
    public string Counts { get; init; } = "";

    public IReadOnlyList<ScoreAssociation> Associations { get; init; } = [];
}

/// <summary>What links a credited row to the association behind it, as the walker found it (internal plumbing).</summary>
internal readonly record struct ScoreLink(int Credited, byte SourceBit, int Association, SubState? Subscription, int Segment);
