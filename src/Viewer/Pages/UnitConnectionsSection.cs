using System.Text;
using Microscope.Viewer.Circuits;
using static Microscope.Viewer.Pages.Html;

namespace Microscope.Viewer.Pages;

/// <summary>The unit page's "Connections" section: per neighbouring op, the strongest positive
/// and negative input (and output) units with thumbnail, weight, link and a heat map of the
/// kernel (red positive, blue negative, scaled to the kernel's largest magnitude).</summary>
public static class UnitConnectionsSection
{
    public static string Render(UnitConnections c)
    {
        var s = new StringBuilder("<section class=\"connections\" aria-labelledby=\"connections-heading\"><h2 id=\"connections-heading\">Connections</h2>");
        s.Append($"<p class=\"muted\">Expanded weights of the linearised model (docs/research.md). <a class=\"circuit-link\" href=\"{E(c.Circuit)}\">Circuit</a> · <a href=\"{E(UnitConnectionsBuilder.ApiHref(c.Model, c.Op, c.Unit))}\">JSON</a></p>");
        if (c.Inputs.Count == 0) s.Append("<p class=\"muted\">This op reads the image directly: no input units.</p>");
        foreach (var group in c.Inputs) Group(s, "inputs", $"from {group.Op}", group);
        foreach (var group in c.Outputs) Group(s, "outputs", $"into {group.Op}", group);
        return s.Append("</section>").ToString();
    }

    public static string Unavailable(string reason) =>
        $"<section class=\"connections\" aria-labelledby=\"connections-heading\"><h2 id=\"connections-heading\">Connections</h2><p class=\"muted\">{E(reason)}</p></section>";

    private static void Group(StringBuilder s, string direction, string title, OpConnections group)
    {
        s.Append($"<div class=\"connection-group\" data-direction=\"{direction}\" data-op=\"{E(group.Op)}\"><h3>{E(direction == "inputs" ? "Inputs" : "Outputs")} {E(title)}</h3>");
        List(s, "positive", group.Positive);
        List(s, "negative", group.Negative);
        s.Append("</div>");
    }

    private static void List(StringBuilder s, string sign, IReadOnlyList<ConnectedUnit> units)
    {
        if (units.Count == 0) return;
        s.Append($"<ul class=\"results connected\" data-sign=\"{sign}\">");
        foreach (var u in units)
        {
            s.Append($"<li data-unit=\"{u.Unit}\"><a href=\"{E(u.Link)}\">");
            s.Append(u.Thumbnail is { } t
                ? $"<img width=\"64\" height=\"64\" src=\"{E(t)}\" alt=\"{E(u.Op)} unit {u.Unit}\">"
                : $"<span class=\"empty\" role=\"img\" aria-label=\"{E(u.Op)} unit {u.Unit}: not rendered yet\"></span>");
            s.Append($"<span>{E(u.Op)}:{u.Unit}</span></a> <span class=\"weight\">{N(u.Weight, "+0.####;-0.####;0")}</span> ").Append(KernelSvg(u.Kernel)).Append("</li>");
        }
        s.Append("</ul>");
    }

    /// <summary>The kernel as a small SVG grid (at most 48 px wide).</summary>
    public static string KernelSvg(float[][] kernel)
    {
        var h = kernel.Length;
        var w = h == 0 ? 0 : kernel[0].Length;
        var max = kernel.SelectMany(r => r).Select(Math.Abs).DefaultIfEmpty(0).Max();
        var cell = Math.Max(2, 48 / Math.Max(1, Math.Max(h, w)));
        var s = new StringBuilder($"<svg class=\"kernel\" role=\"img\" aria-label=\"{h}x{w} kernel\" width=\"{w * cell}\" height=\"{h * cell}\" viewBox=\"0 0 {w * cell} {h * cell}\">");
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var v = max == 0 ? 0 : kernel[y][x] / max;
                var shade = (int)Math.Round(255 * (1 - Math.Abs(v)));
                var colour = v >= 0 ? $"rgb(255,{shade},{shade})" : $"rgb({shade},{shade},255)";
                s.Append($"<rect x=\"{x * cell}\" y=\"{y * cell}\" width=\"{cell}\" height=\"{cell}\" fill=\"{colour}\"><title>{N(kernel[y][x], "0.####")}</title></rect>");
            }
        return s.Append("</svg>").ToString();
    }
}
