using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;

namespace Attribution.Functions.Tests;

/// <summary>The function app exports the domain's traces to Application Insights through the Azure Monitor exporter.</summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task Domain_traces_reach_the_application_insights_endpoint_named_by_the_app_setting()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        using var ingestion = new HttpListener();
        ingestion.Prefixes.Add($"http://127.0.0.1:{port}/");
        ingestion.Start();
        var bodies = new List<string>();
        var receiving = Task.Run(async () =>
        {
            // Every request the exporter sends (traces, logs, metrics), until the span shows up.
            while (true)
            {
                var context = await ingestion.GetContextAsync();
                Stream body = context.Request.InputStream;
                if (context.Request.Headers["Content-Encoding"] == "gzip") body = new GZipStream(body, CompressionMode.Decompress);
                var text = await new StreamReader(body).ReadToEndAsync();
                context.Response.StatusCode = 200;
                context.Response.Close();
                lock (bodies) bodies.Add(text);
                if (text.Contains("ingest-feed-test", StringComparison.Ordinal)) return;
            }
        });

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [TelemetrySetup.ConnectionSetting] = $"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=http://127.0.0.1:{port}/",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        Assert.True(services.AddAttributionTelemetry(configuration));
        using (var provider = services.BuildServiceProvider())
        {
            var tracing = provider.GetRequiredService<TracerProvider>();
            using (var span = Core.Telemetry.Source.StartActivity("ingest-feed-test"))
                Assert.NotNull(span); // a listener is attached: the domain's source is exported
            tracing.ForceFlush(30_000);
        }

        // A hang guard, not a timing assertion.
        var finished = await Task.WhenAny(receiving, Task.Delay(TimeSpan.FromMinutes(1)));
        lock (bodies) Assert.True(finished == receiving, $"the span was not exported; {bodies.Count} other request(s) arrived: {string.Join(" || ", bodies.Select(b => b.Length > 300 ? b[..300] : b))}");
    }

    [Fact]
    public async Task Domain_logs_reach_the_application_insights_endpoint_too()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        using var ingestion = new HttpListener();
        ingestion.Prefixes.Add($"http://127.0.0.1:{port}/");
        ingestion.Start();
        var marker = "log-" + Guid.NewGuid().ToString("N")[..12];
        var bodies = new List<string>();
        var receiving = Task.Run(async () =>
        {
            while (true)
            {
                var context = await ingestion.GetContextAsync();
                Stream body = context.Request.InputStream;
                if (context.Request.Headers["Content-Encoding"] == "gzip") body = new GZipStream(body, CompressionMode.Decompress);
                var text = await new StreamReader(body).ReadToEndAsync();
                context.Response.StatusCode = 200;
                context.Response.Close();
                lock (bodies) bodies.Add(text);
                if (text.Contains(marker, StringComparison.Ordinal)) return text;
            }
        });

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [TelemetrySetup.ConnectionSetting] = $"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=http://127.0.0.1:{port}/",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        Assert.True(services.AddAttributionTelemetry(configuration));
        using (var provider = services.BuildServiceProvider())
        {
            // The ingestor's own logger, as the app's DI hands it over (category Attribution.Core.Ingestion.FeedIngestor).
            var logger = provider.GetRequiredService<ILogger<Core.Ingestion.FeedIngestor>>();
            Core.Ingestion.IngestionLog.IngestionStarted(logger, marker, "usage", "usage.csv", 42);
            // Disposing the provider shuts the log pipeline down, which sends what it holds.
        }

        // A hang guard, not a timing assertion.
        var finished = await Task.WhenAny(receiving, Task.Delay(TimeSpan.FromMinutes(1)));
        lock (bodies) Assert.True(finished == receiving, $"the log was not exported; {bodies.Count} other request(s) arrived");
        var sent = await receiving;
        // The rendered line, its category and event id, and each value as a property to query by.
        Assert.True(sent.Contains($"\"message\":\"Ingestion {marker} started: usage file usage.csv (42 bytes).\"", StringComparison.Ordinal), sent);
        Assert.Contains("\"CategoryName\":\"Attribution.Core.Ingestion.FeedIngestor\"", sent, StringComparison.Ordinal);
        Assert.Contains("\"EventId\":\"1001\"", sent, StringComparison.Ordinal);
        Assert.Contains($"\"IngestionId\":\"{marker}\"", sent, StringComparison.Ordinal);
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
}
