using System.Globalization;
using Azure.Data.Tables;
using Parquet;
using Parquet.Schema;

namespace Attribution.Pipeline.Recalculation.Snapshots;

/// <summary>Table entities ↔ Parquet files of a <see cref="SnapshotSchema"/> (one column per property, typed).</summary>
internal static class ParquetRows
{
    /// <summary>Rows per row group: bounds the memory a reader needs per group.</summary>
    public const int RowGroupSize = 50_000;

    public static async Task<byte[]> EncodeAsync(SnapshotSchema schema, IReadOnlyList<TableEntity> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(rows);
        var stream = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(schema.Parquet, stream, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            for (var start = 0; start < rows.Count || start == 0; start += RowGroupSize)
            {
                var count = Math.Min(RowGroupSize, rows.Count - start);
                using var group = writer.CreateRowGroup();
                foreach (var column in schema.Columns)
                    await WriteColumnAsync(group, column, rows, start, count, cancellationToken).ConfigureAwait(false);
                if (rows.Count == 0) break;
            }
        }
        return stream.ToArray();
    }

    private static async Task WriteColumnAsync(ParquetRowGroupWriter group, SnapshotColumn column, IReadOnlyList<TableEntity> rows, int start, int count, CancellationToken ct)
    {
        switch (column.Kind)
        {
            case ColumnKind.Text:
            case ColumnKind.OptionalText:
            {
                var values = new string?[count];
                for (var i = 0; i < count; i++)
                {
                    var v = Value(rows[start + i], column.Name);
                    values[i] = v is null ? null : Convert.ToString(v, CultureInfo.InvariantCulture);
                    if (values[i] is null && column.Kind == ColumnKind.Text)
                        throw new InvalidOperationException($"{rows[start + i].PartitionKey}/{rows[start + i].RowKey} has no '{column.Name}'.");
                }
                await group.WriteAsync(column.Field, values!).ConfigureAwait(false);
                break;
            }
            case ColumnKind.Real:
            {
                var values = new double[count];
                for (var i = 0; i < count; i++) values[i] = Convert.ToDouble(Required(rows[start + i], column.Name), CultureInfo.InvariantCulture);
                await group.WriteAsync<double>(column.Field, values, cancellationToken: ct).ConfigureAwait(false);
                break;
            }
            case ColumnKind.Whole:
            {
                var values = new int[count];
                for (var i = 0; i < count; i++) values[i] = Convert.ToInt32(Required(rows[start + i], column.Name), CultureInfo.InvariantCulture);
                await group.WriteAsync<int>(column.Field, values, cancellationToken: ct).ConfigureAwait(false);
                break;
            }
            case ColumnKind.Flag:
            {
                var values = new bool[count];
                for (var i = 0; i < count; i++) values[i] = Convert.ToBoolean(Required(rows[start + i], column.Name), CultureInfo.InvariantCulture);
                await group.WriteAsync<bool>(column.Field, values, cancellationToken: ct).ConfigureAwait(false);
                break;
            }
            case ColumnKind.OptionalReal:
            {
                var values = new double?[count];
                for (var i = 0; i < count; i++)
                    values[i] = Value(rows[start + i], column.Name) is { } v ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : null;
                await group.WriteAsync<double>(column.Field, values, cancellationToken: ct).ConfigureAwait(false);
                break;
            }
            case ColumnKind.OptionalWhole:
            {
                var values = new int?[count];
                for (var i = 0; i < count; i++)
                    values[i] = Value(rows[start + i], column.Name) is { } v ? Convert.ToInt32(v, CultureInfo.InvariantCulture) : null;
                await group.WriteAsync<int>(column.Field, values, cancellationToken: ct).ConfigureAwait(false);
                break;
            }
        }
    }

    private static object? Value(TableEntity e, string name) => name switch
    {
        "PartitionKey" => e.PartitionKey,
        "RowKey" => e.RowKey,
        _ => e.TryGetValue(name, out var v) ? v : null,
    };

    private static object Required(TableEntity e, string name) =>
        Value(e, name) ?? throw new InvalidOperationException($"{e.PartitionKey}/{e.RowKey} has no '{name}'.");

    public static async Task<List<TableEntity>> DecodeAsync(SnapshotSchema schema, Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var rows = new List<TableEntity>();
        await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        var fields = reader.Schema.DataFields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            var group = reader.OpenRowGroupReader(g);
            var count = checked((int)group.RowCount);
            var entities = new TableEntity[count];
            for (var i = 0; i < count; i++) entities[i] = new TableEntity();
            foreach (var column in schema.Columns)
            {
                if (!fields.TryGetValue(column.Name, out var field) && schema.MayLack(column.Name)) continue;
                if (field is null)
                    throw new InvalidDataException($"A {schema.Table} snapshot file has no column '{column.Name}'.");
                switch (column.Kind)
                {
                    case ColumnKind.Text:
                    case ColumnKind.OptionalText:
                    {
                        var values = new string?[count];
                        await group.ReadAsync(field, values.AsMemory(), cancellationToken: cancellationToken).ConfigureAwait(false);
                        for (var i = 0; i < count; i++)
                        {
                            if (column.Name == "PartitionKey") entities[i].PartitionKey = values[i]!;
                            else if (column.Name == "RowKey") entities[i].RowKey = values[i]!;
                            else entities[i][column.Name] = values[i];
                        }
                        break;
                    }
                    case ColumnKind.Real:
                    {
                        var values = new double[count];
                        await group.ReadAsync<double>(field, values.AsMemory(), cancellationToken: cancellationToken).ConfigureAwait(false);
                        for (var i = 0; i < count; i++) entities[i][column.Name] = values[i];
                        break;
                    }
                    case ColumnKind.Whole:
                    {
                        var values = new int[count];
                        await group.ReadAsync<int>(field, values.AsMemory(), cancellationToken: cancellationToken).ConfigureAwait(false);
                        for (var i = 0; i < count; i++) entities[i][column.Name] = values[i];
                        break;
                    }
                    case ColumnKind.Flag:
                    {
                        var values = new bool[count];
                        await group.ReadAsync<bool>(field, values.AsMemory(), cancellationToken: cancellationToken).ConfigureAwait(false);
                        for (var i = 0; i < count; i++) entities[i][column.Name] = values[i];
                        break;
                    }
                    // Nulls stay absent, as a table stores them.
                    case ColumnKind.OptionalReal:
                    {
                        var values = new double?[count];
                        await group.ReadAsync<double>(field, values.AsMemory(), cancellationToken: cancellationToken).ConfigureAwait(false);
                        for (var i = 0; i < count; i++) if (values[i] is { } v) entities[i][column.Name] = v;
                        break;
                    }
                    case ColumnKind.OptionalWhole:
                    {
                        var values = new int?[count];
                        await group.ReadAsync<int>(field, values.AsMemory(), cancellationToken: cancellationToken).ConfigureAwait(false);
                        for (var i = 0; i < count; i++) if (values[i] is { } v) entities[i][column.Name] = v;
                        break;
                    }
                }
            }
            rows.AddRange(entities);
        }
        return rows;
    }
}
