using System.Text;
using Microscope.Engine.Models;
using Microscope.Viewer.Catalogue;
using static Microscope.Viewer.Pages.Html;

namespace Microscope.Viewer.Pages;

/// <summary>The op graph as a layered SVG drawn on the server: an op's layer is one more
/// than its deepest input's, layers are rows, every node links to its op page.</summary>
public static class OpGraphSvg
{
    private const int NodeWidth = 124, NodeHeight = 26, ColumnGap = 12, RowGap = 30, Margin = 10;

    public static string Render(ModelDescriptor d, string? pinnedVersion)
    {
        var layer = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var op in d.Ops)
            layer[op.Name] = op.Inputs.Select(i => layer.TryGetValue(i, out var l) ? l + 1 : 0).DefaultIfEmpty(0).Max();
        var rows = d.Ops.GroupBy(o => layer[o.Name]).OrderBy(g => g.Key).Select(g => g.ToList()).ToList();
        var widest = rows.Max(r => r.Count);
        var width = Margin * 2 + widest * (NodeWidth + ColumnGap);
        var height = Margin * 2 + rows.Count * (NodeHeight + RowGap);
        var position = new Dictionary<string, (int X, int Y)>(StringComparer.Ordinal);
        for (var r = 0; r < rows.Count; r++)
        {
            var rowWidth = rows[r].Count * (NodeWidth + ColumnGap);
            var x0 = Margin + (width - 2 * Margin - rowWidth) / 2;
            for (var i = 0; i < rows[r].Count; i++)
                position[rows[r][i].Name] = (x0 + i * (NodeWidth + ColumnGap), Margin + r * (NodeHeight + RowGap));
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
                    s.Append($"<line x1=\"{from.X + NodeWidth / 2}\" y1=\"{from.Y + NodeHeight}\" x2=\"{to.X + NodeWidth / 2}\" y2=\"{to.Y}\"/>");
                }
        s.Append("</g>");
        foreach (var op in d.Ops)
        {
            var (x, y) = position[op.Name];
            var href = LinkResolver.Href(new Target(d.Name, op.Name, null), pinnedVersion);
            s.Append($"<a href=\"{E(href)}\" class=\"node\" data-op=\"{E(op.Name)}\"><title>{E(op.Name)}: {op.Channels} channels, {op.Height}x{op.Width}</title>")
                .Append($"<rect x=\"{x}\" y=\"{y}\" width=\"{NodeWidth}\" height=\"{NodeHeight}\" rx=\"4\" fill=\"{(op.InSweep ? "#dbe9f7" : "#eee")}\" stroke=\"#0b5cad\"/>")
                .Append($"<text x=\"{x + NodeWidth / 2}\" y=\"{y + 17}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#111\">{E(op.Name)} ({op.Channels})</text></a>");
        }
        s.Append("</svg>");
        return s.ToString();
    }
}
