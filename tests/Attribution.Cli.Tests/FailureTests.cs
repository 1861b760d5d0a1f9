using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Local;
using Attribution.Testing;

namespace Attribution.Cli.Tests;

/// <summary>Issue 8: every failure of a command is one clear line on stderr and an exit code, never a stack trace.</summary>
public sealed class FailureTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    // A hang guard, not a performance assertion: a command that never gives up would otherwise hang the suite.
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);
    private readonly string _dir = TestPaths.NewTempDirectory();

    /// <summary>Azurite's development account on a port nothing listens on.</summary>
    private static string UnreachableStorage(out int port)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return StorageAccount.AzuriteConnectionString("127.0.0.1", port, port, port);
    }

    private static async Task<(int ExitCode, string Out, string Error)> Guarded(Task<(int, string, string)> run)
    {
        var finished = await Task.WhenAny(run, Task.Delay(HangGuard));
        Assert.True(finished == run, "the command did not end: it must give up on storage after --storage-timeout");
        return await run;
    }

    /// <summary>What stderr says besides the "storage: …" line every storage command starts with.</summary>
    private static string[] Lines(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith("storage: ", StringComparison.Ordinal))];

    public static TheoryData<string[]> EveryStorageCommand() => new()
    {
        new[] { "ingest", "{usage}" },
        new[] { "run", "--feeds", "{feeds}" },
        new[] { "recalc", "--as-of", "2026-10" },
        new[] { "partner", "1234567" },
        new[] { "partner", "1234567", "--global", "--json" },
        new[] { "explain", "1234567", "--competency", "CloudPlatform" },
        new[] { "subscription", Guid.NewGuid().ToString() },
        new[] { "report", "--out", "{feeds}/report.html" },
        new[] { "listen", "--servicebus", "Endpoint=sb://127.0.0.1:1/;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0" },
    };

    [Theory]
    [MemberData(nameof(EveryStorageCommand))]
    public async Task Every_command_against_unreachable_storage_ends_with_one_line_naming_the_endpoint_and_exit_1(string[] command)
    {
        var usage = TestPaths.WriteFeed(_dir, "usage", "usage.csv", $"customerTenantId,subscriptionId,workload,month,consumedRevenueUsd\n{Guid.NewGuid()},{Guid.NewGuid()},Azure,2026-01,10\n");
        var args = command.Select(a => a.Replace("{usage}", usage, StringComparison.Ordinal).Replace("{feeds}", _dir, StringComparison.Ordinal))
            .Concat(["--storage", UnreachableStorage(out var port), "--storage-timeout", "2"]).ToArray();

        var (code, _, error) = await Guarded(CliRunner.RunAsync(args));

        Assert.Equal(1, code);
        var line = Assert.Single(Lines(error));
        Assert.StartsWith("error: storage at http://127.0.0.1:" + port, line);
        Assert.Contains("unreachable", line);
        Assert.Contains("gave up after 2 s", line);
    }

    [Fact]
    public async Task Storage_stopped_in_the_middle_of_an_ingestion_fails_in_one_line_and_a_rerun_stores_every_row()
    {
        await using var host = await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true });
        var rows = 300_000;
        var path = Path.Combine(_dir, "usage", "big-usage.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using (var w = File.CreateText(path))
        {
            await w.WriteLineAsync("customerTenantId,subscriptionId,workload,month,consumedRevenueUsd");
            // Many tenants, so the rows spread over the store's partitions as real feeds do.
            for (var i = 0; i < rows; i++) await w.WriteLineAsync($"{new Guid(i / 12, 7, 7, new byte[8])},{new Guid(i / 12, 1, 1, new byte[8])},Azure,2026-{i % 12 + 1:D2},{i}");
        }
        var storage = StorageAccount.FromConnectionString(host.ConnectionString);
        await storage.EnsureCreatedAsync();

        // The first pass begins once the attempt is recorded as Running: pull the plug then.
        using var validating = new TraceSignal("ValidateFeed", $"127.0.0.1:{host.BlobPort}");
        var ingest = CliRunner.RunAsync("ingest", path, "--storage", host.ConnectionString, "--storage-timeout", "3");
        await validating.WaitAsync(ingest);
        Assert.False(ingest.IsCompleted, "the ingestion ended before storage could be stopped");
        await host.StopAsync();

        var (code, _, error) = await Guarded(ingest);
        Assert.Equal(1, code);
        var line = Assert.Single(Lines(error));
        Assert.StartsWith($"error: storage at http://127.0.0.1:{host.BlobPort}", line);

        // Storage back (empty: the emulator kept nothing in memory): the same file again stores every row, once.
        await host.RestartAsync();
        var (again, output, _) = await Guarded(CliRunner.RunAsync("ingest", path, "--storage", host.ConnectionString));
        Assert.Equal(0, again);
        Assert.Matches($@"usage\s+Succeeded\s+{rows:N0}\s+{rows:N0}\s+0", output);
    }

    [Fact]
    public async Task Storage_stopped_during_a_recalculation_fails_in_one_line_within_the_bound()
    {
        await using var host = await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true });
        var (ingested, _, ingestError) = await CliRunner.RunAsync(["ingest", .. SampleFiles(), "--storage", host.ConnectionString]);
        Assert.True(ingested == 0, ingestError);

        // BeginRecalculation has recorded the run when its span ends: pull the plug then, before the shards.
        using var begun = new TraceSignal(nameof(BeginRecalculation), $"127.0.0.1:{host.BlobPort}", whenStopped: true);
        var recalc = CliRunner.RunAsync("recalc", "--as-of", "2026-10", "--storage", host.ConnectionString, "--storage-timeout", "3");
        await begun.WaitAsync(recalc);
        Assert.False(recalc.IsCompleted, "the recalculation ended before storage could be stopped");
        await host.StopAsync();

        var (code, _, error) = await Guarded(recalc);
        Assert.Equal(1, code);
        var line = Assert.Single(Lines(error));
        Assert.StartsWith($"error: storage at http://127.0.0.1:{host.BlobPort}", line);
        Assert.Contains("unreachable", line);
    }

    private static IEnumerable<string> SampleFiles() =>
        Directory.EnumerateFiles(TestPaths.Samples, "*.*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".md", StringComparison.Ordinal));

    [Fact]
    public async Task A_connection_string_that_is_not_one_is_bad_usage_in_one_line_without_echoing_it()
    {
        var (code, _, error) = await CliRunner.RunAsync("partner", "1234567", "--storage", "AccountKey=not-a-secret-to-print;garbage");
        Assert.Equal(2, code);
        var line = Assert.Single(Lines(error));
        Assert.Contains("--storage is not a storage connection string", line);
        Assert.DoesNotContain("not-a-secret-to-print", line);
    }

    [Fact]
    public async Task An_empty_storage_option_is_an_error_not_a_fallback_to_the_emulator()
    {
        var (code, _, error) = await CliRunner.RunAsync("partner", "1234567", "--storage", "");
        Assert.Equal(2, code);
        Assert.Contains("--storage is empty", Assert.Single(Lines(error)));
    }

    [Fact]
    public async Task An_empty_ATTRIBUTION_STORAGE_variable_is_an_error_not_a_fallback_to_the_emulator()
    {
        // Out of process: the variable belongs to the process, and tests in this one run in parallel.
        var (code, _, error) = await CliRunner.RunProcessAsync(new Dictionary<string, string?> { ["ATTRIBUTION_STORAGE"] = "" }, "partner", "1234567");
        Assert.Equal(2, code);
        Assert.Contains("ATTRIBUTION_STORAGE is empty", Assert.Single(Lines(error)));
    }

    [Theory]
    [InlineData("0001-01")]
    [InlineData("1899-12")]
    public async Task A_month_whose_window_leaves_the_calendar_is_bad_usage_before_storage_is_touched(string month)
    {
        var (code, _, error) = await Guarded(CliRunner.RunAsync("recalc", "--as-of", month, "--storage", UnreachableStorage(out _)));
        Assert.Equal(2, code);
        Assert.Contains("out of range", Assert.Single(Lines(error)));
    }

    [Fact]
    public async Task Rules_with_a_duplicate_key_fail_in_one_line_naming_the_key()
    {
        var rules = Path.Combine(_dir, "dup-rules.json");
        await File.WriteAllTextAsync(rules, CreditRulesLoader.DefaultJson.Replace("\"windowMonths\"", "\"windowMonths\": 6, \"windowMonths\"", StringComparison.Ordinal));
        var (code, _, error) = await CliRunner.RunAsync("recalc", "--rules", rules, "--storage", UnreachableStorage(out _));
        Assert.Equal(1, code);
        var line = Assert.Single(Lines(error));
        Assert.Contains("dup-rules.json", line);
        Assert.Contains("windowMonths", line);
    }

    [Fact]
    public async Task Rules_that_are_a_folder_or_missing_are_bad_usage()
    {
        var (folder, _, folderError) = await CliRunner.RunAsync("recalc", "--rules", _dir, "--storage", UnreachableStorage(out _));
        Assert.Equal(2, folder);
        Assert.Contains("is a folder", Assert.Single(Lines(folderError)));
        var (missing, _, missingError) = await CliRunner.RunAsync("recalc", "--rules", Path.Combine(_dir, "nope.json"), "--storage", UnreachableStorage(out _));
        Assert.Equal(2, missing);
        Assert.Contains("does not exist", Assert.Single(Lines(missingError)));
    }

    [Fact]
    public async Task Generate_into_an_existing_file_is_bad_usage()
    {
        var file = Path.Combine(_dir, "not-a-folder");
        await File.WriteAllTextAsync(file, "x");
        var (code, _, error) = await CliRunner.RunAsync("generate", "--out", file, "--tenants", "2");
        Assert.Equal(2, code);
        Assert.Contains("is a file", Assert.Single(Lines(error)));
    }

    [Fact]
    public async Task Ingest_of_a_folder_is_bad_usage()
    {
        var (code, _, error) = await CliRunner.RunAsync("ingest", _dir, "--storage", UnreachableStorage(out _));
        Assert.Equal(2, code);
        Assert.Contains("is a folder", Assert.Single(Lines(error)));
    }

    [Fact]
    public async Task Run_exits_1_when_a_file_fails_as_a_whole_but_still_recalculates_with_what_was_stored()
    {
        var feeds = Path.Combine(_dir, "feeds");
        foreach (var file in Directory.EnumerateFiles(TestPaths.Samples, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(feeds, Path.GetRelativePath(TestPaths.Samples, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        TestPaths.WriteFeed(feeds, "sales", "sales-broken.csv", "customerTenantId,partnerId\n");

        var (code, output, error) = await Guarded(CliRunner.RunAsync("run", "--feeds", feeds, "--storage", azurite.ConnectionString));

        Assert.Equal(1, code);
        Assert.Contains("sales-broken.csv", error);
        Assert.Contains("recalculating with what was stored", error);
        Assert.Contains("Credit as of 2026-10", output);
        var (read, json, _) = await CliRunner.RunAsync("partner", "2345678", "--json", "--storage", azurite.ConnectionString);
        Assert.Equal(0, read);
        Assert.Contains("\"Gold\"", json);
    }

    [Fact]
    public async Task Recalc_refuses_to_adopt_an_interrupted_run_with_other_rules_and_resume_finishes_it_with_its_own()
    {
        await using var own = await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true });
        var storage = StorageAccount.FromConnectionString(own.ConnectionString);
        var (ingested, _, ingestError) = await CliRunner.RunAsync(["ingest", .. SampleFiles(), "--storage", own.ConnectionString]);
        Assert.True(ingested == 0, ingestError);
        var asOf = new YearMonth(2026, 10);

        // A recalculation with the shipped rules dies while its shards run (the CLI killed mid-run).
        var shardStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new TaskCompletionSource();
        // Its partitions and in-flight messages come back to the next worker (the CLI's) after 4 s and 8 s.
        var dying = await LocalDurableHost.StartAsync(storage, Recalculator.TaskHub, beforeActivity: async (name, _) =>
        {
            if (name != nameof(ComputeCreditShard)) return;
            shardStarted.TrySetResult();
            await held.Task;
        }, takeover: TimeSpan.FromSeconds(4));
        var start = await dying.Storage.Starter(dying).StartAsync(asOf, CreditRulesLoader.DefaultJson);
        Assert.True(start.Started);
        await shardStarted.Task;
        await dying.CrashAsync();
        held.SetException(new DurableTask.Core.Exceptions.SessionAbortedException("the process died"));

        // Other rules: refused, naming the interrupted run; nothing is published.
        var otherRules = JsonNode.Parse(CreditRulesLoader.DefaultJson)!.AsObject();
        otherRules["rulesVersion"] = "other-rules-v2";
        var otherPath = Path.Combine(_dir, "other-rules.json");
        await File.WriteAllTextAsync(otherPath, otherRules.ToJsonString());
        var (refused, _, refusal) = await Guarded(CliRunner.RunAsync("recalc", "--as-of", "2026-10", "--rules", otherPath, "--storage", own.ConnectionString));
        Assert.Equal(1, refused);
        var line = Assert.Single(Lines(refusal));
        Assert.Contains(start.RunId!, line);
        Assert.Contains(CreditRulesLoader.Default.RulesVersion, line);
        Assert.Contains("--resume", line);
        Assert.Null(await storage.Get<RunStore>().PublishedAsync(asOf));

        // --resume finishes it with the rules it began with.
        var (resumed, _, resumeError) = await Guarded(CliRunner.RunAsync("recalc", "--as-of", "2026-10", "--resume", "--storage", own.ConnectionString));
        Assert.True(resumed == 0, resumeError);
        var published = await storage.Get<RunStore>().PublishedAsync(asOf);
        Assert.Equal(start.RunId, published!.RunId);
        Assert.Equal(CreditRulesLoader.Default.RulesVersion, published.RulesVersion);

        // Then the other rules run and are what is published.
        var (again, _, againError) = await Guarded(CliRunner.RunAsync("recalc", "--as-of", "2026-10", "--rules", otherPath, "--storage", own.ConnectionString));
        Assert.True(again == 0, againError);
        Assert.Equal("other-rules-v2", (await storage.Get<RunStore>().PublishedAsync(asOf))!.RulesVersion);
    }

    [Fact]
    public async Task Resume_with_nothing_interrupted_says_so_and_exits_1()
    {
        var (code, _, error) = await CliRunner.RunAsync("recalc", "--as-of", "2026-09", "--resume", "--storage", azurite.ConnectionString);
        Assert.Equal(1, code);
        Assert.Contains("no interrupted recalculation for 2026-09", Assert.Single(Lines(error)));
    }
}
