using Attribution.Pipeline.Storage;
using Azure.Data.Tables;

namespace Attribution.Testing;

public static class StorageReads
{
    /// <summary>Every entity of a table (optionally one partition), as plain dictionaries.</summary>
    public static async Task<List<TableEntity>> AllAsync(this StorageAccount storage, string table, string? partitionKey = null)
    {
        var filter = partitionKey is null ? null : TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}");
        var list = new List<TableEntity>();
        await foreach (var e in storage.Table(table).QueryAsync<TableEntity>(filter)) list.Add(e);
        return list;
    }

    /// <summary>Entity contents without storage metadata and without the given (lineage) properties, for comparisons.</summary>
    public static string Canonical(TableEntity e, params string[] ignore)
    {
        var parts = e.Keys
            .Where(k => k is not ("odata.etag" or "Timestamp") && !ignore.Contains(k))
            .Order(StringComparer.Ordinal)
            .Select(k => $"{k}={Format(e[k])}");
        return string.Join(";", parts);
    }

    private static string Format(object? value) => value switch
    {
        null => "null",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        DateTimeOffset dto => dto.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
