using Attribution.Domain.Rules;
using Attribution.Pipeline.Ingestion;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Attribution.Pipeline.Hosting;

/// <summary>
/// The one composition root: the function app, the CLI and the test fixtures register the pipeline with
/// <see cref="AddAttribution"/>. Settings are options bound from configuration and validated at start (a bad one fails
/// start-up naming it); the Azure clients come from <c>Microsoft.Extensions.Azure</c> with one credential read from the
/// storage connection's section; every store and reader is registered once, so the caches they hold (the record log's
/// metadata, rules by hash) live as long as the host.
/// </summary>
public static class AttributionServices
{
    /// <summary>The storage connection's setting name: the Functions host's own storage.</summary>
    public const string StorageConnection = "AzureWebJobsStorage";

    public static IServiceCollection AddAttribution(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<StorageConnectionOptions>().Configure(o => o.ReadFrom(configuration)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageConnectionOptions>, StorageConnectionValidation>());
        services.AddOptions<RecalculationOptions>().Bind(configuration).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecalculationOptions>, RecalculationOptionsValidation>());
        services.AddOptions<RulesOptions>().Bind(configuration).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RulesOptions>, RulesOptionsValidation>());

        services.AddAzureClients(clients =>
        {
            clients.AddClient<TableServiceClient, TableClientOptions>((options, credential, sp) =>
                sp.GetRequiredService<IOptions<StorageConnectionOptions>>().Value.Tables(options, credential))
                .ConfigureOptions((options, sp) => StorageAccount.ApplyRetry(options, sp.GetRequiredService<IOptions<StorageConnectionOptions>>().Value));
            clients.AddClient<BlobServiceClient, BlobClientOptions>((options, credential, sp) =>
                sp.GetRequiredService<IOptions<StorageConnectionOptions>>().Value.Blobs(options, credential))
                .ConfigureOptions((options, sp) => StorageAccount.ApplyRetry(options, sp.GetRequiredService<IOptions<StorageConnectionOptions>>().Value));
            // One credential, read from the connection's section as the host reads it (`credential`, `clientId`, …). The
            // factory falls back to this default credential when a section names none, so it is asked only when one does.
            clients.UseCredential(sp =>
            {
                var section = configuration.GetSection(sp.GetRequiredService<IOptions<StorageConnectionOptions>>().Value.Name);
                return string.IsNullOrWhiteSpace(section["credential"]) ? new DefaultAzureCredential()
                    : sp.GetRequiredService<AzureComponentFactory>().CreateTokenCredential(section);
            });
        });
        // A host that already holds an account (the CLI's embedded emulator, a test's) registers it first.
        services.TryAddSingleton(sp => new StorageAccount(sp.GetRequiredService<TableServiceClient>(), sp.GetRequiredService<BlobServiceClient>(),
            sp.GetRequiredService<IOptions<StorageConnectionOptions>>().Value.ConnectionString));

        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<RecalculationOptions>>().Value.ToSettings());
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<RulesOptions>>().Value.Load());
        services.TryAddSingleton(sp => sp.GetRequiredService<AppRulesSource>().Rules);

        services.TryAddSingleton<FeedIngestor>();
        services.TryAddSingleton<FeedMessageHandler>();
        services.TryAddSingleton<IngestionStore>();
        services.TryAddSingleton<CreditReader>();
        services.TryAddSingleton<ScoreReader>();
        services.TryAddSingleton<EvidenceService>();
        services.TryAddSingleton<TenantReader>();
        services.TryAddSingleton<CreditChanges>();
        services.TryAddSingleton<PartnerListing>();
        services.TryAddSingleton<DesignationListing>();
        services.AddRecalculation();
        return services;
    }

    /// <summary>
    /// Runs the options' start-up validation now, for hosts without a generic host to start (the CLI, tests): a bad
    /// setting throws <see cref="OptionsValidationException"/> naming it, as the function app fails at start.
    /// </summary>
    public static IServiceProvider ValidateOnStart(this IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.GetRequiredService<IStartupValidator>().Validate();
        return services;
    }
}
