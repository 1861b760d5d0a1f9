using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;

namespace Attribution.Core.Storage;

/// <summary>
/// The storage account the pipeline uses: a connection string (local, Azurite) or service URIs with a token
/// credential (Azure: managed identity, no keys).
/// </summary>
public sealed class StorageAccount
{
    private Task? _ensured;

    private StorageAccount(TableServiceClient tables, BlobServiceClient blobs, string? connectionString)
    {
        Tables = tables;
        Blobs = blobs;
        ConnectionString = connectionString;
    }

    public TableServiceClient Tables { get; }
    public BlobServiceClient Blobs { get; }

    /// <summary>Set when built from a connection string (needed by the local Durable Task backend).</summary>
    public string? ConnectionString { get; }

    /// <summary>Azurite's published development account (the only key that may appear in this repo).</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";
    public const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public static string AzuriteConnectionString(string host, int blobPort, int queuePort, int tablePort) =>
        $"DefaultEndpointsProtocol=http;AccountName={DevelopmentAccountName};AccountKey={DevelopmentAccountKey};" +
        $"BlobEndpoint=http://{host}:{blobPort}/{DevelopmentAccountName};" +
        $"QueueEndpoint=http://{host}:{queuePort}/{DevelopmentAccountName};" +
        $"TableEndpoint=http://{host}:{tablePort}/{DevelopmentAccountName};";

    /// <param name="connectionString">Any storage connection string, or `UseDevelopmentStorage=true`.</param>
    /// <param name="maxRetries">Retries of a failed request (default 6); fewer lets callers (and tests) see an outage sooner.</param>
    public static StorageAccount FromConnectionString(string connectionString, int? maxRetries = null)
    {
        if (connectionString.Trim().Equals("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase))
            connectionString = AzuriteConnectionString("127.0.0.1", 10000, 10001, 10002);
        return new StorageAccount(
            new TableServiceClient(connectionString, TableOptions(maxRetries)),
            new BlobServiceClient(connectionString, BlobOptions(maxRetries)),
            connectionString);
    }

    public static StorageAccount FromServiceUris(Uri tableServiceUri, Uri blobServiceUri, TokenCredential credential) =>
        new(new TableServiceClient(tableServiceUri, credential, TableOptions()), new BlobServiceClient(blobServiceUri, credential, BlobOptions()), null);

    /// <summary>
    /// Reads a Functions-style connection: `{name}` as a connection string, or identity-based settings
    /// `{name}__tableServiceUri`/`__blobServiceUri` (or `__accountName`), `__credential=managedidentity`, `__clientId`.
    /// </summary>
    public static StorageAccount FromSettings(Func<string, string?> setting, string name = "AzureWebJobsStorage")
    {
        var direct = setting(name);
        if (!string.IsNullOrWhiteSpace(direct)) return FromConnectionString(direct);
        string? Part(string key) => setting($"{name}__{key}") ?? setting($"{name}:{key}");
        var account = Part("accountName");
        var tableUri = Part("tableServiceUri") ?? (account is null ? null : $"https://{account}.table.core.windows.net");
        var blobUri = Part("blobServiceUri") ?? (account is null ? null : $"https://{account}.blob.core.windows.net");
        if (tableUri is null || blobUri is null)
            throw new InvalidOperationException(
                $"Storage connection '{name}' is not configured: set '{name}' to a connection string, or '{name}__accountName' " +
                $"(or '{name}__tableServiceUri' and '{name}__blobServiceUri') with '{name}__credential=managedidentity'.");
        TokenCredential credential = string.Equals(Part("credential"), "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(Part("clientId") is { } clientId ? ManagedIdentityId.FromUserAssignedClientId(clientId) : ManagedIdentityId.SystemAssigned)
            : new DefaultAzureCredential();
        return FromServiceUris(new Uri(tableUri), new Uri(blobUri), credential);
    }

    // Transient failures (throttling, timeouts, a restarting emulator) are retried with backoff by the SDK pipeline.
    private static T WithRetry<T>(T options, int? maxRetries) where T : ClientOptions
    {
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = maxRetries ?? 6;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(10);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(60);
        return options;
    }

    private static TableClientOptions TableOptions(int? maxRetries = null) => WithRetry(new TableClientOptions(), maxRetries);

    private static BlobClientOptions BlobOptions(int? maxRetries = null) => WithRetry(new BlobClientOptions(), maxRetries);

    public TableClient Table(string name) => Tables.GetTableClient(name);

    /// <summary>Creates every table and container once per process.</summary>
    public Task EnsureCreatedAsync()
    {
        // A failed attempt (storage briefly unreachable) is not cached: the next caller tries again.
        var task = _ensured;
        if (task is null || task.IsFaulted || task.IsCanceled) _ensured = task = CreateAllAsync();
        return task;
    }

    private async Task CreateAllAsync()
    {
        await Task.WhenAll(TableNames.All.Select(t => Tables.CreateTableIfNotExistsAsync(t))).ConfigureAwait(false);
        await Blobs.GetBlobContainerClient(TableNames.FeedsContainer).CreateIfNotExistsAsync().ConfigureAwait(false);
        await Blobs.GetBlobContainerClient(TableNames.RecalculationContainer).CreateIfNotExistsAsync().ConfigureAwait(false);
        await Blobs.GetBlobContainerClient(TableNames.RecordsContainer).CreateIfNotExistsAsync().ConfigureAwait(false);
    }
}
