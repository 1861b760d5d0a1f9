using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Attribution.Domain;

/// <summary>
/// A calendar month (`yyyy-MM`), stored as a month index so windows are integer ranges. In JSON it is the string
/// `yyyy-MM` (<see cref="YearMonthJsonConverter"/>), the form every contract and table already uses.
/// </summary>
[JsonConverter(typeof(YearMonthJsonConverter))]
public readonly record struct YearMonth(int Index) : IComparable<YearMonth>, ISpanFormattable
{
    public YearMonth(int year, int month) : this(year * 12 + (month - 1)) { }

    public int Year => Index / 12;
    public int Month => Index % 12 + 1;
    public DateOnly FirstDay => new(Year, Month, 1);
    public DateOnly LastDay => new(Year, Month, DaysInMonth);
    public int DaysInMonth => DateTime.DaysInMonth(Year, Month);

    public YearMonth AddMonths(int months) => new(Index + months);

    public static YearMonth Of(DateOnly date) => new(date.Year, date.Month);

    public int CompareTo(YearMonth other) => Index.CompareTo(other.Index);
    public static bool operator <(YearMonth a, YearMonth b) => a.Index < b.Index;
    public static bool operator >(YearMonth a, YearMonth b) => a.Index > b.Index;
    public static bool operator <=(YearMonth a, YearMonth b) => a.Index <= b.Index;
    public static bool operator >=(YearMonth a, YearMonth b) => a.Index >= b.Index;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Year:D4}-{Month:D2}");

    /// <summary>`yyyy-MM` whatever the format and culture (the one form of a month).</summary>
    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    /// <summary>Writes `yyyy-MM` without allocating (interpolated keys such as `{asOf}|{competency}`).</summary>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider) =>
        destination.TryWrite(CultureInfo.InvariantCulture, $"{Year:D4}-{Month:D2}", out charsWritten);

    /// <summary>Strict `yyyy-MM`.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out YearMonth month)
    {
        month = default;
        text = text.Trim();
        if (text.Length != 7 || text[4] != '-') return false;
        if (!int.TryParse(text[..4], NumberStyles.None, CultureInfo.InvariantCulture, out var y)) return false;
        if (!int.TryParse(text[5..], NumberStyles.None, CultureInfo.InvariantCulture, out var m)) return false;
        if (y < 1 || m is < 1 or > 12) return false;
        month = new YearMonth(y, m);
        return true;
    }

    public static YearMonth Parse(string text) =>
        TryParse(text, out var m) ? m : throw new FormatException($"'{text}' is not a month in the form yyyy-MM.");
}

/// <summary>
/// Writes a <see cref="YearMonth"/> as the JSON string `yyyy-MM` and reads it back strictly; anything else is a
/// <see cref="JsonException"/> naming the text. It also reads the object form `{"index":N}` that a shard partial
/// written before this converter holds, so a run in flight across an upgrade still reduces.
/// </summary>
public sealed class YearMonthJsonConverter : JsonConverter<YearMonth>
{
    public override YearMonth Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.StartObject) return ReadIndexObject(ref reader);
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException($"A month must be a JSON string in the form yyyy-MM, not {reader.TokenType}.");
        return FromText(reader.GetString());
    }

    public override void Write(Utf8JsonWriter writer, YearMonth value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString());
    }

    public override YearMonth ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        FromText(reader.GetString());

    private static YearMonth FromText(string? text) =>
        YearMonth.TryParse(text, out var month) ? month : throw new JsonException($"'{text}' is not a month in the form yyyy-MM.");

    public override void WriteAsPropertyName(Utf8JsonWriter writer, YearMonth value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WritePropertyName(value.ToString());
    }

    private static YearMonth ReadIndexObject(ref Utf8JsonReader reader)
    {
        int? index = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName) throw new JsonException("A month object must hold only an index.");
            var isIndex = reader.ValueTextEquals("index"u8) || reader.ValueTextEquals("Index"u8);
            if (!reader.Read()) break;
            if (isIndex && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var i)) index = i;
            else reader.Skip();
        }
        if (reader.TokenType != JsonTokenType.EndObject || index is not { } n || n < 12)
            throw new JsonException("A month must be a JSON string in the form yyyy-MM.");
        return new YearMonth(n);
    }
}
