using Attribution.Core.Recalculation;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Attribution.Functions.Recalculation;

/// <summary>
/// Nightly (setting RECALC_SCHEDULE, e.g. "0 0 2 * * *"): recalculates the last complete month, unless a
/// recalculation for that month is already running.
/// </summary>
public sealed class ScheduledRecalculation(AppRulesSource rules, TimeProvider time, ILogger<ScheduledRecalculation> logger, RecalculationSettings? settings = null)
{
    public const string ScheduleSetting = "RECALC_SCHEDULE";

    [Function(nameof(ScheduledRecalculation))]
    public Task<StartOutcome> Run(
        [TimerTrigger("%RECALC_SCHEDULE%")] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        StartAsync(new DurableFunctionsInstances(client), cancellationToken);

    public async Task<StartOutcome> StartAsync(IRecalculationInstances instances, CancellationToken cancellationToken)
    {
        var starter = new RecalculationStarter(instances, time, settings ?? RecalculationSettings.Default);
        var outcome = await starter.StartAsync(starter.DefaultAsOf(), rules.Json, cancellationToken: cancellationToken);
        if (outcome.Started) logger.RecalculationStarted(outcome.AsOf, outcome.InstanceId, outcome.RunId!);
        else logger.RecalculationAlreadyRunning(outcome.AsOf, outcome.InstanceId);
        return outcome;
    }
}
