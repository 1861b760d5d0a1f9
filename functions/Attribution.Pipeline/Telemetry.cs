using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Attribution.Pipeline;

/// <summary>
/// The domain's traces and metrics, by name, so a host can export them (the function app sends them to Application
/// Insights through OpenTelemetry); without a listener they cost next to nothing.
/// </summary>
public static class Telemetry
{
    public const string Name = "Attribution";

    public static readonly ActivitySource Source = new(Name);

    internal static readonly Meter Meter = new(Name);
}
