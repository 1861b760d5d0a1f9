using System.Reflection;
using System.Reflection.Emit;
using System.Text.RegularExpressions;
using Attribution.Pipeline.Recalculation;
using Attribution.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Attribution.Functions.Tests.Recalculation;

/// <summary>
/// One definition per step: the orchestrator's calls, the local worker's registrations and the function app's
/// activity triggers are the same list of names.
/// </summary>
public sealed partial class StepRegistrationTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly string[] Steps = [.. RecalculationSteps.Activities.Select(t => t.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public void The_function_app_declares_one_activity_trigger_per_step_and_nothing_else()
    {
        var triggers = FunctionMetadata.All().EnumerateArray()
            .Where(f => f.GetProperty("bindings").EnumerateArray().Any(b => b.GetProperty("type").GetString() == "activityTrigger"))
            .Select(f => f.GetProperty("name").GetString()!)
            .Order(StringComparer.Ordinal);
        Assert.Equal(Steps, triggers);
    }

    [Fact]
    public void The_orchestrator_calls_exactly_the_registered_steps()
    {
        // Activity names reach CallActivityAsync as string constants (nameof): read them from the orchestrator's IL,
        // async state machines included. Every identifier-shaped constant must be a step, and every step is called.
        var constants = StringConstants(typeof(RecalculateCredit)).Where(s => Identifier().IsMatch(s)).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(Steps, constants.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_local_worker_registers_the_same_steps_and_each_resolves_from_the_apps_registration()
    {
        await using var host = await RecalculationHarness.HostAsync(azurite.Storage);
        Assert.Equal(Steps, host.RegisteredActivities.Order(StringComparer.Ordinal));

        // What the worker creates per call: every step from AddRecalculation(), as the app registers them. Which steps
        // a run calls is RecalculateCreditTests' (Attribution.Pipeline.Tests): a published run, a scenario and a failure
        // call every step and nothing else.
        using var services = TestServices.Compose(azurite.Storage, s => s.AddSingleton<IRecalculationHistory>(host));
        Assert.All(RecalculationSteps.Activities, t => Assert.IsType(t, services.GetRequiredService(t)));
    }

    [GeneratedRegex("^[A-Z][A-Za-z]+$")]
    private static partial Regex Identifier();

    private static IEnumerable<string> StringConstants(Type type)
    {
        var codes = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (OpCode)f.GetValue(null)!)
            .ToDictionary(o => (ushort)o.Value);
        foreach (var t in new[] { type }.Concat(type.GetNestedTypes(BindingFlags.NonPublic | BindingFlags.Public)))
        foreach (var method in t.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
        {
            var il = method.GetMethodBody()?.GetILAsByteArray();
            if (il is null) continue;
            for (var i = 0; i < il.Length;)
            {
                ushort value = il[i] == 0xFE ? (ushort)(0xFE00 | il[i + 1]) : il[i];
                var code = codes[value];
                i += code.Size;
                if (code == OpCodes.Ldstr) yield return t.Module.ResolveString(BitConverter.ToInt32(il, i));
                i += code.OperandType switch
                {
                    OperandType.InlineNone => 0,
                    OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                    OperandType.InlineVar => 2,
                    OperandType.InlineI8 or OperandType.InlineR => 8,
                    OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                    _ => 4,
                };
            }
        }
    }
}
