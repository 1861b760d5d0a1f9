using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Attribution.Functions.Tests;

/// <summary>The function app exports the domain's traces to Application Insights through the Azure Monitor exporter.</summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task Domain_traces_reach_the_application_insights_endpoint_named_by_the_app_setting()
    {
        using var endpoint = new IngestionEndpoint("ingest-feed-test");
        var configuration = endpoint.Configuration();
        var services = new ServiceCollection().AddLogging();
        Assert.True(services.AddAttributionTelemetry(configuration));
        using (var provider = services.BuildServiceProvider())
        {
            var tracing = provider.GetRequiredService<TracerProvider>();
            using (var span = Pipeline.Telemetry.Source.StartActivity("ingest-feed-test"))
                Assert.NotNull(span); // a listener is attached: the domain's source is exported
            tracing.ForceFlush(30_000);
        }

        await endpoint.ReceivedAsync("the span");
    }

    [Fact]
    public async Task Domain_logs_reach_the_application_insights_endpoint_too()
    {
        var marker = "log-" + Guid.NewGuid().ToString("N")[..12];
        using var endpoint = new IngestionEndpoint(marker);
        var configuration = endpoint.Configuration();
        var services = new ServiceCollection().AddLogging();
        Assert.True(services.AddAttributionTelemetry(configuration));
        using (var provider = services.BuildServiceProvider())
        {
            // The ingestor's own logger, as the app's DI hands it over (category Attribution.Pipeline.Ingestion.FeedIngestor).
            var logger = provider.GetRequiredService<ILogger<Pipeline.Ingestion.FeedIngestor>>();
            Pipeline.Ingestion.IngestionLog.IngestionStarted(logger, marker, "usage", "usage.csv", 42);
            // Sent now, waiting as long as a busy machine needs (a shutdown alone gives the export a short deadline, then
            // keeps the batch on disk for a retry that never comes in a test).
            Assert.True(provider.GetRequiredService<LoggerProvider>().ForceFlush(30_000));
        }

        var sent = await endpoint.ReceivedAsync("the log");
        // The rendered line, its category and event id, and each value as a property to query by.
        Assert.True(sent.Contains($"\"message\":\"Ingestion {marker} started: usage file usage.csv (42 bytes).\"", StringComparison.Ordinal), sent);
        Assert.Contains("\"CategoryName\":\"Attribution.Pipeline.Ingestion.FeedIngestor\"", sent, StringComparison.Ordinal);
        Assert.Contains("\"EventId\":\"1001\"", sent, StringComparison.Ordinal);
        Assert.Contains($"\"IngestionId\":\"{marker}\"", sent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_swallowed_failures_counter_reaches_the_application_insights_endpoint_with_its_operation()
    {
        // The operation as the tag's value: the marker to find in what the exporter sends.
        var marker = "op-" + Guid.NewGuid().ToString("N")[..12];
        using var endpoint = new IngestionEndpoint(marker);
        var configuration = endpoint.Configuration();
        var services = new ServiceCollection().AddLogging();
        Assert.True(services.AddAttributionTelemetry(configuration));
        using (var provider = services.BuildServiceProvider())
        {
            var metrics = provider.GetRequiredService<MeterProvider>();
            Pipeline.Storage.SwallowedFailures.Count(marker);
            metrics.ForceFlush(30_000);
        }

        var sent = await endpoint.ReceivedAsync("the metric");
        Assert.Contains($"\"name\":\"{Pipeline.Storage.SwallowedFailures.MetricName}\"", sent, StringComparison.Ordinal);
        Assert.Contains($"\"{Pipeline.Storage.SwallowedFailures.OperationTag}\":\"{marker}\"", sent, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_the_setting_nothing_is_exported_and_the_app_still_starts()
    {
        var services = new ServiceCollection().AddLogging();
        Assert.False(services.AddAttributionTelemetry(new ConfigurationBuilder().Build()));
        using var provider = services.BuildServiceProvider();
        Assert.NotNull(provider.GetService<TracerProvider>());
    }

    [Theory]
    [InlineData("ClientId=1234-abcd;Authorization=AAD", "1234-abcd")]
    [InlineData("Authorization=AAD;ClientId=1234-abcd", "1234-abcd")]
    [InlineData("ClientId=1234-abcd", null)]
    [InlineData("", null)]
    public void The_managed_identity_comes_from_the_authentication_setting(string setting, string? clientId) =>
        Assert.Equal(clientId, TelemetrySetup.ManagedIdentityClientId(setting));

    /// <summary>
    /// A local stand-in for the Application Insights ingestion endpoint: takes every request the exporter sends
    /// (traces, logs, metrics) until one holds the marker.
    /// </summary>
    private sealed class IngestionEndpoint : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly List<string> _bodies = [];
        private readonly Task<string> _receiving;
        private readonly int _port;

        public IngestionEndpoint(string marker)
        {
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                _port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }
            _listener.Prefixes.Add($"http://127.0.0.1:{_port}/");
            _listener.Start();
            _receiving = Task.Run(async () =>
            {
                while (true)
                {
                    var context = await _listener.GetContextAsync();
                    Stream body = context.Request.InputStream;
                    if (context.Request.Headers["Content-Encoding"] == "gzip") body = new GZipStream(body, CompressionMode.Decompress);
                    var text = await new StreamReader(body).ReadToEndAsync();
                    context.Response.StatusCode = 200;
                    context.Response.Close();
                    lock (_bodies) _bodies.Add(text);
                    if (text.Contains(marker, StringComparison.Ordinal)) return text;
                }
            });
        }

        /// <summary>The app setting that points the exporter here.</summary>
        public IConfiguration Configuration() => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [TelemetrySetup.ConnectionSetting] = $"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=http://127.0.0.1:{_port}/",
        }).Build();

        /// <summary>The request that held the marker; a hang guard, not a timing assertion, fails the test if none came.</summary>
        public async Task<string> ReceivedAsync(string what)
        {
            var finished = await Task.WhenAny(_receiving, Task.Delay(TimeSpan.FromMinutes(1)));
            lock (_bodies) Assert.True(finished == _receiving, $"{what} was not exported; {_bodies.Count} other request(s) arrived: {string.Join(" || ", _bodies.Select(b => b.Length > 300 ? b[..300] : b))}");
            return await _receiving;
        }

        public void Dispose() => _listener.Close();
    }
}
