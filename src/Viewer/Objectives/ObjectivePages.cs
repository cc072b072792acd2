using System.Globalization;
using System.Text;
using Microscope.Engine.Render.Objectives;
using Microscope.Viewer.Catalogue;
using Microsoft.AspNetCore.Http;
using static Microscope.Viewer.Pages.Html;

namespace Microscope.Viewer.Objectives;

/// <summary>The pages of objective renders: a model's list (<c>/models/{m}/objectives</c>) and
/// one render's stable page (<c>/models/{m}/objectives/{paramsHash}</c>) with its expression,
/// each term linked to its unit or op, its image and how it was made.</summary>
public static class ObjectivePages
{
    public static IResult List(ModelVersion m, IReadOnlyList<ObjectiveResult> results)
    {
        var pin = m.IsLatest ? null : m.Version;
        var s = new StringBuilder($"<h1>{E(m.Name)} / objectives</h1>");
        s.Append("<p>Renders of objective expressions: sums, weights and negations of units, and directions over an op's channels ")
            .Append("(<code>microscope render --objective \"conv3:9 + 0.5*conv3:17\"</code>, or the form on any unit page).</p>");
        if (results.Count == 0) s.Append("<p class=\"no-results\">No objective has been rendered for this model version yet.</p>");
        else
        {
            s.Append("<ul class=\"results objectives\">");
            foreach (var r in results)
                s.Append($"<li data-hash=\"{E(r.Row.ParamsHash)}\"><figure><a href=\"{E(ObjectiveCatalogue.Href(m.Name, r.Row.ParamsHash, pin))}\">")
                    .Append($"<img loading=\"lazy\" src=\"{E(ObjectUrl(r.Row.ImageKey, r.Row.RenderedAt))}\" alt=\"{E(Alt(m.Name, r.Expression))}\"></a>")
                    .Append($"<figcaption><code>{E(Short(r.Expression))}</code></figcaption></figure></li>");
            s.Append("</ul>");
        }
        return Page($"{m.Name} objectives", s.ToString(), contextModel: m.Name,
            breadcrumbs: Crumbs(("models", "/"), (m.Name, LinkResolver.Href(new Target(m.Name, null, null), pin)), ("objectives", null)));
    }

    public static IResult One(ModelVersion m, ObjectiveResult r)
    {
        var pin = m.IsLatest ? null : m.Version;
        var row = r.Row;
        var s = new StringBuilder($"<h1>{E(m.Name)} / objective <code>{E(row.ParamsHash)}</code></h1>");
        s.Append($"<p class=\"expression\"><code>{E(r.Expression)}</code></p>");
        s.Append($"<figure class=\"objective\"><img src=\"{E(ObjectUrl(row.ImageKey, row.RenderedAt))}\" alt=\"{E(Alt(m.Name, r.Expression))}\" width=\"256\">")
            .Append($"<figcaption>stored under op <a href=\"{E(LinkResolver.Href(new Target(m.Name, row.Op, null), pin))}\">{E(row.Op)}</a></figcaption></figure>");
        s.Append(Terms(m, r.Expression, pin));
        // The unit page's table of how a result was made.
        s.Append(Pages.CataloguePages.ParameterTable(row, r.Parameters is { } p ? new Dictionary<string, Contracts.RenderSettings> { [row.ParamsHash] = p } : []));
        return Page($"{m.Name} objective {row.ParamsHash}", s.ToString(), contextModel: m.Name,
            breadcrumbs: Crumbs(("models", "/"), (m.Name, LinkResolver.Href(new Target(m.Name, null, null), pin)),
                ("objectives", ObjectiveCatalogue.ListHref(m.Name, pin)), (row.ParamsHash, null)));
    }

    /// <summary>The expression's terms, each linked: a unit to its page; a direction to its op,
    /// with its strongest channels by |weight| linked.</summary>
    private static string Terms(ModelVersion m, string expression, string? pin)
    {
        ObjectiveExpression parsed;
        try { parsed = ObjectiveExpression.Parse(expression); }
        catch (ArgumentException) { return ""; }
        var s = new StringBuilder("<table class=\"terms\"><caption>Terms</caption><thead><tr><th scope=\"col\" class=\"num\">weight</th><th scope=\"col\">term</th></tr></thead><tbody>");
        foreach (var t in parsed.Terms)
        {
            s.Append($"<tr><td class=\"num\">{N(t.Weight, "0.####")}</td><td>");
            if (t.Unit is int u)
                s.Append($"<a class=\"term-unit\" href=\"{E(LinkResolver.Href(new Target(m.Name, t.Op, u), pin))}\">{E(t.Op)}:{u}</a>");
            else
            {
                var v = t.Direction!;
                var top = v.Select((x, c) => (x, c)).OrderByDescending(p => Math.Abs(p.x)).Take(5);
                s.Append($"direction over <a href=\"{E(LinkResolver.Href(new Target(m.Name, t.Op, null), pin))}\">{E(t.Op)}</a> ({v.Count} channels); strongest: ")
                    .AppendJoin(", ", top.Select(p => $"<a class=\"term-unit\" href=\"{E(LinkResolver.Href(new Target(m.Name, t.Op, p.c), pin))}\">{p.c.ToString(CultureInfo.InvariantCulture)}</a> ({N(p.x, "0.###")})"));
            }
            s.Append("</td></tr>");
        }
        return s.Append("</tbody></table>").ToString();
    }

    private static string Alt(string model, string expression) => $"objective render of {model}: {Short(expression)}";

    private static string Short(string expression) => expression.Length > 120 ? expression[..120] + "…" : expression;
}
