using System.Text.RegularExpressions;
using ScottPlot;

namespace Attribution.Cli.Report;

/// <summary>The report's charts, drawn by ScottPlot and exported as SVG to inline in the page.</summary>
internal static partial class ReportCharts
{
    private const int Width = 900;
    private const int Height = 360;

    // One colour per level rank (None, then the rules' levels upward); past the list, the last.
    private static readonly string[] LevelColours = ["#cbd5e1", "#94a3b8", "#f59e0b", "#2563eb", "#7c3aed"];

    public static string LevelColour(int rank, int levels) =>
        rank == 0 ? LevelColours[0]
        : levels == 3 && rank == 2 ? LevelColours[2] // the default Silver/Gold: gold reads as gold
        : LevelColours[Math.Min(rank, LevelColours.Length - 1)];

    /// <summary>Partners per level, grouped by competency.</summary>
    public static string LevelCounts(CreditReport report)
    {
        var plot = new Plot();
        var maxLevels = report.Competencies.Max(c => report.LevelsOf[c].Count);
        var width = 0.8 / maxLevels;
        var ticks = new List<(double, string)>();
        var legend = new Dictionary<string, Color>(StringComparer.Ordinal);
        for (var i = 0; i < report.Competencies.Count; i++)
        {
            var competency = report.Competencies[i];
            var levels = report.LevelsOf[competency];
            for (var r = 0; r < levels.Count; r++)
            {
                var colour = Color.FromHex(LevelColour(r, levels.Count));
                var count = report.LevelCounts[competency][levels[r]];
                plot.Add.Bar(new Bar
                {
                    Position = i + (r - (levels.Count - 1) / 2.0) * width,
                    Value = count,
                    Size = width * 0.9,
                    FillColor = colour,
                    Label = count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
                legend.TryAdd(levels[r], colour);
            }
            ticks.Add((i, competency));
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks.Select(t => t.Item1)], [.. ticks.Select(t => t.Item2)]);
        plot.Axes.Margins(bottom: 0);
        plot.YLabel("partners");
        plot.Title($"Partners per level, {report.AsOf}");
        foreach (var (name, colour) in legend) plot.Legend.ManualItems.Add(new LegendItem { LabelText = name, FillColor = colour });
        plot.ShowLegend(Alignment.UpperRight);
        return Svg(plot);
    }

    /// <summary>ACR by where it came from: the three DPOR buckets, then each source's rows (overlapping).</summary>
    public static string Origin(CreditReport report)
    {
        var o = report.Origin;
        var plot = new Plot();
        var bars = new List<(string Label, double Value, string Colour)>
        {
            ("DPOR only", o.DporOnlyAcr, "#94a3b8"),
            ("DPOR + other", o.MixedAcr, "#60a5fa"),
            ("non-DPOR only", o.NonDporOnlyAcr, "#16a34a"),
        };
        bars.AddRange(o.BySource.Select(s => (s.Source, s.AcrUsdTtm, s.Source == "dpor" ? "#64748b" : "#f59e0b")));
        for (var i = 0; i < bars.Count; i++)
            plot.Add.Bar(new Bar { Position = i, Value = bars[i].Value, FillColor = Color.FromHex(bars[i].Colour), Size = 0.7 });
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. Enumerable.Range(0, bars.Count).Select(i => (double)i)], [.. bars.Select(b => b.Label)]);
        plot.Axes.Margins(bottom: 0);
        plot.YLabel("ACR USD TTM");
        plot.Title("Credited ACR: by DPOR bucket (left), by each source named (right, overlapping)");
        return Svg(plot);
    }

    /// <summary>One line per top partner over the published months.</summary>
    public static string Monthly(CreditReport report, Func<MonthFigures, double> value, string what)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var xs = Enumerable.Range(0, report.Months.Count).Select(i => (double)i).ToArray();
        for (var i = 0; i < report.Monthly.Count; i++)
        {
            var p = report.Monthly[i];
            var points = p.Months.Select((f, k) => (f, k)).Where(t => t.f is not null).ToList();
            var line = plot.Add.Scatter(points.Select(t => xs[t.k]).ToArray(), points.Select(t => value(t.f!)).ToArray());
            line.LegendText = p.Name is null ? p.PartnerId : $"{p.PartnerId} {p.Name}";
            line.Color = palette.GetColor(i);
            line.LineWidth = 2;
            line.MarkerSize = 6;
        }
        // Months as the page names them (yyyy-MM), one tick each.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(xs, [.. report.Months.Select(m => m.ToString())]);
        if (xs.Length == 1) plot.Axes.SetLimitsX(-1, 1);
        plot.YLabel(what);
        plot.Title($"{what}, month by month (top {report.Monthly.Count} partners)");
        plot.ShowLegend(Edge.Right);
        return Svg(plot);
    }

    /// <summary>A designation's scored partners per 10-point bucket, bars at or above its bar in the qualified colour, and the bar itself as a dashed line.</summary>
    public static string ScoreHistogram(ReportDesignation designation, Attribution.Domain.YearMonth asOf)
    {
        var plot = new Plot();
        var counts = designation.Histogram();
        for (var i = 0; i < counts.Length; i++)
        {
            plot.Add.Bar(new Bar
            {
                Position = i * 10 + 5,
                Value = counts[i],
                Size = 9,
                FillColor = Color.FromHex(i * 10 >= designation.QualifyingPoints ? "#16a34a" : "#94a3b8"),
                Label = counts[i] == 0 ? "" : counts[i].ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        }
        var bar = plot.Add.VerticalLine(designation.QualifyingPoints, 2, Color.FromHex("#b91c1c"), LinePattern.Dashed);
        bar.LabelText = "qualifies at " + designation.QualifyingPoints.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, counts.Length + 1).Select(i => i * 10.0)], [.. Enumerable.Range(0, counts.Length + 1).Select(i => (i * 10).ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        // Fixed axes: the whole 0–100 range even when every score is low, room above the tallest bar for its label.
        plot.Axes.SetLimits(0, 100, 0, Math.Max(1, counts.Max()) * 1.2);
        plot.XLabel("score (points)");
        plot.YLabel("global partners");
        plot.Title($"{designation.Designation}: partners per score, {asOf}");
        return Svg(plot, 280);
    }

    /// <summary>
    /// The SVG to inline in HTML: an HTML parser puts &lt;svg&gt; in the SVG namespace itself, so the namespace
    /// declarations (the page's only URLs) are dropped; the XML prolog has no place inside HTML.
    /// </summary>
    private static string Svg(Plot plot, int height = Height)
    {
        var svg = plot.GetSvgXml(Width, height);
        svg = XmlProlog().Replace(svg, "");
        svg = Namespace().Replace(svg, "");
        // The charts share one document: their clip-path ids get a prefix of their own so no chart clips by another's.
        var prefix = "chart" + Interlocked.Increment(ref _charts).ToString(System.Globalization.CultureInfo.InvariantCulture) + "-";
        svg = LocalReference().Replace(svg, m => m.Groups[1].Value + prefix + m.Groups[2].Value);
        return svg.Trim();
    }

    private static int _charts;

    [GeneratedRegex(@"(\bid=""|url\(#|href=""#)([^""\)]+)")]
    private static partial Regex LocalReference();

    [GeneratedRegex(@"<\?xml[^>]*\?>")]
    private static partial Regex XmlProlog();

    [GeneratedRegex(@"\s+xmlns(:\w+)?=""[^""]*""")]
    private static partial Regex Namespace();
}
