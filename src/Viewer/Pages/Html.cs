using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Microscope.Viewer.Pages;

/// <summary>Server-rendered HTML: the layout every page shares, and encoding helpers.</summary>
public static class Html
{
    public static string E(string? text) => WebUtility.HtmlEncode(text ?? "");
    public static string N(double value, string format = "0.###") => value.ToString(format, CultureInfo.InvariantCulture);
    public static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A whole page: title, the search box (which knows the page's model, so a
    /// model-less shorthand resolves there first), navigation and the body.</summary>
    public static IResult Page(string title, string body, int status = 200, string? contextModel = null, string? breadcrumbs = null)
    {
        var s = new StringBuilder(body.Length + 2048);
        s.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(E(title)).Append(" · Microscope</title>")
            .Append("<link rel=\"stylesheet\" href=\"/static/viewer.css?v=").Append(StaticAssets.Version).Append("\">")
            .Append("<script src=\"/static/viewer.js?v=").Append(StaticAssets.Version).Append("\" defer></script></head><body>")
            .Append("<a class=\"skip\" href=\"#main\">Skip to content</a>")
            .Append("<header><nav aria-label=\"site\"><a class=\"brand\" href=\"/\">Microscope</a> <a href=\"/\">Models</a> <a href=\"/sweeps\">Sweeps</a></nav>")
            .Append("<form class=\"search\" role=\"search\" action=\"/search\" method=\"get\">")
            .Append("<label for=\"q\">Find a unit</label> <input id=\"q\" name=\"q\" type=\"search\" placeholder=\"4c:447, mixed4c:447, inceptionv1/mixed4c/447\" autocomplete=\"off\">");
        if (contextModel is not null) s.Append("<input type=\"hidden\" name=\"m\" value=\"").Append(E(contextModel)).Append("\">");
        s.Append(" <button type=\"submit\">Go</button></form></header>");
        if (breadcrumbs is not null) s.Append("<nav aria-label=\"breadcrumb\" class=\"crumbs\">").Append(breadcrumbs).Append("</nav>");
        s.Append("<main id=\"main\">").Append(body).Append("</main></body></html>");
        return Results.Content(s.ToString(), "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    public static string Crumbs(params (string Label, string? Href)[] parts) =>
        string.Join(" / ", parts.Select(p => p.Href is null ? $"<span aria-current=\"page\">{E(p.Label)}</span>" : $"<a href=\"{E(p.Href)}\">{E(p.Label)}</a>"));

    /// <summary>An object's URL. Objects are served as immutable, but a forced re-render writes
    /// the same key again: the revision (when the result was rendered) makes each render's URL
    /// its own, so no browser shows a cached older render.</summary>
    public static string ObjectUrl(string key, long? revision = null) =>
        "/objects/" + string.Join('/', key.Split('/').Select(Uri.EscapeDataString)) + (revision is { } r ? $"?r={r}" : "");
}
