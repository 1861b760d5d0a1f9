namespace Attribution.Core.Recalculation;

// Orchestration and activity payloads: small, plain records (bulk data stays in storage).

/// <summary>Input of the RecalculateCredit orchestration.</summary>
/// <param name="RunId">Identifies the run's rows (RecalculationRuns RowKey, runId on published rows).</param>
/// <param name="RulesJson">The exact rules the run uses, so a retried or resumed run cannot change rules half-way.</param>
/// <param name="Scenario">A what-if run: computed and kept apart, never published.</param>
public sealed record RecalculationRequest(string RunId, string AsOf, string RulesJson, string? Scenario, int ShardCount);

/// <param name="RecordsVersion">The committed records version the run reads (fixed at Begin, so every shard reads the same records).</param>
public sealed record ShardWork(string RunId, string AsOf, string RulesJson, int Shard, int ShardCount, long RecordsVersion = 0);

public sealed record ShardSummary(int Shard, long UsageRows, long Associations, long DporEvents, int Partners, double ReadMs, double ComputeMs, double WriteMs);

public sealed record StageWork(string RunId, string AsOf, string RulesJson, int ShardCount);

public sealed record StageSummary(int Partners, int GlobalPartners, long UsageRowsInWindow, int WindowMonths, long RowsStaged, double ReadMs, double ComputeMs, double WriteMs);

public sealed record CompleteWork(string RunId, string AsOf, bool Publish, int WindowMonths, int Partners, long UsageRows);

public sealed record PublishSummary(long RowsWritten, long RowsRemoved, double Ms);

public sealed record RunFailure(string RunId, string AsOf, string Error);

/// <summary>What a finished recalculation reports (orchestration output, CLI summary).</summary>
public sealed record RecalculationOutcome(
    string RunId,
    string AsOf,
    string? Scenario,
    bool Published,
    int Partners,
    int GlobalPartners,
    long UsageRows,
    double ComputeMs,
    double StorageMs,
    long RowsPublished,
    long RowsRemoved);

/// <summary>Activity names shared by the function app and the local worker.</summary>
public static class RecalculationActivityNames
{
    public const string Orchestration = "RecalculateCredit";
    public const string Begin = "BeginRecalculation";
    public const string ComputeShard = "ComputeCreditShard";
    public const string Stage = "StageCreditResults";
    public const string Complete = "CompleteRecalculation";
    public const string Fail = "FailRecalculation";
}
