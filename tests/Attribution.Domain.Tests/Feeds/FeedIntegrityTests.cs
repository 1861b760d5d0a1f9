using System.Text;
using Attribution.Domain.Feeds;

namespace Attribution.Domain.Tests.Feeds;

/// <summary>
/// The feed reader's integrity rules (docs/feeds.md): quotes per RFC 4180, invalid UTF-8, duplicate columns and
/// fields. Every case also runs over a stream that returns one byte per read, so each rule holds wherever the
/// reader's buffers happen to split the text.
/// </summary>
public sealed class FeedIntegrityTests
{
    private sealed record Row(long Line, string? Problem, Dictionary<FeedColumn, string> Values, string Raw);

    private static List<Row> Read(FeedSource source, byte[] content, bool trickle, FeedFormat format = FeedFormat.Csv)
    {
        Stream stream = new MemoryStream(content);
        if (trickle) stream = new OneByteStream(stream);
        using var reader = FeedRowReader.Open(stream, source, format, gzip: false);
        var rows = new List<Row>();
        while (reader.MoveNext())
            rows.Add(new Row(reader.Line, reader.RowProblem, reader.Schema.Columns.ToDictionary(c => c.Column, c => reader[c.Column].ToString()), reader.RawText()));
        return rows;
    }

    private static List<Row> Read(FeedSource source, string content, bool trickle, FeedFormat format = FeedFormat.Csv) =>
        Read(source, Encoding.UTF8.GetBytes(content), trickle, format);

    private static byte[] Bytes(params object[] parts) =>
        [.. parts.SelectMany(p => p switch { string s => Encoding.UTF8.GetBytes(s), byte[] b => b, byte b => [b], _ => throw new ArgumentException(p.ToString()) })];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_quote_inside_an_unquoted_field_rejects_only_that_row_and_later_rows_keep_their_lines(bool trickle)
    {
        var rows = Read(FeedSource.Partners,
            "partnerId,globalPartnerId,partnerName,country\n" + // line 1
            "1,,Contoso 27\" Monitors,US\n" +                  // line 2: stray quote
            "2,,\"Fabrikam, \"\"Cloud\"\"\nInc\",GB\n" +         // lines 3-4: a legitimate quoted field
            "3,,Tailspin,US\n" +                                // line 5
            "4,,Litware 5\"\" screens,DE\n" +                   // line 6: two stray quotes
            "5,,Northwind,FR\n",                                // line 7
            trickle);

        Assert.Equal([2L, 3, 5, 6, 7], rows.Select(r => r.Line));
        Assert.StartsWith("partnerName: quote inside an unquoted field", rows[0].Problem);
        Assert.Equal("1,,Contoso 27\" Monitors,US", rows[0].Raw);
        Assert.StartsWith("partnerName: quote inside an unquoted field", rows[3].Problem);
        Assert.Equal("4,,Litware 5\"\" screens,DE", rows[3].Raw);
        Assert.All(new[] { rows[1], rows[2], rows[4] }, r => Assert.Null(r.Problem));
        Assert.Equal("Fabrikam, \"Cloud\"\nInc", rows[1].Values[FeedColumn.PartnerName]);
        Assert.Equal(["2", "3", "5"], new[] { rows[1], rows[2], rows[4] }.Select(r => r.Values[FeedColumn.PartnerId]));
        Assert.Equal("Northwind", rows[4].Values[FeedColumn.PartnerName]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_quote_after_a_quoted_fields_closing_quote_rejects_the_row(bool trickle)
    {
        var rows = Read(FeedSource.Partners,
            "partnerId,partnerName,country\n" +
            "1,\"Contoso 27\" Monitors\",US\n" +
            "2,Tailspin,US\n",
            trickle);

        Assert.Equal(2, rows.Count);
        Assert.StartsWith("partnerName: quote after the closing quote of a quoted field", rows[0].Problem);
        Assert.Null(rows[1].Problem);
        Assert.Equal(3, rows[1].Line);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Quoted_fields_with_commas_doubled_quotes_newlines_and_empty_quotes_still_parse(bool trickle)
    {
        var rows = Read(FeedSource.Partners,
            "\"partnerId\",\"partnerName\",country\r\n" +
            "1,\"\",\"\"\"\"\r\n" +                           // empty quoted name; country is one quote
            "2,\"a,b\r\nc \"\"d\"\"\",\"\"\"US\"\"\"\r\n" +     // CRLF inside quotes
            "3,plain,GB\r\n",
            trickle);

        Assert.All(rows, r => Assert.Null(r.Problem));
        Assert.Equal([2L, 3, 5], rows.Select(r => r.Line));
        Assert.Equal("", rows[0].Values[FeedColumn.PartnerName]);
        Assert.Equal("\"", rows[0].Values[FeedColumn.Country]);
        Assert.Equal("a,b\r\nc \"d\"", rows[1].Values[FeedColumn.PartnerName]);
        Assert.Equal("\"US\"", rows[1].Values[FeedColumn.Country]);
        Assert.Equal("plain", rows[2].Values[FeedColumn.PartnerName]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_unterminated_quoted_field_is_rejected_as_running_to_the_end_of_the_file(bool trickle)
    {
        var rows = Read(FeedSource.Partners, "partnerId,partnerName\n1,ok\n2,\"never closed\n3,swallowed\n", trickle);

        Assert.Equal(2, rows.Count);
        Assert.Null(rows[0].Problem);
        Assert.Equal(3, rows[1].Line);
        Assert.StartsWith("unterminated quoted field", rows[1].Problem);
    }

    [Fact]
    public void A_quote_inside_an_unquoted_header_field_fails_the_file()
    {
        var e = Assert.Throws<FeedFormatException>(() => Read(FeedSource.Partners, "partnerId,partner\"Name\n1,x\n", trickle: false));
        Assert.Contains("header row has a quote inside an unquoted field (column 2", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Invalid_utf8_in_a_column_the_feed_reads_rejects_the_row_naming_the_column(bool trickle)
    {
        var content = Bytes(
            "partnerId,partnerName,country,note\n",
            "1,Caf", (byte)0xE9, " Partners,FR,\n",                          // line 2: Latin-1 é
            "2,Caf", new byte[] { 0xC3, 0xA9 }, " Ok,FR,\n",                  // line 3: UTF-8 é
            "3,Kept ", new byte[] { 0xEF, 0xBF, 0xBD }, " as is,US,\n",        // line 4: a genuine U+FFFD
            "4,Fine,US,ignored ", (byte)0xFF, " note\n",                      // line 5: only in a column the feed ignores
            "5,Emoji \U0001F600 ", new byte[] { 0xED, 0xA0, 0x80 }, ",US,\n", // line 6: an encoded surrogate is not UTF-8
            "6,", new byte[] { 0xF0, 0x9F, 0x98 }, ",US,\n",                   // line 7: a sequence cut short
            "7,Tail \U0001F600,", (byte)0xC3, ",\n");                         // line 8: truncated at the end of a field

        var rows = Read(FeedSource.Partners, content, trickle);

        Assert.Equal([2L, 3, 4, 5, 6, 7, 8], rows.Select(r => r.Line));
        // The bad byte is shown escaped, never as U+FFFD, with its offset in the file.
        Assert.Equal($"partnerName: invalid UTF-8 in 'Caf\\xE9 Partners' (first bad byte at offset {Array.IndexOf(content, (byte)0xE9)}): bytes that are not UTF-8 text; the file must be UTF-8 encoded", rows[0].Problem);
        Assert.Equal("1,Caf\\xE9 Partners,FR,", rows[0].Raw);
        Assert.Null(rows[1].Problem);
        Assert.Equal("Caf\u00E9 Ok", rows[1].Values[FeedColumn.PartnerName]);
        Assert.Null(rows[2].Problem);
        Assert.Equal("Kept \uFFFD as is", rows[2].Values[FeedColumn.PartnerName]);
        Assert.Null(rows[3].Problem);
        Assert.StartsWith("partnerName: invalid UTF-8 in 'Emoji \U0001F600 \\xED\\xA0\\x80' (first bad byte at offset ", rows[4].Problem);
        Assert.StartsWith("partnerName: invalid UTF-8 in '\\xF0\\x9F\\x98'", rows[5].Problem);
        Assert.StartsWith("partnerName: invalid UTF-8", rows[5].Problem);
        Assert.StartsWith("country: invalid UTF-8", rows[6].Problem);
    }

    [Fact]
    public void A_header_that_is_not_utf8_fails_the_file()
    {
        var e = Assert.Throws<FeedFormatException>(() => Read(FeedSource.Partners, Bytes("partnerId,R", (byte)0xE9, "gion\n1,x\n"), trickle: false));
        Assert.Contains("header row is not valid UTF-8 (column 2 of line 1, 'R\\xE9gion', first bad byte at offset 11)", e.Message);
        Assert.DoesNotContain("\uFFFD", e.Message);
    }

    [Fact]
    public void A_utf8_bom_is_skipped_and_a_utf16_file_fails_saying_it_is_not_utf8()
    {
        var rows = Read(FeedSource.Partners, Bytes(new byte[] { 0xEF, 0xBB, 0xBF }, "partnerId\n1\n"), trickle: true);
        Assert.Equal("1", Assert.Single(rows).Values[FeedColumn.PartnerId]);

        var utf16 = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("partnerId\n1\n")).ToArray();
        var e = Assert.Throws<FeedFormatException>(() => Read(FeedSource.Partners, utf16, trickle: false));
        Assert.Contains("not UTF-8", e.Message);
    }

    [Fact]
    public void A_duplicate_column_after_name_normalisation_fails_the_file_naming_both()
    {
        var e = Assert.Throws<FeedFormatException>(() => Read(FeedSource.Partners, "partnerId,partnerName,partner_id,country\n1,a,2,US\n", trickle: false));
        Assert.Contains("'partnerId' (column 1) and 'partner_id' (column 3) both name partnerId", e.Message);

        var three = Assert.Throws<FeedFormatException>(() => Read(FeedSource.Usage,
            "customerTenantId,subscriptionId,workload,month,Active Users,activeUsers,ACTIVE-USERS\n", trickle: false));
        Assert.Contains("'Active Users' (column 5) and 'activeUsers' (column 6) and 'ACTIVE-USERS' (column 7) all name activeUsers", three.Message);

        // Missing and duplicate columns are reported together.
        var both = Assert.Throws<FeedFormatException>(() => Read(FeedSource.Dpor, "subscriptionId,Subscription Id,customerTenantId,effectiveDate\n", trickle: false));
        Assert.Contains("lacks required column(s): partnerId", both.Message);
        Assert.Contains("'subscriptionId' (column 1) and 'Subscription Id' (column 2) both name subscriptionId", both.Message);
    }

    [Fact]
    public void Duplicate_columns_the_feed_ignores_are_ignored_with_them()
    {
        var rows = Read(FeedSource.Partners, "partnerId,comment,Comment,region\n1,a,b,x\n", trickle: false);
        Assert.Null(Assert.Single(rows).Problem);

        // In a reconciliation export, PartnerId (a GUID the feed does not read) does not clash with MpnId.
        var recon = Read(FeedSource.Csp,
            "PartnerId,CustomerId,MpnId,SubscriptionId,ChargeStartDate,ProductName,partner_id\n" +
            $"{Guid.NewGuid()},{Guid.NewGuid()},4000001,{Guid.NewGuid()},3/1/2026,Azure plan,x\n", trickle: false);
        Assert.Equal("4000001", Assert.Single(recon).Values[FeedColumn.PartnerId]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_jsonl_record_with_a_duplicate_field_is_rejected_naming_both(bool trickle)
    {
        var rows = Read(FeedSource.Partners,
            "{\"partnerId\":1,\"partner_id\":2}\r\n" +
            "{\"partnerId\":3,\"partnerId\":3}\r\n" +
            "{\"partnerId\":4,\"note\":1,\"Note\":2}\r\n",
            trickle, FeedFormat.JsonLines);

        Assert.Equal([1L, 2, 3], rows.Select(r => r.Line));
        Assert.Equal("partner_id: duplicate of field 'partnerId' (field names match ignoring case, spaces, '_' and '-')", rows[0].Problem);
        Assert.StartsWith("partnerId: duplicate of field 'partnerId'", rows[1].Problem);
        Assert.Null(rows[2].Problem); // unknown fields are ignored, duplicated or not
        Assert.Equal("4", rows[2].Values[FeedColumn.PartnerId]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Invalid_utf8_in_a_jsonl_value_rejects_the_line_naming_the_field(bool trickle)
    {
        var content = Bytes(
            "{\"partnerId\":1,\"partnerName\":\"Caf", (byte)0xE9, "\"}\n",
            "{\"partnerId\":2,\"partnerName\":\"Kept ", new byte[] { 0xEF, 0xBF, 0xBD }, " and \\ufffd\"}\n",
            "{\"partnerId\":3,\"note\":\"", (byte)0xFF, "\"}\n",
            "{\"partnerId\":4,", (byte)0xFF, "}\n",
            "{\"partnerId\":5,\"partnerName\":\"\uE000 private use and ", (byte)0xFE, "\"}\n");

        var rows = Read(FeedSource.Partners, content, trickle, FeedFormat.JsonLines);

        Assert.Equal(5, rows.Count);
        Assert.Equal($"partnerName: invalid UTF-8 in 'Caf\\xE9' (first bad byte at offset {Array.IndexOf(content, (byte)0xE9)}): bytes that are not UTF-8 text; the file must be UTF-8 encoded", rows[0].Problem);
        Assert.Equal("{\"partnerId\":1,\"partnerName\":\"Caf\\xE9\"}", rows[0].Raw);
        Assert.Null(rows[1].Problem);
        Assert.Equal("Kept \uFFFD and \uFFFD", rows[1].Values[FeedColumn.PartnerName]);
        Assert.Null(rows[2].Problem);
        Assert.StartsWith("line is not valid JSON: it has bytes that are not UTF-8", rows[3].Problem);
        Assert.Equal($"partnerName: invalid UTF-8 in '\uE000 private use and \\xFE' (first bad byte at offset {Array.IndexOf(content, (byte)0xFE)}): bytes that are not UTF-8 text; the file must be UTF-8 encoded", rows[4].Problem);
    }

    private static byte[] Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) gz.Write(Encoding.UTF8.GetBytes(text));
        return buffer.ToArray();
    }

    /// <summary>What an error may never hold: the replacement character, or a control character of the input.</summary>
    private static void AssertReadable(string message)
    {
        Assert.DoesNotContain('\uFFFD', message);
        Assert.DoesNotContain(message, char.IsControl);
        Assert.DoesNotContain(message, char.IsSurrogate);
    }

    [Theory]
    [InlineData(FeedFormat.Csv, "usage-2026.csv", false)]
    [InlineData(FeedFormat.Csv, "usage-2026.csv", true)]
    [InlineData(FeedFormat.JsonLines, "usage.jsonl", false)]
    public void Gzip_content_under_a_plain_name_fails_saying_it_is_compressed_and_how_to_rename_it(FeedFormat format, string name, bool trickle)
    {
        var gz = Gzip("customerTenantId,subscriptionId,workload,month\n" + new string('x', 500) + "\n");
        Stream stream = new MemoryStream(gz);
        if (trickle) stream = new OneByteStream(stream);
        var e = Assert.Throws<FeedFormatException>(() =>
        {
            using var reader = FeedRowReader.Open(stream, FeedSource.Usage, format, gzip: false, fileName: name);
            while (reader.MoveNext()) { }
        });
        Assert.Equal($"The content is gzip-compressed (it starts with the gzip signature 1F 8B) but the name does not end in .gz: rename it to {name}.gz.", e.Message);
        AssertReadable(e.Message);
    }

    [Fact]
    public void A_zip_archive_under_a_plain_name_fails_saying_zip_is_not_supported()
    {
        using var buffer = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(buffer, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        using (var entry = new StreamWriter(zip.CreateEntry("usage.csv").Open())) entry.Write("customerTenantId,subscriptionId,workload,month\n");
        var e = Assert.Throws<FeedFormatException>(() => FeedRowReader.Open(new MemoryStream(buffer.ToArray()), FeedSource.Usage, FeedFormat.Csv, gzip: false, fileName: "usage.zip.csv"));
        Assert.StartsWith("The content is a zip archive (it starts with the zip signature 50 4B 03 04); zip archives are not supported: extract the feed file from it", e.Message);
        Assert.EndsWith("or compress the feed file with gzip and name it usage.zip.csv.gz.", e.Message);
        AssertReadable(e.Message);
    }

    [Fact]
    public void Binary_noise_fails_naming_the_column_and_the_byte_offset_with_every_byte_escaped()
    {
        // Not a signature we know: the header is read as text and is not UTF-8 from its first column on.
        byte[] noise = [0x03, 0xF1, 0x00, 0x1B, 0x75, 0xC3, 0x28, 0x2C, 0x41, 0x0A, 0x31, 0x0A];
        var e = Assert.Throws<FeedFormatException>(() => Read(FeedSource.Usage, noise, trickle: true));
        // The first column holds 03 F1 00 1B 75 C3 28: F1 (offset 1) is the first byte that is not UTF-8.
        Assert.Equal("The header row is not valid UTF-8 (column 1 of line 1, '\\x03\\xF1\\x00\\x1Bu\\xC3(', first bad byte at offset 1): feeds must be UTF-8 encoded.", e.Message);
        AssertReadable(e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reasons_and_raw_rows_show_control_characters_and_bad_bytes_as_escapes(bool trickle)
    {
        var content = Bytes(
            "partnerId,partnerName,country\n",
            "1,Tab\there,US\n",                                     // line 2: fine, a tab is text
            "2,", (byte)0xC0, (byte)0xAF, "x", (byte)0x1B, "[2J,US\n");  // line 3: an overlong '/' and an escape sequence
        var rows = Read(FeedSource.Partners, content, trickle);

        Assert.Null(rows[0].Problem);
        Assert.Equal("Tab\there", rows[0].Values[FeedColumn.PartnerName]);
        Assert.Equal($"partnerName: invalid UTF-8 in '\\xC0\\xAFx\\x1B[2J' (first bad byte at offset {Array.IndexOf(content, (byte)0xC0)}): bytes that are not UTF-8 text; the file must be UTF-8 encoded", rows[1].Problem);
        AssertReadable(rows[1].Problem!);
        // raw keeps the row as the file has it, but no bad byte or control character goes into it as such.
        Assert.Equal("2,\\xC0\\xAFx\\x1B[2J,US", rows[1].Raw);
        Assert.Equal("1,Tab\there,US", rows[0].Raw);
    }

    /// <summary>Returns at most one byte per read: every buffer boundary the reader can meet.</summary>
    private sealed class OneByteStream(Stream inner) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 1));
        public override int Read(Span<byte> buffer) => inner.Read(buffer[..Math.Min(buffer.Length, 1)]);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
