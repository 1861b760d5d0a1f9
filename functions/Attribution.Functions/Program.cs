using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Recalculation;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Functions;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddAttributionCore(builder.Configuration);
builder.Services.AddAttributionTelemetry(builder.Configuration);
builder.Build().Run();

namespace Attribution.Functions
{
    public static class ServiceRegistration
    {
        /// <summary>The domain services the functions call; the same classes the CLI uses.</summary>
        public static IServiceCollection AddAttributionCore(this IServiceCollection services, IConfiguration configuration)
        {
            // Identity-based in Azure (AzureWebJobsStorage__accountName + __credential=managedidentity), a connection string locally.
            services.AddSingleton(_ => StorageAccount.FromSettings(name => configuration[name]));
            services.AddSingleton(_ => AppRules.Load(configuration[AppRules.SettingName]));
            services.AddSingleton(sp => sp.GetRequiredService<AppRulesSource>().Rules);
            services.AddSingleton(sp => new FeedIngestor(sp.GetRequiredService<StorageAccount>(), sp.GetRequiredService<CreditRules>(),
                sp.GetService<TimeProvider>(), sp.GetService<ILogger<FeedIngestor>>()));
            services.AddSingleton(TimeProvider.System);
            services.AddRecalculation(); // the orchestrator and its steps: the same registration the local worker uses
            // Fan-out (RECALC_SHARDS, RECALC_REDUCE_RANGES, RECALC_PUBLISH_RANGES) and history retention (RECALC_HISTORY_RETENTION_DAYS).
            services.AddSingleton(_ => Attribution.Pipeline.Recalculation.RecalculationSettings.FromSettings(name => configuration[name]));
            return services;
        }
    }

    /// <summary>The app's rules and their JSON text (a run carries the exact text it started with).</summary>
    public sealed record AppRulesSource(string Json, CreditRules Rules);

    /// <summary>Rules for the app: setting ATTRIBUTION_RULES holds a file path or the JSON itself; default: the shipped rules.</summary>
    public static class AppRules
    {
        public const string SettingName = "ATTRIBUTION_RULES";

        /// <summary>Validates at start-up, so bad rules fail fast with the field named.</summary>
        public static AppRulesSource Load(string? setting)
        {
            var json = string.IsNullOrWhiteSpace(setting) ? CreditRulesLoader.DefaultJson
                : setting.TrimStart().StartsWith('{') ? setting
                : File.ReadAllText(setting);
            return new AppRulesSource(json, CreditRulesLoader.Parse(json));
        }
    }
}
