using System.Globalization;
using Attribution.Domain;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;

namespace Attribution.Pipeline.Recalculation;

/// <summary>The state of an orchestration instance, as either host reports it.</summary>
public enum InstanceState
{
    Pending,
    Running,
    Completed,
    Failed,
    Terminated,
    Unknown,
}

/// <summary>What `GET /api/recalculations/{id}` reports about an instance.</summary>
public sealed record RecalculationStatus(
    string InstanceId,
    InstanceState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUpdatedAt,
    RecalculationRequest? Input,
    RecalculationOutcome? Output,
    string? Failure);

/// <summary>Starts and inspects RecalculateCredit instances: Durable Functions' client or the local DTFx client.</summary>
public interface IRecalculationInstances
{
    Task<InstanceState?> GetStateAsync(string instanceId, CancellationToken cancellationToken);

    Task<RecalculationStatus?> GetStatusAsync(string instanceId, CancellationToken cancellationToken);

    /// <summary>Starts the orchestration; returns false when an active instance with that id exists.</summary>
    Task<bool> StartAsync(string instanceId, RecalculationRequest request, CancellationToken cancellationToken);
}

public sealed record StartOutcome(bool Started, string InstanceId, string? RunId, YearMonth AsOf);

/// <summary>
/// The month asked for has no usage in its window: recalculating it would publish every partner at None. Refused
/// unless asked for on purpose (allowEmpty), because it usually means a wrong month or feeds not yet ingested.
/// </summary>
public sealed class EmptyWindowException(YearMonth asOf, YearMonth windowStart, YearMonth? latestUsage)
    : Exception($"No usage in the window of {asOf} ({windowStart} to {asOf}): " +
        (latestUsage is { } l ? $"the latest usage is of {l}" : "no usage has been ingested") +
        "; recalculating it would credit no one. Ingest its usage first, pick another month, or allow an empty month on purpose.")
{
    public YearMonth AsOf { get; } = asOf;
    public YearMonth? LatestUsageMonth { get; } = latestUsage;
}

/// <summary>
/// One recalculation per asOf at a time: the instance id is fixed per asOf and its state is checked before
/// starting, because starting a fixed id alone could restart an instance that is still running.
/// </summary>
/// <param name="settings">Fan-out and retention (the host's, from <c>RecalculationOptions</c>).</param>
/// <param name="records">The canonical records: the default month follows the latest usage, and an empty window is refused.</param>
public sealed class RecalculationStarter(IRecalculationInstances instances, TimeProvider timeProvider, RecalculationSettings settings, RecordStore records)
{
    private readonly TimeProvider _time = timeProvider;
    private readonly RecalculationSettings _settings = settings;

    public static string InstanceIdFor(YearMonth asOf, string? scenario) =>
        scenario is null ? $"recalc-{asOf}" : $"scenario-{asOf}-{scenario}";

    /// <summary>The month before the current one: the last complete month.</summary>
    public static YearMonth LastCompleteMonth(DateTimeOffset now) => YearMonth.Of(DateOnly.FromDateTime(now.UtcDateTime)).AddMonths(-1);

    /// <summary>
    /// The one default month of every start (CLI run and recalc, HTTP, timer): the last complete month, or the latest
    /// month with usage when that is earlier (feeds arrive late; a month ahead of the usage would credit no one).
    /// </summary>
    public static YearMonth DefaultAsOf(DateTimeOffset now, YearMonth? latestUsage)
    {
        var lastComplete = LastCompleteMonth(now);
        return latestUsage is { } l && l < lastComplete ? l : lastComplete;
    }

    /// <summary><see cref="DefaultAsOf(DateTimeOffset, YearMonth?)"/> now, over the stored usage (without records: the last complete month).</summary>
    public async Task<YearMonth> DefaultAsOfAsync(CancellationToken cancellationToken = default)
    {
        var latest = await (await records.LatestAsync(cancellationToken).ConfigureAwait(false)).LatestUsageMonthAsync(cancellationToken).ConfigureAwait(false);
        return DefaultAsOf(_time.GetUtcNow(), latest);
    }

    /// <summary>Why a month cannot be recalculated (its window would leave the calendar), or null.</summary>
    public static string? AsOfProblem(YearMonth asOf) =>
        asOf.Year is < MinAsOfYear or > 9999 ? $"asOf {asOf} is out of range: a recalculation month is between {MinAsOfYear}-01 and 9999-12." : null;

    /// <summary>Earliest asOf year: its longest window (120 months) still starts in a real calendar year.</summary>
    public const int MinAsOfYear = 1900;

    public static bool IsActive(InstanceState? state) => state is InstanceState.Pending or InstanceState.Running;

    /// <param name="shardCount">Shards of this run (0: the settings').</param>
    /// <param name="allowEmpty">Start even when no usage falls in the month's window (otherwise <see cref="EmptyWindowException"/>).</param>
    public async Task<StartOutcome> StartAsync(YearMonth asOf, string rulesJson, string? scenario = null, int shardCount = 0, bool allowEmpty = false, CancellationToken cancellationToken = default)
    {
        if (scenario is not null && (scenario.Length is 0 or > 40 || !scenario.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            throw new ArgumentException("A scenario name is 1-40 letters, digits, '-' or '_'.", nameof(scenario));
        if (!allowEmpty) await RefuseEmptyWindowAsync(asOf, rulesJson, cancellationToken).ConfigureAwait(false);
        var instanceId = InstanceIdFor(asOf, scenario);
        if (IsActive(await instances.GetStateAsync(instanceId, cancellationToken).ConfigureAwait(false)))
            return new StartOutcome(false, instanceId, null, asOf);
        var now = _time.GetUtcNow();
        var runId = string.Create(CultureInfo.InvariantCulture, $"{asOf}-{now.UtcDateTime:yyyyMMdd'T'HHmmssfff}-{Guid.NewGuid().ToString("N")[..6]}");
        var request = new RecalculationRequest(runId, asOf, rulesJson, scenario, shardCount > 0 ? shardCount : _settings.Shards,
            _settings.ReduceRanges, _settings.PublishRanges, _settings.HistoryRetention);
        var started = await instances.StartAsync(instanceId, request, cancellationToken).ConfigureAwait(false);
        return new StartOutcome(started, instanceId, started ? runId : null, asOf);
    }

    /// <summary>Throws <see cref="EmptyWindowException"/> when no stored usage falls in the month's window under these rules.</summary>
    private async Task RefuseEmptyWindowAsync(YearMonth asOf, string rulesJson, CancellationToken cancellationToken)
    {
        var from = CreditRulesLoader.Parse(rulesJson).WindowStart(asOf);
        var snapshot = await records.LatestAsync(cancellationToken).ConfigureAwait(false);
        if (await snapshot.HasUsageAsync(from, asOf, cancellationToken).ConfigureAwait(false)) return;
        throw new EmptyWindowException(asOf, from, await snapshot.LatestUsageMonthAsync(cancellationToken).ConfigureAwait(false));
    }
}
