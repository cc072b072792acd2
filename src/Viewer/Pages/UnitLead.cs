using System.Text;
using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Engine.Lenses;
using Microscope.Engine.Models;
using Microscope.Viewer.Catalogue;
using static Microscope.Viewer.Pages.Html;

namespace Microscope.Viewer.Pages;

/// <summary>The top of a unit page in the reference's terms: a <em>location</em> (model, op,
/// unit, with previous/next) and a <em>lens</em> (how the unit is looked at: every sweepable lens
/// of the registry, each a link that keeps the location), then the lens's images, large. The
/// details (every lens's section, parameters, connections...) follow below it.</summary>
public static class UnitLead
{
    /// <summary>The lenses offered as tabs: those a sweep can render (not one-off objective renders).</summary>
    public static IReadOnlyList<string> Lenses => LensRegistry.Sweepable.Where(l => l.Pictured).Select(l => l.Name).OrderBy(TechniqueViews.Rank).ToList();

    /// <summary>The lens a page opens with: the first (registry order) the unit has a result of.</summary>
    public static string DefaultLens(IEnumerable<ResultRow> results) =>
        Lenses.FirstOrDefault(l => results.Any(r => r.Technique == l)) ?? TechniqueViews.Default;

    /// <summary>A unit page's link with the lens (null: none named, the page's default).</summary>
    public static string Href(string model, string op, int unit, string? pin, string? lens)
    {
        var href = LinkResolver.Href(new Target(model, op, unit), pin);
        return lens is null ? href : href + (pin is null ? "?" : "&") + "lens=" + Uri.EscapeDataString(lens);
    }

    /// <param name="lensAsked">the link's lens, kept by previous/next (null when the link names none)</param>
    /// <param name="shown">the newest result of <paramref name="lens"/> here: the unit's, or the op's for an op-level lens</param>
    public static string Render(ModelVersion m, OpInfo op, int unit, string lens, string? lensAsked, ResultRow? shown,
        IReadOnlyDictionary<string, RenderSettings> parameters, ISet<string> have)
    {
        var d = m.Descriptor;
        var pin = m.IsLatest ? null : m.Version;
        var s = new StringBuilder();
        s.Append("<nav class=\"location\" aria-label=\"location\"><span class=\"muted\">location</span> ")
            .Append($"<a href=\"{E(LinkResolver.Href(new Target(d.Name, null, null), pin))}\">{E(d.Name)}</a> › ")
            .Append($"<a href=\"{E(OpHref(d.Name, op.Name, pin, have.Contains(lens) ? lens : null))}\">{E(op.Name)}</a> › <strong>unit {unit}</strong> ");
        if (unit > 0) s.Append($"<a rel=\"prev\" href=\"{E(Href(d.Name, op.Name, unit - 1, pin, lensAsked))}\">← unit {unit - 1}</a> ");
        if (unit < op.Channels - 1) s.Append($"<a rel=\"next\" href=\"{E(Href(d.Name, op.Name, unit + 1, pin, lensAsked))}\">unit {unit + 1} →</a> ");
        s.Append($"<span class=\"muted\">(keys <kbd>←</kbd> <kbd>→</kbd>; all {op.Channels} units of {E(op.Name)} in the op's grid)</span></nav>");

        s.Append("<nav class=\"lenses\" aria-label=\"lens\"><span class=\"muted\">lens</span> ");
        foreach (var l in Lenses)
        {
            var attrs = (l == lens ? " aria-current=\"page\"" : "") + (have.Contains(l) ? "" : " class=\"none\" title=\"nothing rendered yet\"");
            s.Append($"<a href=\"{E(Href(d.Name, op.Name, unit, pin, l))}\" data-lens=\"{E(l)}\"{attrs}>{E(l.Replace('_', ' '))}</a> ");
        }
        s.Append("</nav>");

        s.Append($"<section class=\"lead\" data-lens=\"{E(lens)}\" aria-label=\"{E(lens.Replace('_', ' '))}\">");
        if (shown is null)
            s.Append($"<p class=\"no-lens-result\">No {E(lens.Replace('_', ' '))} result for {(TechniqueViews.IsOpLevel(lens) ? $"the op {E(op.Name)}" : "this unit")} yet: a sweep or the re-render form below makes one.</p>");
        else
        {
            var images = TechniqueViews.ImagesOf(shown, parameters.GetValueOrDefault(shown.ParamsHash));
            var opLevel = TechniqueViews.IsOpLevel(lens);
            s.Append($"<ul class=\"lead-images{(images.Count > 1 ? " many" : "")}\">");
            foreach (var img in images)
                s.Append($"<li><img src=\"{E(ObjectUrl(img.Key, img.Revision))}\" alt=\"{E(TechniqueViews.Alt(d.Name, op.Name, opLevel ? null : unit, lens, img.Caption))}\" onerror=\"this.closest('li').hidden=true\">")
                    .Append(images.Count > 1 ? $"<span class=\"muted\">{E(img.Caption)}</span>" : "").Append("</li>");
            s.Append("</ul><p class=\"muted\">")
                .Append(opLevel ? $"{E(lens.Replace('_', ' '))} of the whole op {E(op.Name)}; " : "")
                .Append($"objective {N(shown.ObjectiveStart)} → {N(shown.ObjectiveEnd)}; parameters <code>{E(shown.ParamsHash)}</code>")
                .Append(opLevel ? "" : $"; <a href=\"#lens-{E(lens)}\">details below</a>").Append(".</p>");
        }
        return s.Append("</section>").ToString();
    }

    /// <summary>The op's grid, showing the lens when the unit (so the op) has a result of it.</summary>
    private static string OpHref(string model, string op, string? pin, string? lens)
    {
        var href = LinkResolver.Href(new Target(model, op, null), pin);
        return lens is null || lens == TechniqueViews.Default || TechniqueViews.IsOpLevel(lens) ? href : href + (pin is null ? "?" : "&") + "technique=" + Uri.EscapeDataString(lens);
    }
}
