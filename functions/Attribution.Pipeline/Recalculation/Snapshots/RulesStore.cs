using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Azure;

namespace Attribution.Pipeline.Recalculation.Snapshots;

/// <summary>
/// Rules by content hash (SHA-256 of the UTF-8 text) in blob storage: a run records the hash, so its steps and its
/// evidence use exactly the rules it started with, however long the text (a table property holds 32K characters).
/// </summary>
public sealed class RulesStore(StorageAccount storage)
{
    private static readonly ConcurrentDictionary<string, CreditRules> Parsed = new(StringComparer.Ordinal);

    public static string HashOf(string rulesJson)
    {
        ArgumentNullException.ThrowIfNull(rulesJson);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(rulesJson)));
    }

    public static string BlobName(string hash) => $"rules/{hash}.json";

    /// <summary>Stores the rules (idempotent: same text, same name) and returns their hash.</summary>
    public async Task<string> PutAsync(string rulesJson, CancellationToken cancellationToken = default)
    {
        var hash = HashOf(rulesJson);
        var blob = storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer).GetBlobClient(BlobName(hash));
        try
        {
            await blob.UploadAsync(BinaryData.FromString(rulesJson), overwrite: false, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            // Already stored: same hash, same text.
        }
        return hash;
    }

    public async Task<string?> GetJsonAsync(string hash, CancellationToken cancellationToken = default)
    {
        try
        {
            var content = await storage.Blobs.GetBlobContainerClient(TableNames.RecalculationContainer).GetBlobClient(BlobName(hash))
                .DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            var json = content.Value.Content.ToString();
            if (HashOf(json) != hash) throw new InvalidDataException($"Rules blob {hash} does not match its hash.");
            return json;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>The parsed rules of a hash (cached per process: rules by hash never change).</summary>
    public async Task<CreditRules> GetAsync(string hash, CancellationToken cancellationToken = default) =>
        await FindAsync(hash, cancellationToken).ConfigureAwait(false) ?? throw new InvalidOperationException($"Rules {hash} are not stored.");

    /// <summary>The parsed rules of a hash, or null when no rules of that hash are stored.</summary>
    public async Task<CreditRules?> FindAsync(string hash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        if (Parsed.TryGetValue(hash, out var rules)) return rules;
        var json = await GetJsonAsync(hash, cancellationToken).ConfigureAwait(false);
        return json is null ? null : Parsed.GetOrAdd(hash, _ => CreditRulesLoader.Parse(json));
    }
}
