using System.Text.Json;
using Attribution.Domain.Credit;
using Attribution.Domain;

namespace Attribution.Domain.Tests;

/// <summary>A partner ID parses as the contract says (§2.2), prints its digits and is a JSON number, as the long it wraps.</summary>
public sealed class PartnerIdTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Theory]
    [InlineData("1234567", 1234567)]
    [InlineData(" 0042 ", 42)]
    [InlineData("9999999999", 9999999999)]
    [InlineData("0", 0)]
    public void It_parses_one_to_ten_digits_with_leading_zeros_dropped(string text, long expected)
    {
        Assert.True(PartnerId.TryParse(text, out var id));
        Assert.Equal(new PartnerId(expected), id);
        Assert.Equal(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), id.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("12345678901")]
    [InlineData("-5")]
    [InlineData("1e3")]
    [InlineData("١٢٣")]
    public void Anything_else_does_not_parse(string text) => Assert.False(PartnerId.TryParse(text, out _));

    [Fact]
    public void It_is_a_JSON_number_and_reads_back()
    {
        var id = new PartnerId(2345678);
        Assert.Equal("2345678", JsonSerializer.Serialize(id, Web));
        Assert.Equal(id, JsonSerializer.Deserialize<PartnerId>("2345678", Web));
        Assert.Null(JsonSerializer.Deserialize<PartnerId?>("null", Web));
        Assert.Equal("""{"2345678":1}""", JsonSerializer.Serialize(new Dictionary<PartnerId, int> { [id] = 1 }, Web));
        // A row serialises as it did with long ids.
        var row = new SubscriptionPartnerRow { PartnerId = id };
        Assert.StartsWith("""{"subscriptionId":"00000000-0000-0000-0000-000000000000","customerTenantId":"00000000-0000-0000-0000-000000000000","partnerId":2345678,""", JsonSerializer.Serialize(row, Web), StringComparison.Ordinal);
        Assert.Equal(id, JsonSerializer.Deserialize<SubscriptionPartnerRow>(JsonSerializer.Serialize(row, Web), Web)!.PartnerId);
    }

    [Theory]
    [InlineData("\"2345678\"", "A partner ID must be a JSON number, not String.")]
    [InlineData("1.5", "A partner ID must be a whole number from 0 to 9999999999.")]
    [InlineData("-1", "A partner ID must be a whole number from 0 to 9999999999.")]
    public void Bad_input_is_a_JsonException(string json, string message)
    {
        var e = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<PartnerId>(json, Web));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void It_orders_and_formats_as_its_value()
    {
        Assert.True(new PartnerId(9) < new PartnerId(10));
        Assert.Equal([new PartnerId(2), new PartnerId(10)], new[] { new PartnerId(10), new PartnerId(2) }.Order());
        Assert.Equal("p-0042", $"p-{new PartnerId(42):D4}");
    }
}
