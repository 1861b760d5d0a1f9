using Attribution.Domain;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Local;
using Spectre.Console;

namespace Attribution.Cli;

/// <summary>Runs one recalculation through the local Durable Task worker and waits for it.</summary>
internal static class Recalculator
{
    public const string TaskHub = "AttributionLocal";
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(60);

    /// <param name="asOf">The month; null: the one default of every start (<see cref="RecalculationStarter.DefaultAsOfAsync"/>).</param>
    /// <param name="resume">Finish the interrupted recalculation of this asOf with its own rules, and start nothing new.</param>
    /// <param name="allowEmpty">Start even when no usage falls in the month's window.</param>
    public static async Task<RecalculationOutcome> RunAsync(CliStorage cli, YearMonth? asOf, string rulesJson, string? scenario, CommandContext context, CancellationToken ct, bool resume = false, bool allowEmpty = false)
    {
        var storage = cli.Account;
        await storage.EnsureCreatedAsync();
        // The worker starts only once we know what to do about an interrupted run: started at once, it would resume
        // that run, with the rules it began with, before we could refuse to adopt it.
        var host = await LocalDurableHost.StartAsync(storage, TaskHub, startWorker: false, loggerFactory: context.Logs);
        var storageGone = false;
        try
        {
            var month = asOf ?? await Starter(cli, host).DefaultAsOfAsync(ct);
            return await RunOnAsync(host, cli, month, rulesJson, scenario, context, resume, allowEmpty, ct);
        }
        catch (Exception)
        {
            storageGone = !await AcceptsConnectionsAsync(storage, CancellationToken.None);
            throw;
        }
        finally
        {
            // A graceful stop finishes in-flight steps and hands the partitions back. With storage gone it could wait on
            // it for good, and there is nothing to hand back: stop as a crash would (the run resumes from its history).
            try
            {
                var stop = storageGone ? host.CrashAsync() : host.DisposeAsync().AsTask();
                await stop.WaitAsync(TimeSpan.FromSeconds(storageGone ? 2 : 15), CancellationToken.None);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    private static async Task<RecalculationOutcome> RunOnAsync(LocalDurableHost host, CliStorage cli, YearMonth asOf, string rulesJson, string? scenario, CommandContext context, bool resume, bool allowEmpty, CancellationToken ct)
    {
        var storage = cli.Account;
        var instanceId = RecalculationStarter.InstanceIdFor(asOf, scenario);
        var interrupted = await host.GetStatusAsync(instanceId, ct) is { } status && RecalculationStarter.IsActive(status.State) ? status : null;
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
            // Never a silent wait: what it waits for, since when, and until when at most (also when redirected).
            var now = DateTimeOffset.UtcNow;
            await context.Error.WriteLineAsync(FormattableString.Invariant(
                $"Resuming the interrupted recalculation for {asOf}: {what}, started {interrupted.CreatedAt:yyyy-MM-dd HH:mm:ss}Z; waiting for it to finish, until {now + Timeout:yyyy-MM-dd HH:mm:ss}Z at most."));
        }
        else if (resume)
        {
            throw new CliException($"There is no interrupted recalculation for {asOf}{(scenario is null ? "" : $" (scenario {scenario})")} to resume.");
        }

        // Interactive: the worker's finished steps drive the status line (shards n/m, reduce, publish).
        var progress = new RecalculationProgress(publishes: scenario is null);
        await host.StartWorkerAsync(storage, context.Logs, afterActivity: context.Interactive ? progress.ObserveAsync : null);
        if (interrupted is null)
        {
            // Refuses a month with no usage in its window (EmptyWindowException) before anything starts.
            var start = await Starter(cli, host).StartAsync(asOf, rulesJson, scenario, cancellationToken: ct, allowEmpty: allowEmpty);
            if (!start.Started)
            {
                // Another process started one for this asOf a moment ago; its result is what gets published.
                throw new CliException($"A recalculation for {asOf} was started by another process just now (instance {start.InstanceId}); wait for it, then run again if needed.");
            }
        }
        if (!context.Interactive) return await WaitAsync(host, storage, instanceId, ct);
        RecalculationOutcome? outcome = null;
        await context.Console.Status().StartAsync(Markup.Escape(ProgressText.Recalculation(asOf, progress.Now)), async status =>
        {
            void Show(RecalculationProgress.Snapshot now) => status.Status = Markup.Escape(ProgressText.Recalculation(asOf, now));
            progress.Changed += Show;
            try
            {
                outcome = await WaitAsync(host, storage, instanceId, ct);
            }
            finally
            {
                progress.Changed -= Show;
            }
        });
        return outcome!;
    }

    /// <summary>The one start contract over the local worker, with the registered clock, fan-out settings and records.</summary>
    private static RecalculationStarter Starter(CliStorage cli, LocalDurableHost host) =>
        new(host, cli.Get<TimeProvider>(), cli.Get<RecalculationSettings>(), cli.Get<RecordStore>());

    /// <summary>
    /// Waits for the instance, checking between polls that storage still answers: the Durable Task backend retries
    /// an unreachable account forever, so without this an outage would hang the command instead of failing it.
    /// </summary>
    private static async Task<RecalculationOutcome> WaitAsync(LocalDurableHost host, StorageAccount storage, string instanceId, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var wait = host.WaitAsync(instanceId, Timeout, stop.Token);
        try
        {
            var lastAnswer = System.Diagnostics.Stopwatch.StartNew();
            while (await Task.WhenAny(wait, Task.Delay(TimeSpan.FromSeconds(2), ct)) != wait)
            {
                try
                {
                    await storage.ProbeAsync(ct); // throws, within the retry deadline, when storage is gone
                    lastAnswer.Restart();
                }
                catch (Exception) when (!ct.IsCancellationRequested && lastAnswer.Elapsed < BusyStorageLimit)
                {
                    // Slow is not gone: an emulator busy with the run's own writes can take longer than the deadline to
                    // answer one request. Keep waiting while it still accepts connections (up to BusyStorageLimit).
                    if (!await AcceptsConnectionsAsync(storage, ct)) throw;
                }
            }
            return await wait;
        }
        finally
        {
            await stop.CancelAsync();
        }
    }

    /// <summary>How long the wait tolerates a storage account that accepts connections but answers no request.</summary>
    private static readonly TimeSpan BusyStorageLimit = TimeSpan.FromMinutes(10);

    /// <summary>Whether the blob and table endpoints still accept TCP connections (within 5 s each).</summary>
    private static async Task<bool> AcceptsConnectionsAsync(StorageAccount storage, CancellationToken ct)
    {
        foreach (var uri in new[] { storage.Blobs.Uri, storage.Tables.Uri })
        {
            using var client = new System.Net.Sockets.TcpClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                await client.ConnectAsync(uri.Host, uri.Port, timeout.Token);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException)
            {
                return false;
            }
        }
        return true;
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
