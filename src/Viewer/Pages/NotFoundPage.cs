using System.Text;
using Microscope.Viewer.Catalogue;
using Microsoft.AspNetCore.Http;
using static Microscope.Viewer.Pages.Html;

namespace Microscope.Viewer.Pages;

/// <summary>The 404 page: which part of the link does not exist, and near matches.</summary>
public static class NotFoundPage
{
    public static IResult Render(Missing m, string? contextModel = null)
    {
        var s = new StringBuilder();
        s.Append("<h1>Not found</h1>")
            .Append($"<p class=\"missing\" data-part=\"{E(m.Part)}\">{E(m.Message)}</p>");
        if (m.Suggestions.Count > 0)
        {
            s.Append("<h2>Did you mean</h2><ul class=\"suggestions\">");
            foreach (var (label, href) in m.Suggestions) s.Append($"<li><a href=\"{E(href)}\">{E(label)}</a></li>");
            s.Append("</ul>");
        }
        s.Append("<p><a href=\"/\">All models</a></p>");
        return Page("Not found", s.ToString(), StatusCodes.Status404NotFound, contextModel);
    }
}
