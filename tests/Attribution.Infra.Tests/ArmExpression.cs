using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Attribution.Infra.Tests;

/// <summary>
/// A small, partial evaluator of ARM template expressions ("[union(createObject('a', ...), variables('v'))]"),
/// enough to see which app settings a compiled template can produce. What it can compute (literals,
/// createObject, union, if, empty, not, variables, format of known values, property access) it
/// computes; anything that depends on deployment-time values (parameters, reference, resourceId, ...)
/// stays as its expression text, wrapped in brackets, which the invariant checks then inspect.
/// An if() whose condition is not known yields the union of both branches, so checks see every
/// setting any parameter value can produce.
/// </summary>
public static class ArmExpression
{
    private abstract record Value;

    private sealed record Known(JsonNode? Node) : Value;

    private sealed record Opaque(string Text) : Value;

    private abstract record Expr(string Text);

    private sealed record Literal(string Text, JsonNode? Node) : Expr(Text);

    private sealed record Call(string Text, string Name, IReadOnlyList<Expr> Args) : Expr(Text);

    private sealed record Member(string Text, Expr Target, string Name) : Expr(Text);

    private sealed record Index(string Text, Expr Target, Expr Key) : Expr(Text);

    /// <summary>True when the string is an ARM expression ("[...]" but not an escaped "[[...").</summary>
    public static bool IsExpression(string s) =>
        s.Length >= 2 && s[0] == '[' && s[^1] == ']' && s[1] != '[';

    /// <summary>
    /// Evaluates a JSON value of <paramref name="template"/> as far as it can be. Unknown parts become
    /// strings holding their expression in brackets.
    /// </summary>
    public static JsonNode? Evaluate(JsonNode? node, JsonObject template) =>
        ToNode(EvaluateNode(node, template, new HashSet<string>(StringComparer.Ordinal)));

    /// <summary>The text a value shows to the invariant checks (expression text for unknown parts).</summary>
    public static string Text(JsonNode? node) => node switch
    {
        null => "null",
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => node.ToJsonString(),
    };

    private static Value EvaluateNode(JsonNode? node, JsonObject template, HashSet<string> visiting)
    {
        switch (node)
        {
            case JsonValue v when v.TryGetValue(out string? s) && IsExpression(s):
                return Eval(Parse(s[1..^1]), template, visiting);
            case JsonValue v when v.TryGetValue(out string? s) && s.StartsWith("[[", StringComparison.Ordinal):
                return new Known(JsonValue.Create(s[1..]));
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (key, child) in obj)
                {
                    copy[key] = ToNode(EvaluateNode(child, template, visiting));
                }

                return new Known(copy);
            case JsonArray array:
                var items = new JsonArray();
                foreach (var child in array)
                {
                    items.Add(ToNode(EvaluateNode(child, template, visiting)));
                }

                return new Known(items);
            default:
                return new Known(node?.DeepClone());
        }
    }

    private static JsonNode? ToNode(Value value) => value switch
    {
        Known k => k.Node?.DeepClone(),
        Opaque o => JsonValue.Create("[" + o.Text + "]"),
        _ => null,
    };

    private static Value Eval(Expr expr, JsonObject template, HashSet<string> visiting)
    {
        switch (expr)
        {
            case Literal literal:
                return new Known(literal.Node?.DeepClone());
            case Member member:
                return Eval(member.Target, template, visiting) is Known { Node: JsonObject obj }
                    && obj.TryGetPropertyValue(member.Name, out var prop)
                    ? new Known(prop?.DeepClone())
                    : new Opaque(expr.Text);
            case Index index:
                var target = Eval(index.Target, template, visiting);
                var key = Eval(index.Key, template, visiting);
                if (target is Known { Node: JsonArray arr } && key is Known { Node: JsonValue kv } && kv.TryGetValue(out int i) && i >= 0 && i < arr.Count)
                {
                    return new Known(arr[i]?.DeepClone());
                }

                if (target is Known { Node: JsonObject o } && key is Known { Node: JsonValue ks } && ks.TryGetValue(out string? name) && o.TryGetPropertyValue(name, out var p))
                {
                    return new Known(p?.DeepClone());
                }

                return new Opaque(expr.Text);
            case Call call:
                return EvalCall(call, template, visiting);
            default:
                return new Opaque(expr.Text);
        }
    }

    private static Value EvalCall(Call call, JsonObject template, HashSet<string> visiting)
    {
        var args = call.Args;
        switch (call.Name.ToLowerInvariant())
        {
            case "true":
                return new Known(JsonValue.Create(true));
            case "false":
                return new Known(JsonValue.Create(false));
            case "null":
                return new Known(null);
            case "variables" when args.Count == 1 && Eval(args[0], template, visiting) is Known { Node: JsonValue n } && n.TryGetValue(out string? variable):
                if (template["variables"] is not JsonObject variables || !variables.TryGetPropertyValue(variable, out var definition) || !visiting.Add(variable))
                {
                    return new Opaque(call.Text);
                }

                try
                {
                    return EvaluateNode(definition, template, visiting);
                }
                finally
                {
                    visiting.Remove(variable);
                }

            case "createobject" when args.Count % 2 == 0:
                var created = new JsonObject();
                for (var a = 0; a < args.Count; a += 2)
                {
                    if (Eval(args[a], template, visiting) is not Known { Node: JsonValue keyNode } || !keyNode.TryGetValue(out string? key))
                    {
                        return new Opaque(call.Text);
                    }

                    created[key] = ToNode(Eval(args[a + 1], template, visiting));
                }

                return new Known(created);
            case "union":
                var parts = args.Select(a => Eval(a, template, visiting)).ToList();
                if (parts.All(p => p is Known { Node: JsonObject }))
                {
                    var merged = new JsonObject();
                    foreach (var part in parts.Cast<Known>())
                    {
                        foreach (var (key, item) in part.Node!.AsObject())
                        {
                            merged[key] = item?.DeepClone();
                        }
                    }

                    return new Known(merged);
                }

                return new Opaque(call.Text);
            case "if" when args.Count == 3:
                var condition = Eval(args[0], template, visiting);
                if (condition is Known { Node: JsonValue c } && c.TryGetValue(out bool chosen))
                {
                    return Eval(chosen ? args[1] : args[2], template, visiting);
                }

                var whenTrue = Eval(args[1], template, visiting);
                var whenFalse = Eval(args[2], template, visiting);
                if (whenTrue is Known { Node: JsonObject t } && whenFalse is Known { Node: JsonObject f })
                {
                    var both = f.DeepClone().AsObject();
                    foreach (var (key, item) in t)
                    {
                        both[key] = item?.DeepClone();
                    }

                    return new Known(both);
                }

                return new Opaque(call.Text);
            case "empty" when args.Count == 1:
                return Eval(args[0], template, visiting) switch
                {
                    Known { Node: null } => new Known(JsonValue.Create(true)),
                    Known { Node: JsonObject o } => new Known(JsonValue.Create(o.Count == 0)),
                    Known { Node: JsonArray a } => new Known(JsonValue.Create(a.Count == 0)),
                    Known { Node: JsonValue v } when v.TryGetValue(out string? s) => new Known(JsonValue.Create(s.Length == 0)),
                    _ => new Opaque(call.Text),
                };
            case "not" when args.Count == 1:
                return Eval(args[0], template, visiting) is Known { Node: JsonValue b } && b.TryGetValue(out bool value)
                    ? new Known(JsonValue.Create(!value))
                    : new Opaque(call.Text);
            case "format" when args.Count >= 1:
                var values = args.Select(a => Eval(a, template, visiting)).ToList();
                if (values.All(v => v is Known { Node: JsonValue }))
                {
                    var strings = values.Select(v => Text(((Known)v).Node)).ToArray();
                    return new Known(JsonValue.Create(string.Format(CultureInfo.InvariantCulture, strings[0], strings.Skip(1).ToArray<object?>())));
                }

                return new Opaque(call.Text);
            default:
                return new Opaque(call.Text);
        }
    }

    // ---- Parsing: expr := primary ( '.' name | '[' expr ']' )* ; primary := 'string' | number | name '(' args ')'

    private static Expr Parse(string text)
    {
        var position = 0;
        var expr = ParseExpr(text, ref position);
        SkipSpace(text, ref position);
        if (position != text.Length)
        {
            throw new FormatException($"Unexpected '{text[position..]}' in ARM expression [{text}]");
        }

        return expr;
    }

    private static Expr ParseExpr(string text, ref int position)
    {
        SkipSpace(text, ref position);
        var start = position;
        var expr = ParsePrimary(text, ref position);
        while (position < text.Length)
        {
            if (text[position] == '.')
            {
                position++;
                var name = ReadName(text, ref position);
                expr = new Member(text[start..position], expr, name);
            }
            else if (text[position] == '[')
            {
                position++;
                var key = ParseExpr(text, ref position);
                Expect(text, ref position, ']');
                expr = new Index(text[start..position], expr, key);
            }
            else
            {
                break;
            }
        }

        return expr;
    }

    private static Expr ParsePrimary(string text, ref int position)
    {
        SkipSpace(text, ref position);
        var start = position;
        if (position >= text.Length)
        {
            throw new FormatException($"ARM expression ends early: [{text}]");
        }

        if (text[position] == '\'')
        {
            var sb = new StringBuilder();
            position++;
            while (true)
            {
                if (position >= text.Length)
                {
                    throw new FormatException($"Unterminated string in ARM expression [{text}]");
                }

                if (text[position] == '\'')
                {
                    if (position + 1 < text.Length && text[position + 1] == '\'')
                    {
                        sb.Append('\'');
                        position += 2;
                        continue;
                    }

                    position++;
                    break;
                }

                sb.Append(text[position++]);
            }

            return new Literal(text[start..position], JsonValue.Create(sb.ToString()));
        }

        if (char.IsDigit(text[position]) || text[position] == '-')
        {
            position++;
            while (position < text.Length && (char.IsDigit(text[position]) || text[position] == '.'))
            {
                position++;
            }

            var number = text[start..position];
            JsonNode node = number.Contains('.', StringComparison.Ordinal)
                ? JsonValue.Create(double.Parse(number, CultureInfo.InvariantCulture))
                : JsonValue.Create(long.Parse(number, CultureInfo.InvariantCulture));
            return new Literal(number, node);
        }

        var name = ReadName(text, ref position);
        SkipSpace(text, ref position);
        Expect(text, ref position, '(');
        var args = new List<Expr>();
        SkipSpace(text, ref position);
        if (position < text.Length && text[position] == ')')
        {
            position++;
            return new Call(text[start..position], name, args);
        }

        while (true)
        {
            args.Add(ParseExpr(text, ref position));
            SkipSpace(text, ref position);
            if (position < text.Length && text[position] == ',')
            {
                position++;
                continue;
            }

            Expect(text, ref position, ')');
            return new Call(text[start..position], name, args);
        }
    }

    private static string ReadName(string text, ref int position)
    {
        var start = position;
        while (position < text.Length && (char.IsLetterOrDigit(text[position]) || text[position] is '_' or '$'))
        {
            position++;
        }

        if (position == start)
        {
            throw new FormatException($"Expected a name at {start} in ARM expression [{text}]");
        }

        return text[start..position];
    }

    private static void Expect(string text, ref int position, char c)
    {
        SkipSpace(text, ref position);
        if (position >= text.Length || text[position] != c)
        {
            throw new FormatException($"Expected '{c}' at {position} in ARM expression [{text}]");
        }

        position++;
    }

    private static void SkipSpace(string text, ref int position)
    {
        while (position < text.Length && char.IsWhiteSpace(text[position]))
        {
            position++;
        }
    }
}
