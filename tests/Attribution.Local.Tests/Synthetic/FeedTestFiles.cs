using System.IO.Compression;
using System.Text.Json;
using nietras.SeparatedValues;

namespace Attribution.Local.Tests.Synthetic;

/// <summary>One data row of a feed file: its line (CSV: physical line of the record start) and fields by column name.</summary>
internal sealed record FeedRow(int Line, IReadOnlyDictionary<string, string> Values)
{
    /// <summary>The field, or "" when the column is absent or empty.</summary>
    public string this[string column] => Values.TryGetValue(column, out var v) ? v : "";
}

internal sealed record FeedTable(IReadOnlyList<string> Header, IReadOnlyList<FeedRow> Rows);

/// <summary>Reads feed files for assertions with an independent parser (Sep for CSV, System.Text.Json for JSONL).</summary>
internal static class FeedTestFiles
{
    public static FeedTable Read(string path)
    {
        using var file = File.OpenRead(path);
        Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using (stream)
        {
            var name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
            return name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? ReadJsonl(stream) : ReadCsv(stream);
        }
    }

    public static FeedTable ReadCsv(Stream stream)
    {
        using var reader = Sep.New(',').Reader(o => o with { Unescape = true }).From(stream);
        var header = reader.Header.ColNames.ToList();
        var rows = new List<FeedRow>();
        foreach (var row in reader)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in header) values[name] = row[name].ToString();
            rows.Add(new FeedRow(row.LineNumberFrom, values));
        }
        return new FeedTable(header, rows);
    }

    private static FeedTable ReadJsonl(Stream stream)
    {
        using var reader = new StreamReader(stream);
        var rows = new List<FeedRow>();
        var names = new List<string>();
        var line = 0;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            using var doc = JsonDocument.Parse(text);
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                values[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString() ?? "",
                    JsonValueKind.Number => p.Value.GetRawText(),
                    JsonValueKind.Null => "",
                    _ => throw new InvalidDataException($"line {line}: {p.Name} is a {p.Value.ValueKind}"),
                };
                if (!names.Contains(p.Name)) names.Add(p.Name);
            }
            rows.Add(new FeedRow(line, values));
        }
        return new FeedTable(names, rows);
    }

    /// <summary>The repository root: the folder above the test binaries that holds the solution.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Attribution.Functions.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException("Attribution.Functions.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static string SampleFeeds => Path.Combine(RepositoryRoot, "samples", "feeds");
}

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("attribution-synthetic-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}

/// <summary>A write-only stream that keeps nothing: proves output is streamed, not buffered whole.</summary>
internal sealed class CountingStream : Stream
{
    public long BytesWritten { get; private set; }
    public int Writes { get; private set; }
    public int LargestWrite { get; private set; }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        BytesWritten += buffer.Length;
        Writes++;
        LargestWrite = Math.Max(LargestWrite, buffer.Length);
    }

    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
