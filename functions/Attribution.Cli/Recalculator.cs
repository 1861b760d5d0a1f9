using Attribution.Core.Domain;
using Attribution.Core.Recalculation;
using Attribution.Core.Storage;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>Runs one recalculation through the local Durable Task worker and waits for it.</summary>
internal static class Recalculator
{
    public const string TaskHub = "AttributionLocal";
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(60);

    public static async Task<RecalculationOutcome> RunAsync(StorageAccount storage, YearMonth asOf, string rulesJson, string? scenario, CommandContext context, CancellationToken ct)
    {
        await storage.EnsureCreatedAsync().ConfigureAwait(false);
        await using var host = await LocalDurableHost.StartAsync(storage, TaskHub).ConfigureAwait(false);
        var starter = new RecalculationStarter(host);
        var start = await starter.StartAsync(asOf, rulesJson, scenario, cancellationToken: ct).ConfigureAwait(false);
        if (!start.Started)
        {
            // Another `recalc` (or an earlier one that was interrupted) owns this asOf; our worker helps it finish.
            await context.Error.WriteLineAsync($"A recalculation for {asOf} is already running (instance {start.InstanceId}); waiting for it.").ConfigureAwait(false);
        }
        if (!context.Interactive) return await host.WaitAsync(start.InstanceId, Timeout, ct).ConfigureAwait(false);
        RecalculationOutcome? outcome = null;
        await context.Console.Status().StartAsync($"Recalculating credit for {asOf}...", async _ =>
            outcome = await host.WaitAsync(start.InstanceId, Timeout, ct).ConfigureAwait(false)).ConfigureAwait(false);
        return outcome!;
    }
}
