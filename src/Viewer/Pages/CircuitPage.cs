using System.Globalization;
using System.Text;
using Microscope.Viewer.Catalogue;
using Microscope.Viewer.Circuits;
using Microsoft.AspNetCore.Http;
using static Microscope.Viewer.Pages.Html;

namespace Microscope.Viewer.Pages;

/// <summary>A unit with its strongest inputs and their strongest inputs (two levels) as one
/// SVG picture: thumbnails link to their units; edges are red (excitatory) or blue
/// (inhibitory), thicker for larger weights.</summary>
public static class CircuitPage
{
    /// <summary>A node of the picture: a unit and its thumbnail (null before it is rendered).</summary>
    public sealed record Node(string Op, int Unit, string Link, string? Thumbnail);

    /// <summary>An edge from an input node to the node it feeds, with its weight.</summary>
    public sealed record Edge(Node From, Node To, double Weight);

    private const int Size = 72, Gap = 16, Column = 260;

    public static IResult Render(ModelVersion m, Node unit, IReadOnlyList<Node> level1, IReadOnlyList<IReadOnlyList<Node>> level2, IReadOnlyList<Edge> edges)
    {
        var rows = Math.Max(1, Math.Max(level1.Count, level2.Sum(l => l.Count)));
        var height = rows * (Size + Gap + 14) + Gap;
        var width = 2 * Column + Size + 2 * Gap;
        var at = new Dictionary<Node, (double X, double Y)>();
        void Place(IReadOnlyList<Node> column, int x)
        {
            var step = (double)height / Math.Max(1, column.Count);
            for (var i = 0; i < column.Count; i++) at.TryAdd(column[i], (x, step * i + (step - Size) / 2));
        }
        Place(level2.SelectMany(l => l).ToList(), Gap);
        Place(level1, Gap + Column);
        Place([unit], Gap + 2 * Column);

        var max = edges.Select(e => Math.Abs(e.Weight)).DefaultIfEmpty(1).Max();
        var s = new StringBuilder();
        s.Append($"<h1>Circuit of {E(m.Name)} / {E(unit.Op)} / unit {unit.Unit}</h1>");
        s.Append($"<p>The unit (right), its strongest inputs (middle) and theirs (left), by the expanded weights of the linearised model; red excites, blue inhibits. <a href=\"{E(unit.Link)}\">Back to the unit</a></p>");
        s.Append($"<svg class=\"circuit\" role=\"img\" aria-label=\"circuit of {E(unit.Op)} unit {unit.Unit}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">");
        foreach (var e in edges)
        {
            if (!at.TryGetValue(e.From, out var a) || !at.TryGetValue(e.To, out var b)) continue;
            var colour = e.Weight >= 0 ? "#c0392b" : "#2e6fd8";
            var stroke = 1 + 5 * Math.Abs(e.Weight) / max;
            s.Append($"<line class=\"edge\" data-weight=\"{N(e.Weight, "0.####")}\" x1=\"{F(a.X + Size)}\" y1=\"{F(a.Y + Size / 2.0)}\" x2=\"{F(b.X)}\" y2=\"{F(b.Y + Size / 2.0)}\" stroke=\"{colour}\" stroke-width=\"{F(stroke)}\"><title>{E(e.From.Op)}:{e.From.Unit} → {E(e.To.Op)}:{e.To.Unit}: {N(e.Weight, "0.####")}</title></line>");
        }
        foreach (var (node, (x, y)) in at)
        {
            s.Append($"<a class=\"circuit-node\" href=\"{E(node.Link)}\" data-op=\"{E(node.Op)}\" data-unit=\"{node.Unit}\">");
            s.Append(node.Thumbnail is { } t
                ? $"<image href=\"{E(t)}\" x=\"{F(x)}\" y=\"{F(y)}\" width=\"{Size}\" height=\"{Size}\"/>"
                : $"<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{Size}\" height=\"{Size}\" fill=\"#ddd\"/>");
            s.Append($"<text x=\"{F(x + Size / 2.0)}\" y=\"{F(y + Size + 12)}\" text-anchor=\"middle\" font-size=\"11\">{E(node.Op)}:{node.Unit}</text></a>");
        }
        s.Append("</svg>");
        var pin = m.IsLatest ? null : m.Version;
        return Page($"circuit {m.Name} {unit.Op} {unit.Unit}", s.ToString(), contextModel: m.Name,
            breadcrumbs: Crumbs(("models", "/"), (m.Name, LinkResolver.Href(new Target(m.Name, null, null), pin)),
                (unit.Op, LinkResolver.Href(new Target(m.Name, unit.Op, null), pin)), (unit.Unit.ToString(CultureInfo.InvariantCulture), unit.Link), ("circuit", null)));
    }

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
}
