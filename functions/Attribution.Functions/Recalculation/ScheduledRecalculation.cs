using Attribution.Pipeline.Hosting;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Attribution.Functions.Recalculation;

/// <summary>
/// Nightly (setting RECALC_SCHEDULE, e.g. "0 0 2 * * *"): recalculates the default month (the last complete one, or
/// the latest usage month when earlier), unless a recalculation for it is running or its window has no usage (logged, skipped).
/// </summary>
public sealed class ScheduledRecalculation(AppRulesSource rules, TimeProvider time, ILogger<ScheduledRecalculation> logger, RecalculationSettings settings, RecordStore records, InstanceStartGate gate)
{
    public const string ScheduleSetting = "RECALC_SCHEDULE";

    [Function(nameof(ScheduledRecalculation))]
    public Task<StartOutcome> Run(
        [TimerTrigger("%RECALC_SCHEDULE%")] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        StartAsync(new DurableFunctionsInstances(client, gate), cancellationToken);

    public async Task<StartOutcome> StartAsync(IRecalculationInstances instances, CancellationToken cancellationToken)
    {
        var starter = new RecalculationStarter(instances, time, settings, records);
        var asOf = await starter.DefaultAsOfAsync(cancellationToken);
        StartOutcome outcome;
        try
        {
            outcome = await starter.StartAsync(asOf, rules.Json, cancellationToken: cancellationToken);
        }
        catch (EmptyWindowException e)
        {
            // Nothing to credit yet: a timer has no one to ask, so it says why and waits for the next night.
            logger.RecalculationSkippedEmpty(asOf, e.Message);
            return new StartOutcome(false, RecalculationStarter.InstanceIdFor(asOf, null), null, asOf);
        }
        if (outcome.Started) logger.RecalculationStarted(outcome.AsOf, outcome.InstanceId, outcome.RunId!);
        else logger.RecalculationAlreadyRunning(outcome.AsOf, outcome.InstanceId);
        return outcome;
    }
}
