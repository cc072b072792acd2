using System.Globalization;
using System.Text;
using Microscope.Viewer.Claims;
using Microsoft.AspNetCore.Http;
using static Microscope.Viewer.Pages.Html;

namespace Microscope.Viewer.Pages;

/// <summary>Claims: one claim's page, the searchable list, and the unit page's section.</summary>
public static class ClaimsPages
{
    public static IResult Claim(Claim c)
    {
        var s = new StringBuilder($"<h1>Claim</h1><article class=\"claim\" data-claim=\"{c.Id}\">");
        s.Append(Body(c)).Append("</article>");
        s.Append($"<p class=\"muted\">JSON: <a href=\"/api/claims/{c.Id}\">/api/claims/{c.Id}</a>. Its author edits it with PUT and deletes it with DELETE there (docs/viewer.md).</p>");
        return Page("claim", s.ToString(), breadcrumbs: Crumbs(("claims", "/claims"), (c.Id.ToString()[..8], null)));
    }

    public static IResult List(string? query, IReadOnlyList<Claim> claims)
    {
        var s = new StringBuilder("<h1>Claims</h1>");
        s.Append($"<form class=\"claim-search\" role=\"search\" action=\"/claims\" method=\"get\"><label for=\"claims-q\">Search claims</label> <input id=\"claims-q\" name=\"q\" type=\"search\" value=\"{E(query)}\" placeholder=\"wheel, demo/conv3/9\"> <button type=\"submit\">Search</button></form>");
        if (claims.Count == 0) s.Append($"<p class=\"no-results\">{(string.IsNullOrWhiteSpace(query) ? "No claims yet." : $"No claim matches '{E(query)}'.")}</p>");
        s.Append("<ul class=\"claims\">");
        foreach (var c in claims) s.Append($"<li class=\"claim\" data-claim=\"{c.Id}\">").Append(Body(c)).Append($" <a href=\"{E(c.Link)}\">link</a></li>");
        return Page("claims", s.Append("</ul>").ToString(), breadcrumbs: Crumbs(("claims", null)));
    }

    public static string Section(string model, string op, int unit, IReadOnlyList<Claim> claims)
    {
        var s = new StringBuilder("<section class=\"claims\" aria-labelledby=\"claims-heading\"><h2 id=\"claims-heading\">Claims</h2>");
        if (claims.Count == 0) s.Append("<p class=\"muted\">No claim names this unit yet.</p>");
        s.Append("<ul class=\"claims\">");
        foreach (var c in claims) s.Append($"<li class=\"claim\" data-claim=\"{c.Id}\">").Append(Body(c)).Append($" <a href=\"{E(c.Link)}\">link</a></li>");
        s.Append("</ul>");
        s.Append($"<p class=\"muted\">Researchers add claims with POST /api/claims (<a href=\"/claims?q={Uri.EscapeDataString($"{model}/{op}/{unit}")}\">search claims</a>).</p>");
        return s.Append("</section>").ToString();
    }

    /// <summary>The text with its unit links as links, then the named units and the byline.</summary>
    private static string Body(Claim c)
    {
        var s = new StringBuilder("<p class=\"claim-text\">");
        var last = 0;
        foreach (System.Text.RegularExpressions.Match m in ClaimStore.UnitLink().Matches(c.Text))
        {
            s.Append(E(c.Text[last..m.Index])).Append($"<a href=\"{E(m.Value)}\">{E(m.Value)}</a>");
            last = m.Index + m.Length;
        }
        s.Append(E(c.Text[last..])).Append("</p><p class=\"claim-units\">Units: ");
        s.Append(string.Join(", ", c.Units.Select(u => $"<a class=\"claimed-unit\" href=\"{E(u.Link)}\">{E(u.Model)}/{E(u.Op)}/{u.Unit}</a>")));
        s.Append($"</p><p class=\"muted byline\">by <span class=\"author\">{E(c.Author)}</span>, <time datetime=\"{c.CreatedAt.UtcDateTime:O}\">{c.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC</time>");
        if (c.UpdatedAt != c.CreatedAt) s.Append($", edited {c.UpdatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC");
        return s.Append("</p>").ToString();
    }
}
