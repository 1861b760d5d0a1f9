using System.Text.Json;
using System.Text.Json.Serialization;

namespace Attribution.Domain;

/// <summary>
/// A competency level: <see cref="None"/> or one of the levels the rules name (e.g. `Silver`, `Gold`). Names compare
/// ordinally, as the rules define them; the rules reserve `None` (in any case) for no level reached, so no rule level
/// is ever equal to it. In JSON and in the tables it is the plain name (<see cref="CompetencyLevelJsonConverter"/>).
/// </summary>
[JsonConverter(typeof(CompetencyLevelJsonConverter))]
public readonly record struct CompetencyLevel
{
    /// <summary>The name of no level reached.</summary>
    public const string NoneName = "None";

    // Null for None, so that default(CompetencyLevel), None and new("None") are one value.
    private readonly string? _name;

    /// <param name="name">A rule's level name, or `None`.</param>
    public CompetencyLevel(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _name = string.Equals(name, NoneName, StringComparison.Ordinal) ? null : name;
    }

    /// <summary>No level reached (also the default value).</summary>
    public static CompetencyLevel None => default;

    public string Name => _name ?? NoneName;

    public bool IsNone => _name is null;

    /// <summary>A stored level (a table or snapshot `level` column); empty or missing is <see cref="None"/>.</summary>
    public static CompetencyLevel FromStored(string? name) => string.IsNullOrEmpty(name) ? None : new CompetencyLevel(name);

    public override string ToString() => Name;
}

/// <summary>Writes a <see cref="CompetencyLevel"/> as its name and reads a non-empty name back.</summary>
public sealed class CompetencyLevelJsonConverter : JsonConverter<CompetencyLevel>
{
    public override CompetencyLevel Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException($"A competency level must be a JSON string (a level name or None), not {reader.TokenType}.");
        var name = reader.GetString();
        return string.IsNullOrWhiteSpace(name)
            ? throw new JsonException("A competency level must be a level name or None, not an empty string.")
            : new CompetencyLevel(name);
    }

    public override void Write(Utf8JsonWriter writer, CompetencyLevel value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.Name);
    }

    public override CompetencyLevel ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Read(ref reader, typeToConvert, options);

    public override void WriteAsPropertyName(Utf8JsonWriter writer, CompetencyLevel value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WritePropertyName(value.Name);
    }
}
