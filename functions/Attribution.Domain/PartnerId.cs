using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Attribution.Domain;

/// <summary>
/// A partner ID (MPN ID): a location partner's, or the global partner it rolls up to. The contract's form (§2.2) is
/// 1 to <see cref="MaxDigits"/> decimal digits; it is written without leading zeros, invariantly, and in JSON as a
/// number (<see cref="PartnerIdJsonConverter"/>), as the bare long it wraps always was.
/// </summary>
[JsonConverter(typeof(PartnerIdJsonConverter))]
public readonly record struct PartnerId(long Value) : IComparable<PartnerId>, ISpanFormattable
{
    public const int MaxDigits = 10;

    /// <summary>1 to <see cref="MaxDigits"/> decimal digits after trimming (leading zeros dropped); nothing else.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out PartnerId id)
    {
        text = text.Trim();
        id = default;
        if (text.IsEmpty || text.Length > MaxDigits) return false;
        long value = 0;
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c)) return false;
            value = value * 10 + (c - '0');
        }
        id = new PartnerId(value);
        return true;
    }

    public int CompareTo(PartnerId other) => Value.CompareTo(other.Value);
    public static bool operator <(PartnerId a, PartnerId b) => a.Value < b.Value;
    public static bool operator >(PartnerId a, PartnerId b) => a.Value > b.Value;
    public static bool operator <=(PartnerId a, PartnerId b) => a.Value <= b.Value;
    public static bool operator >=(PartnerId a, PartnerId b) => a.Value >= b.Value;

    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The digits, invariantly, whatever the culture.</summary>
    public string ToString(string? format, IFormatProvider? formatProvider) => Value.ToString(format, CultureInfo.InvariantCulture);

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider) =>
        Value.TryFormat(destination, out charsWritten, format, CultureInfo.InvariantCulture);
}

/// <summary>Writes a <see cref="PartnerId"/> as a JSON number and reads a non-negative whole number back.</summary>
public sealed class PartnerIdJsonConverter : JsonConverter<PartnerId>
{
    public override PartnerId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.Number)
            throw new JsonException($"A partner ID must be a JSON number, not {reader.TokenType}.");
        return reader.TryGetInt64(out var value) && value >= 0 ? new PartnerId(value)
            : throw new JsonException("A partner ID must be a whole number from 0 to 9999999999.");
    }

    public override void Write(Utf8JsonWriter writer, PartnerId value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteNumberValue(value.Value);
    }

    public override PartnerId ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        return PartnerId.TryParse(text, out var id) ? id : throw new JsonException($"'{text}' is not a partner ID.");
    }

    public override void WriteAsPropertyName(Utf8JsonWriter writer, PartnerId value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WritePropertyName(value.ToString());
    }
}
