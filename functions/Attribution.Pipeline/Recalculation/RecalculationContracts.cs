using Attribution.Domain;

namespace Attribution.Pipeline.Recalculation;

// Orchestration and activity payloads: small, plain records (bulk data stays in storage). Inputs have no defaults:
// a value a caller forgot is a compile error, not a run with silently wrong ranges or retention. Outputs may default.

/// <summary>Input of the RecalculateCredit orchestration.</summary>
/// <param name="RunId">Identifies the run's rows (RecalculationRuns RowKey, runId on published rows).</param>
/// <param name="RulesJson">The exact rules the run uses, so a retried or resumed run cannot change rules half-way.</param>
/// <param name="Scenario">A what-if run: computed and kept apart, never published.</param>
/// <param name="ReduceRanges">Partner ranges of the reduce (0: the default).</param>
/// <param name="PublishRanges">Partition-key ranges of the snapshot and the publish (0: the default).</param>
/// <param name="HistoryRetention">Purge finished orchestration instances created longer ago than this (null: the default; negative: never).</param>
public sealed record RecalculationRequest(
    string RunId,
    YearMonth AsOf,
    string RulesJson,
    string? Scenario,
    int ShardCount,
    int ReduceRanges,
    int PublishRanges,
    TimeSpan? HistoryRetention);

/// <summary>What Begin fixed for the run: every later step reads the same records version and rules.</summary>
public sealed record BeginResult(string RunId, string RulesHash, long RecordsVersion, int Shards, int ReduceRanges, int PublishRanges);

/// <param name="RecordsVersion">The committed records version the run reads (fixed at Begin, so every shard reads the same records).</param>
public sealed record ShardWork(string RunId, YearMonth AsOf, string RulesHash, int Shard, int ShardCount, long RecordsVersion, int ReduceRanges, int PublishRanges);

public sealed record ShardSummary(
    int Shard,
    long UsageRows,
    long Associations,
    long DporEvents,
    int Partners,
    double ReadMs,
    double ComputeMs,
    double WriteMs,
    long UsageRowsInWindow = 0,
    long SnapshotRows = 0);

/// <summary>A reduce range's work; <see cref="RecordsVersion"/> is what it reads certifications at (§7.2).</summary>
public sealed record ReduceWork(string RunId, YearMonth AsOf, string RulesHash, int Range, int ReduceRanges, int ShardCount, int PublishRanges, long RecordsVersion = 0);

public sealed record ReduceSummary(int Range, int Partners, int GlobalPartners, long SnapshotRows, double ReadMs, double ComputeMs, double WriteMs, int CapabilityScores = 0,
    long EvidenceRows = 0, long EvidenceBytes = 0);

public sealed record InterruptedPublishQuery(YearMonth AsOf, string RunId);

public sealed record PublishStart(string RunId, YearMonth AsOf, int Partners, long UsageRows);

public sealed record PublishRangeWork(PublishPlan Plan, int Range);

/// <param name="Skipped">The run was no longer publishing (finished by another start): nothing was written.</param>
public sealed record PublishRangeSummary(int Range, IReadOnlyList<TablePublishCount> Counts, double Ms, bool Skipped = false);

public sealed record CompletePublishWork(PublishPlan Plan, IReadOnlyList<TablePublishCount> Counts);

public sealed record CompleteScenarioWork(string RunId, YearMonth AsOf, int Partners, long UsageRows);

public sealed record RunFailure(string RunId, YearMonth AsOf, string Error);

/// <summary>Purge finished orchestration instances created before this time.</summary>
public sealed record PurgeWork(DateTimeOffset CreatedBefore);

/// <summary>What a finished recalculation reports (orchestration output, CLI summary).</summary>
/// <param name="RolledForward">The run of an interrupted publish for this asOf that this start finished first.</param>
/// <param name="ComputeSeconds">Orchestration time from Begin to the last reduce (reading, computing, writing the snapshot).</param>
/// <param name="PublishSeconds">Orchestration time of the publish: the table writes of the changed rows and the flip.</param>
public sealed record RecalculationOutcome(
    string RunId,
    YearMonth AsOf,
    string? Scenario,
    bool Published,
    int Partners,
    int GlobalPartners,
    long UsageRows,
    double ComputeMs,
    double StorageMs,
    long RowsPublished,
    long RowsRemoved,
    long RecordsVersion = 0,
    string? RolledForward = null,
    int InstancesPurged = 0,
    double ComputeSeconds = 0,
    double PublishSeconds = 0,
    long EvidenceRows = 0,
    long EvidenceBytes = 0);

/// <summary>
/// Fan-out and hygiene settings (app settings in the function app, environment variables for the CLI):
/// RECALC_SHARDS, RECALC_REDUCE_RANGES, RECALC_PUBLISH_RANGES, RECALC_HISTORY_RETENTION_DAYS.
/// </summary>
public sealed record RecalculationSettings(int Shards, int ReduceRanges, int PublishRanges, TimeSpan HistoryRetention)
{
    public const string ShardsSetting = "RECALC_SHARDS";
    public const string ReduceRangesSetting = "RECALC_REDUCE_RANGES";
    public const string PublishRangesSetting = "RECALC_PUBLISH_RANGES";
    public const string HistoryRetentionSetting = "RECALC_HISTORY_RETENTION_DAYS";
    public const int MaxRanges = 1024;

    public static readonly TimeSpan DefaultHistoryRetention = TimeSpan.FromDays(7);

    /// <summary>The least fan-out: 8 shards, 8 reduce ranges, 16 publish ranges (a multiple of the reduce ranges, so a partner's files line up).</summary>
    public const int MinShards = 8, MinReduceRanges = 8, MinPublishRanges = 16;

    /// <summary>Fan-out sized by the data at Begin (<see cref="FanOutFor"/>; a count of 0 means that), 7 days of history.</summary>
    public static readonly RecalculationSettings Default = new(0, 0, 0, DefaultHistoryRetention);

    /// <summary>
    /// Bucketed rows (usage, associations, DPOR events) one shard reads at most when the fan-out is sized by the data.
    /// Each shard writes one snapshot file per publish range it has rows for and one partial per reduce range, so a
    /// run's files grow with shards × ranges: at 100k tenants 60,000 rows a shard made ~180,000 small blobs and
    /// 100,000 rows ~33,000, and the emulator's blob store (one Node process) served them at ~90 requests/s.
    /// 250,000 rows (about 0.4 KB each in flight) cuts that to ~8,000 for ~100 MiB more at the CLI's peak.
    /// </summary>
    public const long RowsPerShard = 250_000;

    /// <summary>
    /// The fan-out when no setting fixes it: one shard per <see cref="RowsPerShard"/> rows, rounded up to a power of two
    /// (at least <see cref="MinShards"/>, at most one per bucket), as many reduce ranges and twice as many publish ranges.
    /// What one activity holds then stays about the same however many tenants there are. Powers of two keep the publish
    /// ranges of consecutive runs multiples of each other, so a diff reads only the base files its range overlaps.
    /// </summary>
    public static (int Shards, int ReduceRanges, int PublishRanges) FanOutFor(long bucketedRows, int bucketCount)
    {
        var wanted = Math.Clamp((bucketedRows + RowsPerShard - 1) / RowsPerShard, 1, MaxRanges / 2);
        var shards = (int)Math.Max(MinShards, Math.Min(System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)wanted), (ulong)Math.Max(bucketCount, 1)));
        var reduce = Math.Max(MinReduceRanges, shards);
        return (shards, reduce, Math.Max(MinPublishRanges, 2 * reduce));
    }

    public static RecalculationSettings FromSettings(Func<string, string?> setting)
    {
        ArgumentNullException.ThrowIfNull(setting);
        int Count(string name)
        {
            var text = setting(name);
            if (string.IsNullOrWhiteSpace(text)) return 0;
            return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxRanges
                ? n
                : throw new InvalidOperationException($"Setting {name} must be a whole number from 1 to {MaxRanges}, not '{text}'.");
        }
        var retention = setting(HistoryRetentionSetting);
        var days = string.IsNullOrWhiteSpace(retention) ? DefaultHistoryRetention.TotalDays
            : double.TryParse(retention, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d
            : throw new InvalidOperationException($"Setting {HistoryRetentionSetting} must be a number of days (negative: never purge), not '{retention}'.");
        return new RecalculationSettings(Count(ShardsSetting), Count(ReduceRangesSetting),
            Count(PublishRangesSetting), TimeSpan.FromDays(days));
    }

}
