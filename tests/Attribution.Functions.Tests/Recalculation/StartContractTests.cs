using Attribution.Pipeline.Hosting;
using System.Text;
using Attribution.Domain;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;
using Attribution.Functions.Recalculation;
using Attribution.Local;
using Attribution.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>
/// One start contract for both hosts: starting a month that is already running answers "already running" atomically,
/// however many starts race (the timer and POSTs), so HTTP answers 409 and the timer logs and skips — never an
/// exception, never a second instance; a month whose run ended starts again. The same tests run against the local
/// DTFx adapter (the CLI's) and the function app's Durable Functions adapter, both over the real task hub.
/// </summary>
public abstract class StartContractTests(SmallRecordsFixture azurite) : IClassFixture<SmallRecordsFixture>
{
    private static readonly YearMonth AsOf = RecalculationHarness.AsOf;
    private static readonly AppRulesSource Rules = new RulesOptions().Load();

    /// <summary>The adapter under test over the host's task hub.</summary>
    protected abstract IRecalculationInstances Instances(LocalDurableHost host);

    protected SmallRecordsFixture Azurite { get; } = azurite;


    // In the middle of the month after AsOf: the timer's default month is AsOf.
    private static readonly FixedTime Now = new(new DateTimeOffset(AsOf.Year, AsOf.Month, 15, 2, 0, 0, TimeSpan.Zero).AddMonths(1));

    private static HttpRequest Post(string body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Scheme = "https";
        context.Request.Host = new HostString("attribution.example");
        context.Request.Path = "/api/recalculations";
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = bytes.Length;
        context.Request.ContentType = "application/json";
        return context.Request;
    }

    [Fact]
    public async Task Concurrent_starts_of_one_month_start_one_instance_and_answer_already_running_to_the_rest()
    {
        // No worker: the instance stays Pending, which counts as running.
        await using var host = await RecalculationHarness.HostAsync(Azurite.Storage, startWorker: false);
        var starter = host.Storage.Starter(Instances(host), RecalculationHarness.SmallFanOut, Now);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => starter.StartAsync(AsOf, CreditRulesLoader.DefaultJson))));

        Assert.Single(outcomes, o => o.Started);
        Assert.All(outcomes, o => Assert.Equal(RecalculationStarter.InstanceIdFor(AsOf, null), o.InstanceId));
        Assert.All(outcomes.Where(o => !o.Started), o => Assert.Null(o.RunId));
        Assert.False((await starter.StartAsync(AsOf, CreditRulesLoader.DefaultJson)).Started);
        var status = await Instances(host).GetStatusAsync(RecalculationStarter.InstanceIdFor(AsOf, null), CancellationToken.None);
        Assert.Equal(outcomes.Single(o => o.Started).RunId, status!.Input!.RunId);
        // Another month is independent of it.
        var other = await starter.StartAsync(AsOf.AddMonths(-1), CreditRulesLoader.DefaultJson);
        Assert.True(other.Started);
        Assert.Equal(RecalculationStarter.InstanceIdFor(AsOf.AddMonths(-1), null), other.InstanceId);
    }

    [Fact]
    public async Task The_timer_and_posts_racing_for_one_month_give_one_start_and_409s_or_a_logged_skip_never_a_500()
    {
        await using var host = await RecalculationHarness.HostAsync(Azurite.Storage, startWorker: false);
        var instances = Instances(host);
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var http = Azurite.Storage.Create<RecalculationHttp>(Rules, Now, RecalculationHarness.SmallFanOut);
        var timer = Azurite.Storage.Create<ScheduledRecalculation>(Rules, Now, factory.CreateLogger<ScheduledRecalculation>(), RecalculationHarness.SmallFanOut);

        var posts = Enumerable.Range(0, 3).Select(_ => Task.Run(() => http.StartAsync(Post($$"""{"asOf":"{{AsOf}}"}"""), instances, CancellationToken.None))).ToList();
        var tick = Task.Run(() => timer.StartAsync(instances, CancellationToken.None));
        var answers = await Task.WhenAll(posts);
        var timed = await tick;

        var statuses = answers.Select(a => Assert.IsType<ObjectResult>(a).StatusCode).ToList();
        Assert.All(statuses, s => Assert.Contains(s, new int?[] { StatusCodes.Status202Accepted, StatusCodes.Status409Conflict }));
        var started = statuses.Count(s => s == StatusCodes.Status202Accepted) + (timed.Started ? 1 : 0);
        Assert.Equal(1, started);
        foreach (var conflict in answers.Cast<ObjectResult>().Where(r => r.StatusCode == StatusCodes.Status409Conflict))
            Assert.Contains($"A recalculation for {AsOf} is already running", Assert.IsType<ProblemDetails>(conflict.Value).Detail, StringComparison.Ordinal);
        if (!timed.Started)
            Assert.Single(logs.Entries, e => e.EventId == 11 && e.Message.Contains($"Recalculation for {AsOf} is already running", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_month_whose_run_ended_starts_again()
    {
        await using var host = await RecalculationHarness.HostAsync(Azurite.Storage);
        var starter = host.Storage.Starter(Instances(host), RecalculationHarness.SmallFanOut, Now);

        var first = await starter.StartAsync(AsOf, CreditRulesLoader.DefaultJson);
        Assert.True(first.Started);
        Assert.True((await host.WaitAsync(first.InstanceId, TimeSpan.FromMinutes(3))).Published);

        var second = await starter.StartAsync(AsOf, CreditRulesLoader.DefaultJson);
        Assert.True(second.Started);
        Assert.NotEqual(first.RunId, second.RunId);
        Assert.Equal(second.RunId, (await host.WaitAsync(second.InstanceId, TimeSpan.FromMinutes(3))).RunId);
    }
}

/// <summary>The CLI's adapter: the local DTFx client.</summary>
public sealed class LocalStartContractTests(SmallRecordsFixture azurite) : StartContractTests(azurite)
{
    protected override IRecalculationInstances Instances(LocalDurableHost host) => host;
}

/// <summary>The function app's adapter: <see cref="DurableFunctionsInstances"/> over a Durable client of the same task hub.</summary>
public sealed class FunctionsStartContractTests(SmallRecordsFixture azurite) : StartContractTests(azurite), IAsyncDisposable
{
    private readonly List<TaskHubDurableTaskClient> _clients = [];

    protected override IRecalculationInstances Instances(LocalDurableHost host)
    {
        var client = new TaskHubDurableTaskClient(Azurite.ConnectionString, host.TaskHub);
        lock (_clients) _clients.Add(client);
        return new DurableFunctionsInstances(client, Azurite.Storage.Get<InstanceStartGate>());
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients) await client.DisposeAsync();
    }
}
