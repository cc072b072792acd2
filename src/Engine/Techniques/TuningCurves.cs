using System.Globalization;
using System.Text;
using Microscope.Engine.Demo;
using Microscope.Engine.Models;
using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Techniques;

/// <summary>A family of synthetic images indexed by one parameter. Each value may have
/// several variants (grating phases) whose responses are averaged, so a curve shows the
/// parameter's effect rather than where the stripes happen to fall.</summary>
public sealed record TuningFamily(string Name, string Parameter, string AxisUnit, IReadOnlyList<double> Values, Func<double, int, IReadOnlyList<float[]>> Images)
{
    private static readonly double[] Phases = [0, Math.PI / 2, Math.PI, 3 * Math.PI / 2];

    public static TuningFamily Orientation { get; } = new("orientation", "grating orientation", "degrees",
        Range(0, 180, 5), (v, size) => Phases.Select(p => ProceduralImages.Grating(size, v, 6, p)).ToList());
    public static TuningFamily CurveOrientation { get; } = new("curve", "curve orientation", "degrees",
        Range(0, 360, 10), (v, size) => [ProceduralImages.Curve(size, v)]);
    public static TuningFamily Hue { get; } = new("hue", "hue", "degrees",
        Range(0, 360, 10), (v, size) => [ProceduralImages.HueBlob(size, v)]);
    public static TuningFamily Frequency { get; } = new("frequency", "spatial frequency", "cycles per image",
        Range(1, 17, 1), (v, size) => Phases.Select(p => ProceduralImages.Grating(size, 0, v, p)).ToList());

    public static IReadOnlyList<TuningFamily> All { get; } = [Orientation, CurveOrientation, Hue, Frequency];

    private static double[] Range(double from, double toExclusive, double step) =>
        Enumerable.Range(0, (int)Math.Round((toExclusive - from) / step)).Select(i => from + i * step).ToArray();
}

/// <summary>One unit's response (channel activation, spatial mean) against a family's parameter.</summary>
public sealed record TuningCurve(string Family, string Parameter, string AxisUnit, IReadOnlyList<double> Values, IReadOnlyList<double> Responses)
{
    public double PeakValue => Values[Responses.Select((r, i) => (r, i)).MaxBy(x => x.r).i];
}

public static class TuningCurves
{
    /// <summary>Every unit's curve for each family: one forward per family member serves
    /// every unit of the op. Result: [unit][family].</summary>
    public static IReadOnlyList<IReadOnlyList<TuningCurve>> Run(VisionModel model, string op, IReadOnlyList<TuningFamily>? families = null,
        IProgress<int>? progress = null, CancellationToken cancel = default)
    {
        op = model.ResolveOp(op);
        families ??= TuningFamily.All;
        var size = model.InputSize;
        var perFamily = new List<double[][]>(); // [family][value][unit]
        var done = 0;
        foreach (var family in families)
        {
            var rows = new double[family.Values.Count][];
            for (var v = 0; v < family.Values.Count; v++)
            {
                cancel.ThrowIfCancellationRequested();
                rows[v] = MeanResponse(model, op, family.Images(family.Values[v], size), size);
                progress?.Report(++done);
            }
            perFamily.Add(rows);
        }
        var units = perFamily[0][0].Length;
        return Enumerable.Range(0, units).Select(u => (IReadOnlyList<TuningCurve>)families.Select((f, fi) =>
            new TuningCurve(f.Name, f.Parameter, f.AxisUnit, f.Values, perFamily[fi].Select(row => row[u]).ToArray())).ToList()).ToList();
    }

    private static double[] MeanResponse(VisionModel model, string op, IReadOnlyList<float[]> images, int size)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var batch = torch.tensor(images.SelectMany(i => i).ToArray(), [images.Count, 3, size, size], model.Device);
        var act = model.Forward(model.Preprocessing.Apply(batch), op);
        var perImage = act.dim() == 2 ? act : act.mean([2, 3]);
        return perImage.mean([0]).cpu().data<float>().Select(v => (double)v).ToArray();
    }

    /// <summary>An SVG line plot of one or more curves of a unit, with labelled axes.</summary>
    public static string Svg(TuningCurve curve, string title)
    {
        const int width = 360, height = 240, left = 56, right = 12, top = 28, bottom = 44;
        var inv = CultureInfo.InvariantCulture;
        var (xMin, xMax) = (curve.Values[0], curve.Values[^1]);
        var (yMin, yMax) = (Math.Min(0, curve.Responses.Min()), curve.Responses.Max());
        if (yMax - yMin < 1e-9) yMax = yMin + 1;
        double X(double v) => left + (v - xMin) / Math.Max(1e-9, xMax - xMin) * (width - left - right);
        double Y(double r) => height - bottom - (r - yMin) / (yMax - yMin) * (height - top - bottom);
        var points = string.Join(" ", curve.Values.Zip(curve.Responses, (v, r) => string.Format(inv, "{0:F1},{1:F1}", X(v), Y(r))));
        var sb = new StringBuilder();
        sb.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.Append($"<title>{Escape(title)}</title><rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        sb.Append(inv, $"<text x=\"{width / 2}\" y=\"16\" text-anchor=\"middle\" font-size=\"12\">{Escape(title)}</text>");
        sb.Append(inv, $"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" stroke=\"black\"/>");
        sb.Append(inv, $"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"black\"/>");
        foreach (var tick in Ticks(xMin, xMax))
            sb.Append(inv, $"<text x=\"{X(tick):F1}\" y=\"{height - bottom + 14}\" text-anchor=\"middle\">{tick:G4}</text>");
        foreach (var tick in Ticks(yMin, yMax))
            sb.Append(inv, $"<text x=\"{left - 4}\" y=\"{Y(tick) + 4:F1}\" text-anchor=\"end\">{tick:G3}</text>");
        sb.Append(inv, $"<text x=\"{(left + width - right) / 2}\" y=\"{height - 8}\" text-anchor=\"middle\">{Escape(curve.Parameter)} ({Escape(curve.AxisUnit)})</text>");
        sb.Append(inv, $"<text x=\"14\" y=\"{(top + height - bottom) / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {(top + height - bottom) / 2})\">activation</text>");
        sb.Append($"<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{points}\"/>");
        sb.Append("</svg>");
        return sb.ToString();
    }

    private static IEnumerable<double> Ticks(double min, double max)
    {
        var step = Math.Pow(10, Math.Floor(Math.Log10((max - min) / 4)));
        foreach (var m in new[] { 1, 2, 5, 10 })
            if ((max - min) / (step * m) <= 6) { step *= m; break; }
        for (var t = Math.Ceiling(min / step) * step; t <= max + 1e-9; t += step) yield return Math.Round(t, 10);
    }

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
