using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Storage;
using Attribution.Pipeline.Hosting;
using System.Text;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;
using Attribution.Functions.Recalculation;
using Attribution.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attribution.Functions.Tests.Recalculation;

public sealed class RecalculationFunctionsTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly AppRulesSource Rules = new RulesOptions().Load();


    private static HttpRequest Post(string? body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Scheme = "https";
        context.Request.Host = new HostString("attribution.example");
        context.Request.Path = "/api/recalculations";
        if (body is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
            context.Request.ContentType = "application/json";
        }
        else
        {
            context.Request.ContentLength = 0;
        }
        return context.Request;
    }

    private static ProblemDetails AssertProblem(IActionResult result, int status)
    {
        var obj = Assert.IsType<ObjectResult>(result);
        Assert.Equal(status, obj.StatusCode);
        Assert.Contains("application/problem+json", obj.ContentTypes);
        var problem = Assert.IsType<ProblemDetails>(obj.Value);
        Assert.Equal(status, problem.Status);
        Assert.False(string.IsNullOrWhiteSpace(problem.Detail));
        return problem;
    }

    [Fact]
    public void The_metadata_declares_the_orchestrator_activities_timer_and_http_routes()
    {
        Assert.Equal("orchestrationTrigger", FunctionMetadata.Function("RecalculateCredit").GetProperty("bindings")[0].GetProperty("type").GetString());
        string[] activities =
        [
            "FindInterruptedPublish", "BeginRecalculation", "ComputeCreditShard", "ReduceCreditRange", "BeginPublish", "PublishCreditRange",
            "CompletePublish", "CompleteScenarioRun", "FailRecalculation", "PurgeRecalculationHistory",
        ];
        foreach (var activity in activities)
            Assert.Equal("activityTrigger", FunctionMetadata.Function(activity).GetProperty("bindings")[0].GetProperty("type").GetString());
        // The purge at the end of a run uses the Durable client (instances and history of the task hub).
        FunctionMetadata.Binding("PurgeRecalculationHistory", "durableClient");

        Assert.Equal("%RECALC_SCHEDULE%", FunctionMetadata.Binding("ScheduledRecalculation", "timerTrigger").GetProperty("schedule").GetString());
        FunctionMetadata.Binding("ScheduledRecalculation", "durableClient");

        var start = FunctionMetadata.Binding("StartRecalculation", "httpTrigger");
        Assert.Equal("recalculations", start.GetProperty("route").GetString());
        Assert.Equal(["post"], start.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Function", start.GetProperty("authLevel").GetString());
        var get = FunctionMetadata.Binding("GetRecalculation", "httpTrigger");
        Assert.Equal("recalculations/{id}", get.GetProperty("route").GetString());
        Assert.Equal("Function", get.GetProperty("authLevel").GetString());
    }

    [Fact]
    public async Task Post_starts_a_run_with_202_and_a_status_url_then_409_while_it_runs_and_get_reports_it()
    {
        var held = new TaskCompletionSource();
        var shardStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage, async (name, _) =>
        {
            if (name != nameof(ComputeCreditShard)) return;
            shardStarted.TrySetResult();
            await held.Task;
        });
        var http = azurite.Storage.Create<RecalculationHttp>(Rules, TimeProvider.System);

        // This class ingests no usage: the month is started on purpose (allowEmpty), as an operator can.
        var request = Post("""{"asOf":"2026-05","allowEmpty":true}""");
        var accepted = Assert.IsType<ObjectResult>(await http.StartAsync(request, host, default));
        Assert.Equal(202, accepted.StatusCode);
        var body = Assert.IsType<RecalculationAccepted>(accepted.Value);
        Assert.Equal("recalc-2026-05", body.InstanceId);
        Assert.Equal("2026-05", body.AsOf.ToString());
        Assert.Equal("https://attribution.example/api/recalculations/recalc-2026-05", body.StatusUrl);
        Assert.Equal(body.StatusUrl, request.HttpContext.Response.Headers.Location.ToString());

        var conflict = await http.StartAsync(Post("""{"asOf":"2026-05","allowEmpty":true}"""), host, default);
        Assert.Contains("already running", AssertProblem(conflict, 409).Detail);

        await shardStarted.Task.WaitAsync(TimeSpan.FromMinutes(3)); // a shard activity runs: the orchestration is running
        var status = System.Text.Json.JsonSerializer.Serialize(Assert.IsType<OkObjectResult>(await RecalculationHttp.StatusAsync(Post(null), body.InstanceId, host, default)).Value);
        Assert.Contains("\"runtimeStatus\":\"Running\"", status);
        Assert.Contains("\"asOf\":\"2026-05\"", status);

        held.SetResult();
        var outcome = await host.WaitAsync(body.InstanceId, TimeSpan.FromMinutes(3));
        Assert.Equal(body.RunId, outcome.RunId);
        var done = Assert.IsType<OkObjectResult>(await RecalculationHttp.StatusAsync(Post(null), body.InstanceId, host, default));
        var json = System.Text.Json.JsonSerializer.Serialize(done.Value);
        Assert.Contains("\"runtimeStatus\":\"Completed\"", json);
        Assert.Contains(body.RunId, json);
    }

    [Theory]
    [InlineData("""{"asOf":"2026-13"}""", "asOf '2026-13'")]
    [InlineData("""{"asOf":"May 2026"}""", "yyyy-MM")]
    [InlineData("""{"asOf":"0001-01"}""", "out of range")]
    [InlineData("""{"asOf":""", "not valid JSON")]
    [InlineData("""not json""", "not valid JSON")]
    public async Task Post_with_bad_input_is_a_400_problem(string body, string expected)
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var result = await azurite.Storage.Create<RecalculationHttp>(Rules, TimeProvider.System).StartAsync(Post(body), host, default);
        Assert.Contains(expected, AssertProblem(result, 400).Detail);
    }

    [Fact]
    public async Task Get_of_an_unknown_instance_is_a_404_problem()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        AssertProblem(await RecalculationHttp.StatusAsync(Post(null), "recalc-1999-01", host, default), 404);
    }

    [Fact]
    public async Task Post_of_a_month_with_no_usage_is_a_422_problem_unless_allowEmpty_and_the_timer_skips_it()
    {
        // This class ingests no usage: every month's window is empty.
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        var http = azurite.Storage.Create<RecalculationHttp>(Rules, TimeProvider.System);

        var refused = AssertProblem(await http.StartAsync(Post("""{"asOf":"1990-01"}"""), host, default), 422);
        Assert.StartsWith("No usage in the window of 1990-01 (1989-02 to 1990-01): no usage has been ingested", refused.Detail);
        Assert.Contains("allowEmpty", refused.Detail);
        Assert.Null(await host.GetStatusAsync("recalc-1990-01", default));

        var accepted = Assert.IsType<ObjectResult>(await http.StartAsync(Post("""{"asOf":"1990-01","allowEmpty":true}"""), host, default));
        Assert.Equal(202, accepted.StatusCode);
        await host.WaitAsync("recalc-1990-01", TimeSpan.FromMinutes(3));

        var timer = azurite.Storage.Create<ScheduledRecalculation>(Rules, new FixedTime(new DateTimeOffset(1991, 6, 1, 2, 0, 0, TimeSpan.Zero)),
            NullLogger<ScheduledRecalculation>.Instance);
        var skipped = await timer.StartAsync(host, default);
        Assert.False(skipped.Started);
        Assert.Equal("1991-05", skipped.AsOf.ToString());
        Assert.Null(await host.GetStatusAsync("recalc-1991-05", default));
    }

    [Fact]
    public void Invalid_rules_in_the_app_setting_fail_at_start_up_naming_the_field()
    {
        var bad = CreditRulesLoader.DefaultJson.Replace("\"windowMonths\": 12", "\"windowMonths\": 0", StringComparison.Ordinal);
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => StartUp(("ATTRIBUTION_RULES", bad)));
        Assert.Contains("Setting ATTRIBUTION_RULES: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("$.windowMonths", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RECALC_SHARDS", "many", "Setting RECALC_SHARDS must be a whole number from 1 to 1024, not 'many'.")]
    [InlineData("RECALC_HISTORY_RETENTION_DAYS", "a week", "Setting RECALC_HISTORY_RETENTION_DAYS must be a number of days")]
    [InlineData("AzureWebJobsStorage", "not a connection", "Setting 'AzureWebJobsStorage' is not a storage connection string")]
    public void A_bad_setting_fails_start_up_naming_it(string setting, string value, string expected)
    {
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => StartUp((setting, value)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(StorageAccountKey, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_storage_connection_fails_start_up_naming_the_settings_that_make_one()
    {
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => StartUp(("AzureWebJobsStorage", null)));
        Assert.Contains("'AzureWebJobsStorage__accountName'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'AzureWebJobsStorage__credential=managedidentity'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_identity_based_connection_builds_clients_for_the_accounts_endpoints_without_a_key()
    {
        using var services = (Microsoft.Extensions.DependencyInjection.ServiceProvider)StartUp(("AzureWebJobsStorage", null),
            ("AzureWebJobsStorage:accountName", "attributionprod"), ("AzureWebJobsStorage:credential", "managedidentity"));
        var storage = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<StorageAccount>(services);
        Assert.Equal("https://attributionprod.blob.core.windows.net/", storage.Blobs.Uri.ToString());
        Assert.Equal("https://attributionprod.table.core.windows.net/", storage.Tables.Uri.ToString());
        Assert.Null(storage.ConnectionString);
    }

    private static string StorageAccountKey => StorageAccount.DevelopmentAccountKey;

    /// <summary>The app's composition root over these settings (the rest as a local app has them), validated as at start.</summary>
    private IServiceProvider StartUp(params (string Key, string? Value)[] settings)
    {
        var values = new Dictionary<string, string?> { ["AzureWebJobsStorage"] = azurite.ConnectionString };
        foreach (var (key, value) in settings) values[key] = value;
        var configuration = Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(new Microsoft.Extensions.Configuration.ConfigurationBuilder(), values).Build();
        var services = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(
            AttributionServices.AddAttribution(new Microsoft.Extensions.DependencyInjection.ServiceCollection(), configuration));
        return services.ValidateOnStart();
    }
}

/// <summary>The timer over records of its own (the class above keeps its account free of usage).</summary>
public sealed class ScheduledRecalculationTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly AppRulesSource Rules = new RulesOptions().Load();


    [Fact]
    public async Task The_timer_recalculates_the_last_complete_month_unless_one_is_running()
    {
        var held = new TaskCompletionSource();
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage, async (name, _) =>
        {
            if (name == nameof(ComputeCreditShard)) await held.Task;
        });
        // One usage row in the month's window (the timer skips a month with none, as the next test shows).
        var dir = TestPaths.NewTempDirectory();
        var usage = TestPaths.WriteFeed(dir, "usage", "usage-2026-02.csv",
            "customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n" +
            "6f1c4a3e-0b7d-4c52-9d0e-2b1f3a4c5d6e,7a2b3c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d,Azure,2026-02,10,\n");
        await azurite.Storage.Get<FeedIngestor>().IngestFileAsync(usage, Attribution.Domain.Feeds.FeedSource.Usage);
        var timer = azurite.Storage.Create<ScheduledRecalculation>(Rules, new FixedTime(new DateTimeOffset(2026, 3, 1, 2, 0, 0, TimeSpan.Zero)),
            NullLogger<ScheduledRecalculation>.Instance);

        var first = await timer.StartAsync(host, default);
        var second = await timer.StartAsync(host, default);

        Assert.True(first.Started);
        Assert.Equal("2026-02", first.AsOf.ToString());
        Assert.False(second.Started);
        Assert.Equal(first.InstanceId, second.InstanceId);
        held.SetResult();
        await host.WaitAsync(first.InstanceId, TimeSpan.FromMinutes(3));
    }

}
