using Attribution.Core.Domain;
using Attribution.Core.Recalculation;
using Attribution.Core.Rules;
using Attribution.Core.Storage;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>Runs one recalculation through the local Durable Task worker and waits for it.</summary>
internal static class Recalculator
{
    public const string TaskHub = "AttributionLocal";
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(60);

    /// <param name="resume">Finish the interrupted recalculation of this asOf with its own rules, and start nothing new.</param>
    public static async Task<RecalculationOutcome> RunAsync(StorageAccount storage, YearMonth asOf, string rulesJson, string? scenario, CommandContext context, CancellationToken ct, bool resume = false)
    {
        await storage.EnsureCreatedAsync().ConfigureAwait(false);
        // The worker starts only once we know what to do about an interrupted run: started at once, it would resume
        // that run, with the rules it began with, before we could refuse to adopt it.
        await using var host = await LocalDurableHost.StartAsync(storage, TaskHub, startWorker: false).ConfigureAwait(false);
        var instanceId = RecalculationStarter.InstanceIdFor(asOf, scenario);
        var interrupted = await host.GetStatusAsync(instanceId, ct).ConfigureAwait(false) is { } status && RecalculationStarter.IsActive(status.State) ? status : null;
        if (interrupted is not null)
        {
            var run = interrupted.Input;
            var what = run is null ? $"instance {instanceId}" : $"run {run.RunId} (rules {RulesVersionOf(run.RulesJson)})";
            if (!resume && (run is null || !CreditRulesLoader.SameRules(run.RulesJson, rulesJson)))
            {
                throw new CliException(
                    $"A recalculation for {asOf} was interrupted: {what}. It used other rules than the ones given, so it is not adopted. " +
                    $"Finish it with its own rules first (attribution recalc --as-of {asOf}{(scenario is null ? "" : $" --scenario {scenario}")} --resume), then run again.");
            }
            await context.Error.WriteLineAsync($"Resuming the interrupted recalculation for {asOf}: {what}.").ConfigureAwait(false);
        }
        else if (resume)
        {
            throw new CliException($"There is no interrupted recalculation for {asOf}{(scenario is null ? "" : $" (scenario {scenario})")} to resume.");
        }

        await host.StartWorkerAsync(storage).ConfigureAwait(false);
        if (interrupted is null)
        {
            var start = await new RecalculationStarter(host).StartAsync(asOf, rulesJson, scenario, cancellationToken: ct).ConfigureAwait(false);
            if (!start.Started)
            {
                // Another process started one for this asOf a moment ago; its result is what gets published.
                throw new CliException($"A recalculation for {asOf} was started by another process just now (instance {start.InstanceId}); wait for it, then run again if needed.");
            }
        }
        if (!context.Interactive) return await host.WaitAsync(instanceId, Timeout, ct).ConfigureAwait(false);
        RecalculationOutcome? outcome = null;
        await context.Console.Status().StartAsync($"Recalculating credit for {asOf}...", async _ =>
            outcome = await host.WaitAsync(instanceId, Timeout, ct).ConfigureAwait(false)).ConfigureAwait(false);
        return outcome!;
    }

    private static string RulesVersionOf(string rulesJson)
    {
        try
        {
            return CreditRulesLoader.Parse(rulesJson).RulesVersion;
        }
        catch (RulesValidationException)
        {
            return "unreadable";
        }
    }
}
