using System.Globalization;
using System.Text;
using System.Text.Json;
using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Engine.Models;
using Microscope.Viewer.Catalogue;
using Microsoft.AspNetCore.Http;
using static Microscope.Viewer.Pages.Html;

namespace Microscope.Viewer.Pages;

/// <summary>The browsing pages: models, one model (graph and ops), one op (grid of units),
/// one unit (everything about it, and the re-render form).</summary>
public static class CataloguePages
{
    private static string? Pin(ModelVersion m) => m.IsLatest ? null : m.Version;

    /// <summary>The technique the op graph's strips show.</summary>
    public const string StripTechnique = "channel";

    public static IResult Index(IReadOnlyList<ModelVersion> models, IReadOnlyDictionary<(string Model, string Version), IReadOnlyDictionary<string, int>> counts,
        IReadOnlyDictionary<(string Model, string Version), ResultRow>? pictures = null)
    {
        var s = new StringBuilder("<h1>Models</h1>");
        if (models.Count == 0)
        {
            s.Append("<p class=\"empty-catalogue\">No model is registered yet: start a sweep (<code>microscope sweep --model demo</code>) and it appears here.</p>");
            return Page("Models", s.ToString());
        }
        // A picture per model: the unit it renders most strongly, linking to that unit.
        s.Append("<ul class=\"gallery\">");
        foreach (var m in models)
        {
            var d = m.Descriptor;
            var c = counts.GetValueOrDefault((m.Name, m.Version)) ?? new Dictionary<string, int>();
            var rendered = c.GetValueOrDefault("channel");
            var coverage = d.UnitCount == 0 ? 0 : 100.0 * rendered / d.UnitCount;
            s.Append($"<li data-model=\"{E(m.Name)}\">");
            if (pictures?.GetValueOrDefault((m.Name, m.Version)) is { } r)
            {
                var href = LinkResolver.Href(new Target(m.Name, r.Op, r.Unit));
                s.Append($"<a href=\"{E(href)}\" class=\"picture\"><img loading=\"lazy\" src=\"{E(ObjectUrl(r.ImageKey))}\" alt=\"{E($"channel visualisation of {m.Name} {r.Op} unit {r.Unit}")}\" onerror=\"this.hidden=true\"></a>");
            }
            else s.Append("<span class=\"picture empty\" aria-hidden=\"true\"></span>");
            s.Append($"<a href=\"{E(LinkResolver.Href(new Target(m.Name, null, null)))}\" class=\"name\">{E(m.Name)}</a>")
                .Append($"<span class=\"muted\">{E(d.Dataset)} · {N(rendered)} of {N(d.UnitCount)} units ({coverage.ToString("F0", CultureInfo.InvariantCulture)} %)</span></li>");
        }
        s.Append("</ul>");
        s.Append("<table class=\"models\"><thead><tr><th scope=\"col\">model</th><th scope=\"col\">version</th><th scope=\"col\">dataset</th>")
            .Append("<th scope=\"col\" class=\"num\">ops</th><th scope=\"col\" class=\"num\">units</th><th scope=\"col\">rendered (per technique)</th></tr></thead><tbody>");
        foreach (var m in models)
        {
            var d = m.Descriptor;
            var c = counts.GetValueOrDefault((m.Name, m.Version)) ?? new Dictionary<string, int>();
            s.Append($"<tr data-model=\"{E(m.Name)}\"><th scope=\"row\"><a href=\"{E(LinkResolver.Href(new Target(m.Name, null, null)))}\">{E(m.Name)}</a></th>")
                .Append($"<td><code>{E(m.Version)}</code></td><td>{E(d.Dataset)}</td><td class=\"num\">{d.Ops.Count}</td><td class=\"num\">{N(d.UnitCount)}</td><td>");
            if (c.Count == 0) s.Append("<span class=\"muted\">nothing yet</span>");
            foreach (var (technique, count) in c.OrderBy(x => TechniqueViews.Rank(x.Key)))
            {
                var total = TechniqueViews.IsOpLevel(technique) ? d.Ops.Count(o => o.InSweep) : d.UnitCount;
                s.Append(Progress(technique, count, total)).Append("<br>");
            }
            s.Append("</td></tr>");
        }
        s.Append("</tbody></table>");
        return Page("Models", s.ToString());
    }

    public static string Progress(string label, long done, long total)
    {
        var pct = total == 0 ? 0 : Math.Min(100.0, 100.0 * done / total);
        return $"<span class=\"progress\" data-technique=\"{E(label)}\" data-done=\"{done}\" data-total=\"{total}\">{E(label)}: {N(done)} / {N(total)} " +
               $"<span class=\"bar\" role=\"presentation\"><span style=\"width:{N(pct, "0.#")}%\"></span></span> {N(pct, "0.#")}%</span>";
    }

    public static IResult Model(ModelVersion m, IReadOnlyList<Coverage> coverage, IReadOnlyDictionary<string, IReadOnlyList<(int Unit, GridCell Cell)>>? strips = null)
    {
        var d = m.Descriptor;
        var pin = Pin(m);
        var techniques = coverage.Select(c => c.Technique).Distinct().OrderBy(TechniqueViews.Rank).ThenBy(t => t, StringComparer.Ordinal).ToList();
        var byOp = coverage.ToLookup(c => c.Op);
        var s = new StringBuilder();
        s.Append($"<h1>{E(d.Name)}</h1><p>Version <code>{E(m.Version)}</code>{(m.IsLatest ? " (latest)" : "")}; trained on {E(d.Dataset)}; {(d.Latent is { } latent ? $"a generator: input {E(latent.Describe())} ({d.InputSize} px), renders optimise the latent" : $"input {d.InputSize} px")}; ")
            .Append($"{N(d.ParameterCount)} parameters; {d.Ops.Count} ops; {N(d.UnitCount)} units in the sweep. <a class=\"objectives-link\" href=\"{E(Objectives.ObjectiveCatalogue.ListHref(d.Name, pin))}\">Objective renders</a>.</p>");
        if (m.AllVersions.Count > 1)
        {
            s.Append("<p>Versions: ");
            s.AppendJoin(", ", m.AllVersions.Select(v => v == m.Version ? $"<strong>{E(v)}</strong>" : $"<a href=\"/models/{E(Uri.EscapeDataString(d.Name))}?v={E(Uri.EscapeDataString(v))}\">{E(v)}</a>"));
            s.Append("</p>");
        }
        // Each op's box shows its first units' channel thumbnails (ObjectKeys.Thumbnail).
        var strip = strips?.ToDictionary(x => x.Key, x => (IReadOnlyList<(int, string, long)>)x.Value.Select(u =>
        {
            var key = TechniqueViews.GridImageKey(d.Name, m.Version, x.Key, u.Unit, StripTechnique, u.Cell.ParamsHash);
            return (u.Unit, Contracts.ObjectKeys.Thumbnail(key) ?? key, u.Cell.RenderedAt);
        }).ToList(), StringComparer.Ordinal);
        s.Append("<h2>Op graph</h2><div class=\"graph\">").Append(OpGraphSvg.Render(d, pin, strip)).Append("</div>");
        s.Append("<h2>Ops</h2><table class=\"ops\"><thead><tr><th scope=\"col\">op</th><th scope=\"col\" class=\"num\">channels</th><th scope=\"col\">size</th><th scope=\"col\">inputs</th>");
        foreach (var t in techniques) s.Append($"<th scope=\"col\">{E(t)}</th>");
        s.Append("</tr></thead><tbody>");
        foreach (var op in d.Ops)
        {
            s.Append($"<tr data-op=\"{E(op.Name)}\"><th scope=\"row\"><a href=\"{E(LinkResolver.Href(new Target(d.Name, op.Name, null), pin))}\">{E(op.Name)}</a>{(op.InSweep ? "" : " <span class=\"muted\">(outside the sweep)</span>")}</th>")
                .Append($"<td class=\"num\">{op.Channels}</td><td>{op.Height}×{op.Width}</td><td>{E(string.Join(", ", op.Inputs))}</td>");
            foreach (var t in techniques)
            {
                var units = byOp[op.Name].FirstOrDefault(c => c.Technique == t)?.Units ?? 0;
                var total = TechniqueViews.IsOpLevel(t) ? 1 : op.Channels;
                s.Append($"<td class=\"coverage\" data-technique=\"{E(t)}\">{(units == 0 ? "<span class=\"muted\">–</span>" : $"{units}/{total}")}</td>");
            }
            s.Append("</tr>");
        }
        s.Append("</tbody></table>");
        return Page(d.Name, s.ToString(), contextModel: d.Name, breadcrumbs: Crumbs(("models", "/"), (d.Name, null)));
    }

    public static IResult Op(ModelVersion m, OpInfo op, string technique, IReadOnlyList<string> techniques, OpGrid grid, IReadOnlyList<ResultRow> opLevel,
        IReadOnlyDictionary<string, RenderSettings> parameters)
    {
        var d = m.Descriptor;
        var pin = Pin(m);
        var opHref = LinkResolver.Href(new Target(d.Name, op.Name, null), null);
        var s = new StringBuilder();
        s.Append($"<h1>{E(d.Name)} / {E(op.Name)}</h1><p>{op.Channels} units; {op.Height}×{op.Width}; inputs {E(string.Join(", ", op.Inputs))}. Version <code>{E(m.Version)}</code>.</p>");
        if (opLevel.Count > 0)
        {
            s.Append("<h2>The whole op</h2><ul class=\"results op-level\">");
            foreach (var r in opLevel)
                foreach (var img in TechniqueViews.ImagesOf(r, parameters.GetValueOrDefault(r.ParamsHash)))
                    s.Append(Figure(img, TechniqueViews.Alt(d.Name, op.Name, null, r.Technique, img.Caption), $"{r.Technique} · {img.Caption} · parameters {r.ParamsHash}"));
            s.Append("</ul>");
        }
        s.Append("<h2 id=\"units-heading\">Units</h2><nav class=\"tabs\" aria-label=\"technique\">");
        foreach (var t in techniques)
        {
            var href = $"{opHref}?technique={Uri.EscapeDataString(t)}" + (pin is null ? "" : $"&v={Uri.EscapeDataString(pin)}");
            s.Append(t == technique ? $"<a href=\"{E(href)}\" aria-current=\"page\">{E(t)}</a> " : $"<a href=\"{E(href)}\">{E(t)}</a> ");
        }
        s.Append("</nav>");
        s.Append($"<p>{grid.Cells.Count} of {op.Channels} units have a {E(technique)} result")
            .Append(grid.Main is null ? "." : $"; shown with parameters <code>{E(grid.Main)}</code> where rendered with them.")
            .Append($"</p><ul class=\"grid\" aria-labelledby=\"units-heading\" data-technique=\"{E(technique)}\">");
        // Thousands of cells: the parts every cell shares are escaped once (same links as
        // LinkResolver.Href, same URLs as ObjectUrl of TechniqueViews.GridImageKey).
        var unitStem = E(LinkResolver.Href(new Target(d.Name, op.Name, null))) + "/";
        var pinQuery = pin is null ? "" : E("?v=" + Uri.EscapeDataString(pin));
        var objectStem = E(ObjectUrl($"{d.Name}/{m.Version}/{op.Name}")) + "/";
        var techniqueSegment = "/" + E(Uri.EscapeDataString(technique)) + "/";
        var suffix = TechniqueViews.GridSuffix(technique);
        var thumbSuffix = Contracts.ObjectKeys.Thumbnail(suffix);
        var alt = E(TechniqueViews.Alt(d.Name, op.Name, null, technique)) + " unit ";
        var noResult = E(technique);
        for (var u = 0; u < op.Channels; u++)
        {
            s.Append($"<li data-unit=\"{u}\"><a href=\"{unitStem}{u}{pinQuery}\">");
            if (grid.Cells.TryGetValue(u, out var cell))
            {
                // The stored 96 px thumbnail at 1x (src), the full image on denser screens (srcset 2x):
                // cells have a fixed CSS size, so x descriptors say it all. SVGs have no thumbnail.
                var hash = E(Uri.EscapeDataString(cell.ParamsHash));
                s.Append("<img loading=\"lazy\" decoding=\"async\" width=\"96\" height=\"96\" src=\"")
                    .Append($"{objectStem}{u}{techniqueSegment}{hash}{thumbSuffix ?? suffix}?r={cell.RenderedAt}\"");
                if (thumbSuffix is not null) s.Append($" srcset=\"{objectStem}{u}{techniqueSegment}{hash}{suffix}?r={cell.RenderedAt} 2x\"");
                s.Append($" alt=\"{alt}{u}\">");
            }
            else s.Append($"<span class=\"empty\" role=\"img\" aria-label=\"unit {u}: no {noResult} result yet\"></span>");
            s.Append($"<span class=\"label\">{u}</span></a></li>");
        }
        s.Append("</ul>");
        return Page($"{d.Name} {op.Name}", s.ToString(), contextModel: d.Name,
            breadcrumbs: Crumbs(("models", "/"), (d.Name, LinkResolver.Href(new Target(d.Name, null, null), pin)), (op.Name, null)));
    }

    private static string Figure(ResultImage img, string alt, string caption, bool wide = false) =>
        $"<li><figure><img loading=\"lazy\" src=\"{E(ObjectUrl(img.Key, img.Revision))}\" alt=\"{E(alt)}\"{(wide ? " class=\"wide\"" : "")} onerror=\"this.closest('li').hidden=true\"><figcaption>{E(caption)}</figcaption></figure></li>";

    public static IResult Unit(ModelVersion m, OpInfo op, int unit, IReadOnlyList<ResultRow> results, IReadOnlyDictionary<string, RenderSettings> parameters,
        DatasetExamples examples, IReadOnlyList<string> renderable, bool writesEnabled, IReadOnlyList<string>? sections = null,
        string? lens = null, string? lensAsked = null, ResultRow? shown = null)
    {
        var d = m.Descriptor;
        var pin = Pin(m);
        var s = new StringBuilder();
        var canonical = LinkResolver.Href(new Target(d.Name, op.Name, unit), m.Version);
        s.Append($"<h1>{E(d.Name)} / {E(op.Name)} / unit {unit}</h1>");
        // Location and lens first, with the lens's images large; the details after.
        lens ??= UnitLead.DefaultLens(results);
        shown ??= results.FirstOrDefault(r => r.Technique == lens);
        s.Append(UnitLead.Render(m, op, unit, lens, lensAsked, shown, parameters, results.Select(r => r.Technique).ToHashSet(StringComparer.Ordinal)));
        s.Append($"<p><button type=\"button\" id=\"copy-link\" data-href=\"{E(canonical)}\">Copy link</button> <input id=\"permalink\" readonly hidden value=\"{E(canonical)}\" aria-label=\"permanent link\"> ")
            .Append($"<span class=\"muted\">version <code>{E(m.Version)}</code></span></p>");
        if (results.Count == 0) s.Append("<p class=\"no-results\">Nothing has been rendered for this unit yet.</p>");
        foreach (var group in results.GroupBy(r => r.Technique).OrderBy(g => TechniqueViews.Rank(g.Key)).ThenBy(g => g.Key, StringComparer.Ordinal))
        {
            var newest = group.First();
            s.Append($"<section class=\"technique\" data-technique=\"{E(group.Key)}\"><h2 id=\"lens-{E(group.Key)}\">{E(group.Key.Replace('_', ' '))}</h2><ul class=\"results\">");
            var wide = group.Key is "dataset_examples" or "tuning_curves";
            foreach (var img in TechniqueViews.ImagesOf(newest, parameters.GetValueOrDefault(newest.ParamsHash)))
                s.Append(Figure(img, TechniqueViews.Alt(d.Name, op.Name, unit, group.Key, img.Caption), $"{img.Caption} · parameters {newest.ParamsHash}", wide));
            s.Append("</ul>");
            if (group.Key == "dataset_examples")
            {
                if (examples.Source is { } source)
                    s.Append($"<p class=\"dataset-source\">Searched in {E(source)}{(examples.ImagesSeen is { } seen ? $"; {seen.ToString(CultureInfo.InvariantCulture)} images seen" : "")}.</p>");
                s.Append(ExampleTable("by channel", examples.Channel)).Append(ExampleTable("by neuron (receptive-field crops)", examples.Neuron));
            }
            s.Append(ParameterTable(newest, parameters));
            if (group.Count() > 1)
            {
                s.Append($"<details class=\"params\"><summary>Every stored parameter set ({group.Count()})</summary><ul class=\"results\">");
                foreach (var r in group)
                    s.Append(Figure(TechniqueViews.ImagesOf(r)[0], TechniqueViews.Alt(d.Name, op.Name, unit, r.Technique), $"parameters {r.ParamsHash}: {Describe(parameters.GetValueOrDefault(r.ParamsHash))}"));
                s.Append("</ul></details>");
            }
            s.Append("</section>");
        }
        // Sections of other views (connections...), already rendered.
        foreach (var section in sections ?? []) s.Append(section);
        s.Append(Fires.FiresSection.Render(d.Name, m.Version, op.Name, unit, writesEnabled));
        s.Append("<section aria-labelledby=\"new-heading\"><h2 id=\"new-heading\">Re-render</h2><ul id=\"new-results\" class=\"results\" hidden></ul>");
        s.Append(RenderForm(d.Name, m.Version, op.Name, unit, renderable, writesEnabled)).Append("</section>");
        return Page($"{d.Name} {op.Name} {unit}", s.ToString(), contextModel: d.Name,
            breadcrumbs: Crumbs(("models", "/"), (d.Name, LinkResolver.Href(new Target(d.Name, null, null), pin)), (op.Name, LinkResolver.Href(new Target(d.Name, op.Name, null), pin)), (unit.ToString(CultureInfo.InvariantCulture), null)));
    }

    private static string ExampleTable(string caption, IReadOnlyList<ExampleScore> examples)
    {
        if (examples.Count == 0) return "";
        var s = new StringBuilder($"<table class=\"examples\"><caption>Top dataset examples {E(caption)}</caption><thead><tr><th scope=\"col\" class=\"num\">rank</th><th scope=\"col\">image</th><th scope=\"col\" class=\"num\">score</th><th scope=\"col\">crop (x, y, w, h)</th></tr></thead><tbody>");
        for (var i = 0; i < examples.Count; i++)
            s.Append($"<tr><td class=\"num\">{i + 1}</td><td>{E(examples[i].ImageId)}</td><td class=\"num\">{N(examples[i].Score, "0.####")}</td><td>{(examples[i].Crop is { } c ? E(string.Join(", ", c)) : "whole image")}</td></tr>");
        return s.Append("</tbody></table>").ToString();
    }

    private static string Describe(RenderSettings? p) => p is null ? "(parameters not recorded)" :
        $"{p.Steps} steps, {p.Size} px, seed {p.Seed}, learning rate {N(p.LearningRate)}, transforms {(p.Transforms ? "on" : "off")}";

    internal static string ParameterTable(ResultRow r, IReadOnlyDictionary<string, RenderSettings> parameters)
    {
        var p = parameters.GetValueOrDefault(r.ParamsHash);
        var s = new StringBuilder("<table class=\"parameters\"><caption class=\"muted\">made with</caption><tbody>");
        s.Append($"<tr><th scope=\"row\">parameters hash</th><td><code>{E(r.ParamsHash)}</code></td></tr>");
        if (p is not null)
        {
            s.Append($"<tr><th scope=\"row\">steps</th><td>{p.Steps}</td></tr><tr><th scope=\"row\">size</th><td>{p.Size} px</td></tr>")
                .Append($"<tr><th scope=\"row\">seed</th><td>{p.Seed}</td></tr><tr><th scope=\"row\">learning rate</th><td>{N(p.LearningRate)}</td></tr>")
                .Append($"<tr><th scope=\"row\">transforms</th><td>{(p.Transforms ? "on" : "off")}</td></tr>");
        }
        s.Append($"<tr><th scope=\"row\">objective</th><td>{N(r.ObjectiveStart)} → {N(r.ObjectiveEnd)}</td></tr>")
            .Append($"<tr><th scope=\"row\">rendered</th><td>{DateTimeOffset.FromUnixTimeMilliseconds(r.RenderedAt):yyyy-MM-dd HH:mm} UTC, {N(r.MsPerStep, "0.0")} ms/step</td></tr>")
            .Append($"<tr><th scope=\"row\">record</th><td><a href=\"{E(ObjectUrl(r.RecordKey, r.RenderedAt))}\">JSON</a></td></tr></tbody></table>");
        return s.ToString();
    }

    /// <summary>What an operator does to switch the viewer's writes on (docs/viewer.md, tokens).</summary>
    public const string HowToEnableWrites =
        "To switch them on, give the viewer and the coordinator the same tokens: <code>MICROSCOPE_VIEWER__OPERATORTOKENS</code> / " +
        "<code>MICROSCOPE_VIEWER__RESEARCHERTOKENS</code> and <code>MICROSCOPE_COORDINATOR__OPERATORTOKENS</code> / " +
        "<code>MICROSCOPE_COORDINATOR__RESEARCHERTOKENS</code> (docs/viewer.md); <code>microscope demo</code> makes one and prints it.";

    private static string RenderForm(string model, string version, string op, int unit, IReadOnlyList<string> renderable, bool writesEnabled)
    {
        var action = $"{LinkResolver.Href(new Target(model, op, unit), null)}/renders?v={Uri.EscapeDataString(version)}";
        var d = new RenderSettings();
        var s = new StringBuilder();
        if (!writesEnabled) s.Append("<p class=\"muted writes-off\">Re-renders are switched off: this viewer has no tokens configured. ").Append(HowToEnableWrites).Append("</p>");
        s.Append($"<form id=\"rerender\" data-action=\"{E(action)}\" novalidate><fieldset{(writesEnabled ? "" : " disabled")}><legend>Render this unit again (researchers)</legend>")
            .Append("<label for=\"technique\">technique</label> <select id=\"technique\" name=\"technique\">");
        foreach (var t in renderable) s.Append($"<option>{E(t)}</option>");
        s.Append("</select><br>").Append(RenderFormInputs.LensParameters(renderable, renderable.FirstOrDefault()))
            .Append($"<label for=\"steps\">steps</label> <input id=\"steps\" name=\"steps\" type=\"number\" min=\"1\" max=\"10000\" value=\"{d.Steps}\"><br>")
            .Append($"<label for=\"size\">size (px)</label> <input id=\"size\" name=\"size\" type=\"number\" min=\"8\" max=\"1024\" value=\"{d.Size}\"><br>")
            .Append($"<label for=\"seed\">seed</label> <input id=\"seed\" name=\"seed\" type=\"number\" value=\"{d.Seed}\"><br>")
            .Append($"<label for=\"learningRate\">learning rate</label> <input id=\"learningRate\" name=\"learningRate\" type=\"number\" step=\"any\" min=\"0\" value=\"{N(d.LearningRate)}\"><br>")
            .Append("<label for=\"transforms\">transforms</label> <input id=\"transforms\" name=\"transforms\" type=\"checkbox\" checked><br>")
            .Append(RenderFormInputs.Precision())
            .Append($"<label for=\"objective\">or an objective</label> <input id=\"objective\" name=\"objective\" type=\"text\" size=\"40\" placeholder=\"{E(op)}:{unit} + 0.5*{E(op)}:{(unit + 1)}, -{E(op)}:{unit}, {E(op)}@[...]\" aria-describedby=\"objective-help\"> <small id=\"objective-help\" class=\"muted\">instead of the technique: a sum, weights, negation or direction (docs/techniques.md)</small><br>")
            .Append("<label for=\"force\">render even if stored</label> <input id=\"force\" name=\"force\" type=\"checkbox\"><br>")
            .Append("<label for=\"token\">token</label> <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\"><br>")
            .Append("<button type=\"submit\">Queue render</button> <output id=\"rerender-status\" class=\"status\" aria-live=\"polite\"></output>")
            .Append("</fieldset></form>");
        return s.ToString();
    }

    /// <summary>The JSON a re-render's status poll answers (the form's script reads it).</summary>
    public static object RenderStatus(TupleRow t) => new
    {
        state = t.State,
        failure = t.Failure,
        model = t.Model,
        version = t.Version,
        op = t.Op,
        unit = t.Unit,
        technique = t.Technique,
        paramsHash = t.ParamsHash,
        imageUrl = t.State == TupleStates.Done && t.ImageKey is not null ? ObjectUrl(t.ImageKey, t.DoneAt) : null,
        alt = TechniqueViews.Alt(t.Model, t.Op, t.Unit, t.Technique),
        link = t.Technique == Engine.Lenses.ObjectiveExpressionLens.LensName ? Objectives.ObjectiveCatalogue.Href(t.Model, t.ParamsHash, t.Version) : null,
    };

    internal static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
}
