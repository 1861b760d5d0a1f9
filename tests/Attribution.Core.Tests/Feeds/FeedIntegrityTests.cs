using System.Text;
using Attribution.Core.Feeds;

namespace Attribution.Core.Tests.Feeds;

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
        Assert.Equal("partnerName: invalid UTF-8 in 'Caf\uFFFD Partners' (bytes that are not UTF-8 text; the file must be UTF-8 encoded)", rows[0].Problem);
        Assert.Equal("1,Caf\uFFFD Partners,FR,", rows[0].Raw);
        Assert.Null(rows[1].Problem);
        Assert.Equal("Caf\u00E9 Ok", rows[1].Values[FeedColumn.PartnerName]);
        Assert.Null(rows[2].Problem);
        Assert.Equal("Kept \uFFFD as is", rows[2].Values[FeedColumn.PartnerName]);
        Assert.Null(rows[3].Problem);
        Assert.StartsWith("partnerName: invalid UTF-8 in 'Emoji \U0001F600 \uFFFD", rows[4].Problem);
        Assert.StartsWith("partnerName: invalid UTF-8", rows[5].Problem);
        Assert.StartsWith("country: invalid UTF-8", rows[6].Problem);
    }

    [Fact]
    public void A_header_that_is_not_utf8_fails_the_file()
    {
        var e = Assert.Throws<FeedFormatException>(() => Read(FeedSource.Partners, Bytes("partnerId,R", (byte)0xE9, "gion\n1,x\n"), trickle: false));
        Assert.Contains("header row is not valid UTF-8 (column 2, 'R\uFFFDgion')", e.Message);
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
        Assert.Equal("partnerName: invalid UTF-8 in 'Caf\uFFFD' (bytes that are not UTF-8 text; the file must be UTF-8 encoded)", rows[0].Problem);
        Assert.Equal("{\"partnerId\":1,\"partnerName\":\"Caf\uFFFD\"}", rows[0].Raw);
        Assert.Null(rows[1].Problem);
        Assert.Equal("Kept \uFFFD and \uFFFD", rows[1].Values[FeedColumn.PartnerName]);
        Assert.Null(rows[2].Problem);
        Assert.StartsWith("line is not valid JSON: it has bytes that are not UTF-8", rows[3].Problem);
        Assert.Equal("partnerName: invalid UTF-8 in '\uE000 private use and \uFFFD' (bytes that are not UTF-8 text; the file must be UTF-8 encoded)", rows[4].Problem);
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
