using System.Globalization;
using System.IO.Compression;
using System.Text;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Attribution.Testing;
using Azure.Storage.Blobs;

namespace Attribution.Pipeline.Tests.Ingestion;

/// <summary>
/// Ingestion never blocks a thread on the network: both passes read a blob only with ReadAsync. The blob's stream is
/// wrapped in <see cref="AsyncOnlyStream"/>, whose synchronous reads throw, and ingested the way IngestFeedBlob does
/// (pinned, on Azurite) in every format; what is stored is what the test's own reading of its rows expects.
/// </summary>
public sealed class AsyncReadIngestionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const int Rows = 3000; // the text is several of the readers' 64 KiB buffers, so the stream is read many times
    private const int Blank = 10;  // a blank line after this row: skipped, yet counted in the line numbers
    private const int BadUtf8 = 777;

    private readonly FeedIngestor _ingestor = azurite.Storage.Create<FeedIngestor>(CreditRulesLoader.Default);
    private readonly IngestionStore _ingestions = azurite.Storage.Get<IngestionStore>();

    private static Guid Subscription(Guid tenant, int i) => new(tenant.ToByteArray()[..12].Concat(BitConverter.GetBytes(i)).ToArray());

    private static bool BadMonth(int i) => i % 500 == 0;

    /// <summary>The file's line of row i (1-based): CSV has its header on line 1; the blank line shifts the rows after it.</summary>
    private static long LineOf(int i, bool csv) => i + (csv ? 1 : 0) + (i > Blank ? 1 : 0);

    private static byte[] Content(Guid tenant, bool csv)
    {
        var bytes = new List<byte>();
        void Text(string s) => bytes.AddRange(Encoding.UTF8.GetBytes(s));
        if (csv) Text("customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n");
        for (var i = 1; i <= Rows; i++)
        {
            var month = BadMonth(i) ? "2026-13" : $"2026-{1 + i % 12:D2}";
            var sub = Subscription(tenant, i);
            // Row BadUtf8's workload holds a Latin-1 byte: the row is rejected naming the value and the byte's offset.
            if (csv)
            {
                Text(string.Create(CultureInfo.InvariantCulture, $"{tenant},{sub},"));
                if (i == BadUtf8) bytes.AddRange([.. "Azur"u8, 0xE9]);
                else Text(i % 2 == 0 ? "Azure" : "\"Teams\"");
                Text(string.Create(CultureInfo.InvariantCulture, $",{month},{i}.25,{i}\n"));
            }
            else
            {
                Text(string.Create(CultureInfo.InvariantCulture, $"{{\"customerTenantId\":\"{tenant}\",\"subscriptionId\":\"{sub}\",\"workload\":\""));
                if (i == BadUtf8) bytes.AddRange([.. "Azur"u8, 0xE9]);
                else Text(i % 2 == 0 ? "Azure" : "Teams");
                Text(string.Create(CultureInfo.InvariantCulture, $"\",\"month\":\"{month}\",\"consumedRevenueUsd\":{i}.25,\"activeUsers\":{i}}}\n"));
            }
            if (i == Blank) Text("\n");
        }
        return [.. bytes];
    }

    private static byte[] Gzip(byte[] content)
    {
        using var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(content);
        return buffer.ToArray();
    }

    private async Task<BlobClient> UploadAsync(string name, byte[] content)
    {
        var container = azurite.Storage.Blobs.GetBlobContainerClient(TableNames.FeedsContainer);
        await container.CreateIfNotExistsAsync();
        var blob = container.GetBlobClient(name);
        await blob.UploadAsync(BinaryData.FromBytes(content), overwrite: true);
        return blob;
    }

    [Theory]
    [InlineData("csv")]
    [InlineData("csv.gz")]
    [InlineData("jsonl")]
    [InlineData("jsonl.gz")]
    public async Task A_blob_is_ingested_reading_its_stream_only_asynchronously_and_stores_every_row_as_before(string extension)
    {
        var tenant = Guid.NewGuid();
        var csv = extension.StartsWith("csv", StringComparison.Ordinal);
        var text = Content(tenant, csv);
        var blob = await UploadAsync($"usage/async-{Guid.NewGuid():N}.{extension}", extension.EndsWith(".gz", StringComparison.Ordinal) ? Gzip(text) : text);
        var pinned = await BlobFeedContent.PinAsync(blob, default);
        var streams = new List<AsyncOnlyStream>();

        var result = await _ingestor.IngestAsync(FeedSource.Usage, Path.GetFileName(blob.Name), async ct =>
        {
            var stream = new AsyncOnlyStream(await pinned.OpenAsync(ct));
            streams.Add(stream);
            return stream;
        }, pinned.Length);

        Assert.Equal(2, streams.Count); // the validation and the write pass
        Assert.All(streams, s => Assert.Equal(0, s.SyncReads));
        Assert.All(streams, s => Assert.True(s.AsyncReads > 0));
        Assert.True(result.Status == IngestionStatus.CompletedWithRejections, $"{result.Status}: {result.Error}");

        var rejectedRows = Enumerable.Range(1, Rows).Where(i => BadMonth(i) || i == BadUtf8).ToList();
        Assert.Equal(Rows, result.RowsTotal);
        Assert.Equal(Rows - rejectedRows.Count, result.RowsAccepted);

        var stored = (await azurite.Storage.TenantAsync(tenant)).Usage
            .Select(u => (u.Lineage.Line, u.SubscriptionId, u.Workload.ToString(), u.Month.ToString(), u.ConsumedRevenueUsd, u.ActiveUsers))
            .OrderBy(u => u.Line).ToList();
        var expected = Enumerable.Range(1, Rows).Except(rejectedRows)
            .Select(i => (LineOf(i, csv), Subscription(tenant, i), i % 2 == 0 ? "Azure" : "Teams", $"2026-{1 + i % 12:D2}", (double?)(i + 0.25), (long?)i))
            .ToList();
        Assert.Equal(expected, stored);

        var rejected = new List<RejectedRow>();
        await foreach (var r in _ingestions.RejectedRowsAsync(result.IngestionId)) rejected.Add(r);
        Assert.Equal(rejectedRows.Select(i => LineOf(i, csv)), rejected.Select(r => r.Line).Order());
        var bad = rejected.Single(r => r.Line == LineOf(BadUtf8, csv));
        var offset = text.AsSpan().IndexOf((ReadOnlySpan<byte>)[.. "Azur"u8, 0xE9]) + 4;
        Assert.Contains($"invalid UTF-8 in 'Azur\\xE9' (first bad byte at offset {offset})", bad.Reason);
        Assert.Contains("Azur\\xE9", bad.Raw);
        Assert.All(rejected.Where(r => r != bad), r => Assert.Contains("month", r.Reason));
    }

    [Fact]
    public async Task The_test_stream_refuses_the_synchronous_reader()
    {
        // The control for the test above: the synchronous reader over the same stream does fail.
        var stream = new AsyncOnlyStream(new MemoryStream(Content(Guid.NewGuid(), csv: true)));
        Assert.Throws<InvalidOperationException>(() => FeedRowReader.Open(stream, FeedSource.Usage, FeedFormat.Csv, gzip: false));
        Assert.True(stream.SyncReads > 0);

        // And the asynchronous one reads it whole.
        using var reader = await FeedRowReader.OpenAsync(new AsyncOnlyStream(new MemoryStream(Content(Guid.NewGuid(), csv: true))), FeedSource.Usage, FeedFormat.Csv, gzip: false);
        var rows = 0;
        await foreach (var _ in reader) rows++;
        Assert.Equal(Rows, rows);
    }
}
