using System.Text.Json;
using Attribution.Domain;
using Attribution.Pipeline.Recalculation;

namespace Attribution.Pipeline.Tests.Boundaries;

/// <summary>A month is the string `yyyy-MM` in every JSON document (durable payloads, HTTP bodies, CLI output).</summary>
public sealed class YearMonthTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Theory]
    [InlineData(2026, 9, "\"2026-09\"")]
    [InlineData(1900, 1, "\"1900-01\"")]
    [InlineData(9999, 12, "\"9999-12\"")]
    public void It_is_written_as_yyyy_MM_and_read_back(int year, int month, string json)
    {
        var value = new YearMonth(year, month);
        Assert.Equal(json, JsonSerializer.Serialize(value));
        Assert.Equal(json, JsonSerializer.Serialize(value, Web));
        Assert.Equal(value, JsonSerializer.Deserialize<YearMonth>(json, Web));
        Assert.Equal(value, JsonSerializer.Deserialize<YearMonth?>(json, Web));
    }

    [Fact]
    public void A_payload_serialises_as_it_did_with_a_string_month()
    {
        var payload = new InterruptedPublishQuery(new YearMonth(2026, 9), "run-1");
        Assert.Equal("""{"asOf":"2026-09","runId":"run-1"}""", JsonSerializer.Serialize(payload, Web));
        Assert.Equal(payload, JsonSerializer.Deserialize<InterruptedPublishQuery>("""{"asOf":"2026-09","runId":"run-1"}""", Web));
        Assert.Null(JsonSerializer.Deserialize<YearMonth?>("null", Web));
    }

    [Theory]
    [InlineData("\"2026-13\"", "'2026-13' is not a month in the form yyyy-MM.")]
    [InlineData("\"2026-9\"", "'2026-9' is not a month in the form yyyy-MM.")]
    [InlineData("\"\"", "'' is not a month in the form yyyy-MM.")]
    [InlineData("202609", "A month must be a JSON string in the form yyyy-MM, not Number.")]
    [InlineData("true", "A month must be a JSON string in the form yyyy-MM, not True.")]
    [InlineData("{\"year\":2026}", "A month must be a JSON string in the form yyyy-MM.")]
    public void Bad_text_is_a_JsonException_that_names_it(string json, string message)
    {
        var e = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<YearMonth>(json, Web));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void A_shard_partial_written_before_the_converter_still_reads()
    {
        var month = new YearMonth(2026, 9);
        Assert.Equal(month, JsonSerializer.Deserialize<YearMonth>($$"""{"index":{{month.Index}}}""", Web));
        Assert.Equal(month, JsonSerializer.Deserialize<Attribution.Domain.Credit.ShardCredit>($$"""{"asOf":{"index":{{month.Index}}},"windowMonths":12}""", Web)!.AsOf);
    }

    [Fact]
    public void It_keys_a_dictionary_by_its_text()
    {
        var map = new Dictionary<YearMonth, int> { [new YearMonth(2026, 9)] = 1 };
        var json = JsonSerializer.Serialize(map, Web);
        Assert.Equal("""{"2026-09":1}""", json);
        Assert.Equal(map, JsonSerializer.Deserialize<Dictionary<YearMonth, int>>(json, Web));
    }

    [Fact]
    public void It_formats_into_a_span_as_keys_interpolate_it()
    {
        var month = new YearMonth(2026, 9);
        Assert.Equal("2026-09|CloudPlatform", $"{month}|CloudPlatform");
        Span<char> buffer = stackalloc char[7];
        Assert.True(month.TryFormat(buffer, out var written, default, null));
        Assert.Equal("2026-09", buffer[..written].ToString());
        Assert.False(month.TryFormat(buffer[..6], out _, default, null));
    }
}
