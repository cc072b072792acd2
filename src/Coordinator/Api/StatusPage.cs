using System.Net;
using System.Text;
using Microscope.Coordinator.Data;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;

namespace Microscope.Coordinator.Api;

/// <summary>A minimal status page at "/": sweeps with their counts and the latest renders.
/// The viewer (a later issue) replaces it; the API is the real interface.</summary>
public static class StatusPage
{
    public static async Task<IResult> RenderAsync(FarmDb db, CancellationToken cancel)
    {
        var sweeps = await db.Sweeps.AsNoTracking().OrderByDescending(s => s.CreatedAt).Take(20).ToListAsync(cancel);
        var ids = sweeps.Select(s => s.Id).ToList();
        var counts = (await db.Tuples.AsNoTracking().Where(t => ids.Contains(t.SweepId)).GroupBy(t => new { t.SweepId, t.State })
                .Select(g => new { g.Key.SweepId, g.Key.State, Count = g.Count() }).ToListAsync(cancel))
            .ToLookup(x => x.SweepId);
        var latest = await db.Results.AsNoTracking().OrderByDescending(r => r.RenderedAt).Take(60).ToListAsync(cancel);
        var h = new StringBuilder("""
            <!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
            <title>Microscope farm</title><style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}
            img{width:64px;height:64px;image-rendering:pixelated;margin:2px}figure{display:inline-block;margin:2px;font-size:10px}</style>
            </head><body><h1>Microscope farm</h1><h2>Sweeps</h2><table><tr><th>id</th><th>kind</th><th>model</th><th>state</th><th>tuples</th><th>by state</th></tr>
            """);
        foreach (var s in sweeps)
        {
            var byState = string.Join(", ", counts[s.Id].OrderBy(c => c.State).Select(c => $"{c.State} {c.Count}"));
            h.Append(CultureInfoInvariant($"<tr><td><a href=\"/api/sweeps/{s.Id}\">{s.Id}</a></td><td>{s.Kind}</td><td>{E(s.Model)}@{E(s.Version)}</td><td>{E(s.State)}</td><td>{s.Total}</td><td>{E(byState)}</td></tr>"));
        }
        h.Append("</table><h2>Latest renders</h2>");
        foreach (var r in latest)
            h.Append(CultureInfoInvariant($"<figure><a href=\"/api/models/{E(r.Model)}/{E(r.Op)}/{r.Unit}?version={E(r.Version)}\"><img src=\"/objects/{E(r.ImageKey)}\" alt=\"\"></a><figcaption>{E(r.Op)}/{r.Unit} {E(r.Technique)}</figcaption></figure>"));
        h.Append("<p><a href=\"/api/models\">/api/models</a> · <a href=\"/api/sweeps\">/api/sweeps</a> · <a href=\"/health/ready\">/health/ready</a></p></body></html>");
        return Results.Content(h.ToString(), "text/html; charset=utf-8");
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
    private static string CultureInfoInvariant(FormattableString s) => FormattableString.Invariant(s);
}
