using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;

namespace Attribution.Pipeline.Storage;

/// <summary>
/// The storage account the pipeline uses: a connection string (local, Azurite) or service URIs with a token
/// credential (Azure: managed identity, no keys).
/// </summary>
public sealed class StorageAccount
{
    private Task? _ensured;

    /// <summary>Over clients a host built (the composition root's, from <c>Microsoft.Extensions.Azure</c>).</summary>
    public StorageAccount(TableServiceClient tables, BlobServiceClient blobs, string? connectionString)
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

    /// <param name="account">An account the emulator was started with (AZURITE_ACCOUNTS, same development key); default its own.</param>
    public static string AzuriteConnectionString(string host, int blobPort, int queuePort, int tablePort, string account = DevelopmentAccountName) =>
        $"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={DevelopmentAccountKey};" +
        $"BlobEndpoint=http://{host}:{blobPort}/{account};" +
        $"QueueEndpoint=http://{host}:{queuePort}/{account};" +
        $"TableEndpoint=http://{host}:{tablePort}/{account};";

    /// <summary>How long a request keeps retrying an unreachable or failing storage account by default.</summary>
    public static readonly TimeSpan DefaultGiveUpAfter = TimeSpan.FromSeconds(30);

    /// <param name="connectionString">Any storage connection string, or `UseDevelopmentStorage=true`.</param>
    /// <param name="maxRetries">Retries of a failed request (default 6); fewer lets callers (and tests) see an outage sooner.</param>
    /// <param name="giveUpAfter">No retry starts once a request has been failing this long (default <see cref="DefaultGiveUpAfter"/>).</param>
    /// <exception cref="FormatException">Not a storage connection string (the message says why, never the key).</exception>
    public static StorageAccount FromConnectionString(string connectionString, int? maxRetries = null, TimeSpan? giveUpAfter = null)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        connectionString = Normalize(connectionString);
        try
        {
            return new StorageAccount(
                new TableServiceClient(connectionString, WithRetry(new TableClientOptions(), maxRetries, giveUpAfter)),
                new BlobServiceClient(connectionString, WithRetry(new BlobClientOptions(), maxRetries, giveUpAfter)),
                connectionString);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException or UriFormatException)
        {
            // The SDK's messages can echo the string; ours names only what is wrong.
            throw new FormatException("not a storage connection string (expected 'UseDevelopmentStorage=true' or 'DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…' / endpoints).", e);
        }
    }

    /// <summary>`UseDevelopmentStorage=true` spelled out as Azurite's default endpoints (the SDK's own shorthand has no table endpoint).</summary>
    internal static string Normalize(string connectionString) =>
        connectionString.Trim().Equals("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase)
            ? AzuriteConnectionString("127.0.0.1", 10000, 10001, 10002) : connectionString;

    /// <summary>The deadline-bounded retry of <see cref="FromConnectionString"/>, for clients the composition root builds.</summary>
    internal static void ApplyRetry(ClientOptions options, Hosting.StorageConnectionOptions connection) =>
        WithRetry(options, connection.MaxRetries, connection.GiveUpAfter);

    // Transient failures (throttling, timeouts, a restarting emulator) are retried with backoff by the SDK pipeline,
    // but never past a deadline: an unreachable account fails the caller in bounded time instead of hanging.
    private static T WithRetry<T>(T options, int? maxRetries, TimeSpan? giveUpAfter) where T : ClientOptions
    {
        var deadline = giveUpAfter ?? DefaultGiveUpAfter;
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = maxRetries ?? 8;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        // The last backoff can overshoot the deadline by at most a quarter of it (and never more than 5 s).
        options.Retry.MaxDelay = deadline / 4 < TimeSpan.FromSeconds(5) ? deadline / 4 : TimeSpan.FromSeconds(5);
        // One attempt never outlives the deadline either (a black-holed endpoint would otherwise hang per try).
        options.Retry.NetworkTimeout = deadline < TimeSpan.FromSeconds(60) ? deadline : TimeSpan.FromSeconds(60);
        options.RetryPolicy = new DeadlineRetryPolicy(options.Retry, deadline);
        return options;
    }

    /// <summary>The blob and table endpoints, for messages (never the key).</summary>
    public string Endpoints => $"{Blobs.Uri.GetLeftPart(UriPartial.Authority)} (blob), {Tables.Uri.GetLeftPart(UriPartial.Authority)} (table)";

    public TableClient Table(string name) => Tables.GetTableClient(name);

    /// <summary>One cheap request that fails (within the retry deadline) when the account does not answer.</summary>
    public async Task ProbeAsync(CancellationToken cancellationToken = default) =>
        await Blobs.GetBlobContainerClient(TableNames.RecalculationContainer).ExistsAsync(cancellationToken).ConfigureAwait(false);

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
        // All at once: an unreachable account then fails after one retry deadline, not one per resource.
        await Task.WhenAll(TableNames.All.Select(t => (Task)Tables.CreateTableIfNotExistsAsync(t))
            .Append(Blobs.GetBlobContainerClient(TableNames.FeedsContainer).CreateIfNotExistsAsync())
            .Append(Blobs.GetBlobContainerClient(TableNames.RecalculationContainer).CreateIfNotExistsAsync())
            .Append(Blobs.GetBlobContainerClient(TableNames.RecordsContainer).CreateIfNotExistsAsync())).ConfigureAwait(false);
    }
}
