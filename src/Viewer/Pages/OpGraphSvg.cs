using System.Text;
using Microscope.Engine.Models;
using Microscope.Viewer.Catalogue;
using static Microscope.Viewer.Pages.Html;

namespace Microscope.Viewer.Pages;

/// <summary>The op graph as a layered SVG drawn on the server: an op's layer is one more
/// than its deepest input's, layers are rows, every node links to its op page.</summary>
public static class OpGraphSvg
{
    private const int NodeWidth = 160, LabelHeight = 26, ColumnGap = 12, RowGap = 30, Margin = 10;
    /// <summary>The strip under each label: up to <see cref="StripUnits"/> thumbnails of its units.</summary>
    public const int StripUnits = 4;
    private const int Thumb = 36, ThumbGap = 4, StripHeight = Thumb + 4;

    /// <param name="strips">per op, the units whose (channel) images the op's box shows, and their
    /// image keys; none: label-only boxes</param>
    public static string Render(ModelDescriptor d, string? pinnedVersion, IReadOnlyDictionary<string, IReadOnlyList<(int Unit, string Key, long Revision)>>? strips = null)
    {
        var withStrips = strips is { Count: > 0 };
        var nodeHeight = LabelHeight + (withStrips ? StripHeight : 0);
        var layer = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var op in d.Ops)
            layer[op.Name] = op.Inputs.Select(i => layer.TryGetValue(i, out var l) ? l + 1 : 0).DefaultIfEmpty(0).Max();
        var rows = d.Ops.GroupBy(o => layer[o.Name]).OrderBy(g => g.Key).Select(g => g.ToList()).ToList();
        var widest = rows.Max(r => r.Count);
        var width = Margin * 2 + widest * (NodeWidth + ColumnGap);
        var height = Margin * 2 + rows.Count * (nodeHeight + RowGap);
        var position = new Dictionary<string, (int X, int Y)>(StringComparer.Ordinal);
        for (var r = 0; r < rows.Count; r++)
        {
            var rowWidth = rows[r].Count * (NodeWidth + ColumnGap);
            var x0 = Margin + (width - 2 * Margin - rowWidth) / 2;
            for (var i = 0; i < rows[r].Count; i++)
                position[rows[r][i].Name] = (x0 + i * (NodeWidth + ColumnGap), Margin + r * (nodeHeight + RowGap));
        }
        var s = new StringBuilder();
        s.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"graph-title\">")
            .Append($"<title id=\"graph-title\">Op graph of {E(d.Name)}: {d.Ops.Count} ops</title>");
        s.Append("<g stroke=\"#888\" fill=\"none\">");
        foreach (var op in d.Ops)
            foreach (var input in op.Inputs)
                if (position.TryGetValue(input, out var from))
                {
                    var to = position[op.Name];
                    s.Append($"<line x1=\"{from.X + NodeWidth / 2}\" y1=\"{from.Y + nodeHeight}\" x2=\"{to.X + NodeWidth / 2}\" y2=\"{to.Y}\"/>");
                }
        s.Append("</g>");
        foreach (var op in d.Ops)
        {
            var (x, y) = position[op.Name];
            var href = LinkResolver.Href(new Target(d.Name, op.Name, null), pinnedVersion);
            s.Append($"<a href=\"{E(href)}\" class=\"node\" data-op=\"{E(op.Name)}\"><title>{E(op.Name)}: {op.Channels} channels, {op.Height}x{op.Width}</title>")
                .Append($"<rect x=\"{x}\" y=\"{y}\" width=\"{NodeWidth}\" height=\"{nodeHeight}\" rx=\"4\" fill=\"{(op.InSweep ? "#dbe9f7" : "#eee")}\" stroke=\"#0b5cad\"/>")
                .Append($"<text x=\"{x + NodeWidth / 2}\" y=\"{y + 17}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#111\">{E(op.Name)} ({op.Channels})</text>");
            if (withStrips)
            {
                var units = strips!.GetValueOrDefault(op.Name) ?? [];
                s.Append($"<g class=\"strip\" data-units=\"{units.Count}\">");
                for (var i = 0; i < StripUnits; i++)
                {
                    var tx = x + 2 + i * (Thumb + ThumbGap);
                    var ty = y + LabelHeight;
                    // An empty slot where the op has fewer rendered units than the strip holds.
                    if (i >= units.Count) { s.Append($"<rect x=\"{tx}\" y=\"{ty}\" width=\"{Thumb}\" height=\"{Thumb}\" fill=\"#8882\"/>"); continue; }
                    var (unit, key, revision) = units[i];
                    s.Append($"<image href=\"{E(ObjectUrl(key, revision))}\" x=\"{tx}\" y=\"{ty}\" width=\"{Thumb}\" height=\"{Thumb}\" data-unit=\"{unit}\" preserveAspectRatio=\"xMidYMid slice\"><title>{E(op.Name)} unit {unit}</title></image>");
                }
                s.Append("</g>");
            }
            s.Append("</a>");
        }
        s.Append("</svg>");
        return s.ToString();
    }
}
