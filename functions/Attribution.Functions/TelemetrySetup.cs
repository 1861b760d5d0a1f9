using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Attribution.Functions;

/// <summary>
/// Traces, metrics and logs through OpenTelemetry: the Functions worker's own, plus the domain's (<see cref="Pipeline.Telemetry"/>),
/// exported to Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set (the infra sets it, with Entra ID
/// auth through the app's managed identity: APPLICATIONINSIGHTS_AUTHENTICATION_STRING "ClientId=…;Authorization=AAD").
/// </summary>
public static class TelemetrySetup
{
    public const string ConnectionSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";
    public const string AuthenticationSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";

    /// <returns>Whether an exporter was configured (false locally without Application Insights).</returns>
    public static bool AddAttributionTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var connection = configuration[ConnectionSetting];
        var clientId = ManagedIdentityClientId(configuration[AuthenticationSetting]);
        void Exporter(AzureMonitorExporterOptions o)
        {
            o.ConnectionString = connection;
            // A batch pipeline emits few spans (per file, per activity): keep all of them, not a rate-limited sample.
            o.TracesPerSecond = null;
            o.SamplingRatio = 1.0F;
            if (clientId is not null) o.Credential = new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
        }
        var export = !string.IsNullOrWhiteSpace(connection);
        // The domain's loggers (categories "Attribution.*": ingestion, each recalculation step, the orchestrator's
        // phases) at Information whatever a host's default level is, so they reach the log exporter.
        services.AddLogging(l => l.AddFilter(Pipeline.Telemetry.Name, LogLevel.Information));
        // Exporters per signal (not the all-in-one UseAzureMonitorExporter), so each is wired where it is used.
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("attribution-functions"))
            .WithTracing(t =>
            {
                t.AddSource(Pipeline.Telemetry.Name);
                if (export) t.AddAzureMonitorTraceExporter(Exporter);
            })
            .WithMetrics(m =>
            {
                m.AddMeter(Pipeline.Telemetry.Name);
                if (export) m.AddAzureMonitorMetricExporter(Exporter);
            })
            .WithLogging(l =>
            {
                if (export) l.AddAzureMonitorLogExporter(Exporter);
            },
            // The rendered line as the message (the template's values stay properties): readable in a traces query.
            o => o.IncludeFormattedMessage = true)
            // The worker's own spans and resource attributes, correlated with the host's invocation.
            .UseFunctionsWorkerDefaults();
        return export;
    }

    /// <summary>The client id of "ClientId=…;Authorization=AAD", or null for another form (or none).</summary>
    public static string? ManagedIdentityClientId(string? authentication)
    {
        if (string.IsNullOrWhiteSpace(authentication)) return null;
        string? clientId = null;
        var aad = false;
        foreach (var part in authentication.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (kv.Length != 2) continue;
            if (kv[0].Equals("ClientId", StringComparison.OrdinalIgnoreCase)) clientId = kv[1];
            if (kv[0].Equals("Authorization", StringComparison.OrdinalIgnoreCase)) aad = kv[1].Equals("AAD", StringComparison.OrdinalIgnoreCase);
        }
        return aad ? clientId : null;
    }
}
