using Attribution.Domain.Rules;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Attribution.Pipeline.Hosting;

/// <summary>
/// The storage connection, spelled as the Functions host spells it: `{Name}` a connection string (local, Azurite), or
/// identity-based `{Name}__tableServiceUri` and `__blobServiceUri` (or `__accountName`) with `__credential`/`__clientId`,
/// whose credential <c>Microsoft.Extensions.Azure</c> builds from the same section.
/// </summary>
public sealed class StorageConnectionOptions
{
    /// <summary>The connection's setting name: the host's own storage by default.</summary>
    public string Name { get; set; } = AttributionServices.StorageConnection;

    public string? ConnectionString { get; set; }
    public Uri? TableServiceUri { get; set; }
    public Uri? BlobServiceUri { get; set; }

    /// <summary>No retry starts once a request has been failing this long (the CLI shortens it to notice an outage).</summary>
    public TimeSpan GiveUpAfter { get; set; } = StorageAccount.DefaultGiveUpAfter;

    /// <summary>Retries of a failed request (null: the default).</summary>
    public int? MaxRetries { get; set; }

    /// <summary>Reads the section `{name}` as the host does.</summary>
    public void ReadFrom(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(Name);
        ConnectionString = string.IsNullOrWhiteSpace(section.Value) ? null : section.Value;
        var account = section["accountName"];
        TableServiceUri = Uri(section["tableServiceUri"]) ?? (account is null ? null : Uri($"https://{account}.table.core.windows.net"));
        BlobServiceUri = Uri(section["blobServiceUri"]) ?? (account is null ? null : Uri($"https://{account}.blob.core.windows.net"));
    }

    private static Uri? Uri(string? text) => System.Uri.TryCreate(text, UriKind.Absolute, out var u) ? u : null;

    internal TableServiceClient Tables(TableClientOptions options, TokenCredential credential) =>
        ConnectionString is { } c ? new TableServiceClient(StorageAccount.Normalize(c), options) : new TableServiceClient(TableServiceUri, credential, options);

    internal BlobServiceClient Blobs(BlobClientOptions options, TokenCredential credential) =>
        ConnectionString is { } c ? new BlobServiceClient(StorageAccount.Normalize(c), options) : new BlobServiceClient(BlobServiceUri, credential, options);
}

/// <summary>Start-up validation of the storage connection: a bad or missing setting fails start-up naming it (never the key).</summary>
internal sealed class StorageConnectionValidation : IValidateOptions<StorageConnectionOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageConnectionOptions options)
    {
        if (options.ConnectionString is { } c)
        {
            try
            {
                StorageAccount.FromConnectionString(c);
                return ValidateOptionsResult.Success;
            }
            catch (FormatException e)
            {
                return ValidateOptionsResult.Fail($"Setting '{options.Name}' is {e.Message}");
            }
        }
        return options.TableServiceUri is not null && options.BlobServiceUri is not null
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"Storage connection '{options.Name}' is not configured: set '{options.Name}' to a connection string, or '{options.Name}__accountName' " +
                $"(or '{options.Name}__tableServiceUri' and '{options.Name}__blobServiceUri') with '{options.Name}__credential=managedidentity'.");
    }
}

/// <summary>The recalculation's settings as configured (text, so a bad value is reported naming its setting).</summary>
public sealed class RecalculationOptions
{
    [ConfigurationKeyName(RecalculationSettings.ShardsSetting)] public string? Shards { get; set; }
    [ConfigurationKeyName(RecalculationSettings.ReduceRangesSetting)] public string? ReduceRanges { get; set; }
    [ConfigurationKeyName(RecalculationSettings.PublishRangesSetting)] public string? PublishRanges { get; set; }
    [ConfigurationKeyName(RecalculationSettings.HistoryRetentionSetting)] public string? HistoryRetentionDays { get; set; }

    /// <summary>The one parse of these settings (it throws naming the setting).</summary>
    public RecalculationSettings ToSettings() => RecalculationSettings.FromSettings(name => name switch
    {
        RecalculationSettings.ShardsSetting => Shards,
        RecalculationSettings.ReduceRangesSetting => ReduceRanges,
        RecalculationSettings.PublishRangesSetting => PublishRanges,
        RecalculationSettings.HistoryRetentionSetting => HistoryRetentionDays,
        _ => null,
    });
}

internal sealed class RecalculationOptionsValidation : IValidateOptions<RecalculationOptions>
{
    public ValidateOptionsResult Validate(string? name, RecalculationOptions options)
    {
        try
        {
            options.ToSettings();
            return ValidateOptionsResult.Success;
        }
        catch (InvalidOperationException e)
        {
            return ValidateOptionsResult.Fail(e.Message);
        }
    }
}

/// <summary>Which rules the app runs with: setting `ATTRIBUTION_RULES` holds a file path or the JSON itself; empty: the shipped rules.</summary>
public sealed class RulesOptions
{
    public const string SettingName = "ATTRIBUTION_RULES";

    [ConfigurationKeyName(SettingName)] public string? Rules { get; set; }

    /// <summary>The rules and their exact text (a run carries the text it started with); throws naming the bad field.</summary>
    public AppRulesSource Load()
    {
        var json = string.IsNullOrWhiteSpace(Rules) ? CreditRulesLoader.DefaultJson
            : Rules.TrimStart().StartsWith('{') ? Rules
            : File.ReadAllText(Rules);
        return new AppRulesSource(json, CreditRulesLoader.Parse(json));
    }
}

internal sealed class RulesOptionsValidation : IValidateOptions<RulesOptions>
{
    public ValidateOptionsResult Validate(string? name, RulesOptions options)
    {
        try
        {
            options.Load();
            return ValidateOptionsResult.Success;
        }
        catch (Exception e) when (e is RulesValidationException or IOException or UnauthorizedAccessException)
        {
            return ValidateOptionsResult.Fail($"Setting {RulesOptions.SettingName}: {e.Message}");
        }
    }
}

/// <summary>The app's rules and their JSON text (a run carries the exact text it started with).</summary>
public sealed record AppRulesSource(string Json, CreditRules Rules);
