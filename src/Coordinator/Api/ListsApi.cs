using Microscope.Coordinator.Data;
using Microscope.Coordinator.Models;
using Microscope.Coordinator.Sweeps;
using Microscope.Engine.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace Microscope.Coordinator.Api;

/// <summary>The API's lists, each paged the same way (<see cref="Page"/>): sweeps, a sweep's
/// packets and tuples, and a model's catalogue of results (what `microscope export` reads).</summary>
public static class ListsApi
{
    public const int SweepsDefault = 100, SweepsMax = 1000;
    public const int RowsDefault = 1000, RowsMax = 10000;

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        // Newest first; the cursor is the last row's creation time and how many rows of that
        // same millisecond were already listed.
        api.MapGet("/sweeps", (HttpContext http, SweepService sweeps, CancellationToken cancel) => FarmApi.Guard(async () =>
        {
            var page = Page.Read(http.Request, SweepsDefault, SweepsMax, 2);
            var (before, skip) = page.After is { } a ? (long.Parse(a[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(a[1], System.Globalization.CultureInfo.InvariantCulture)) : ((long?)null, 0);
            var rows = await sweeps.ListAsync(page.Limit + 1, cancel, before, skip);
            return page.Answer(http, rows, r => TieCursor(rows, r, x => x.CreatedAt.ToUnixTimeMilliseconds(), before, skip));
        }));
        api.MapGet("/sweeps/{id:guid}/packets", (Guid id, HttpContext http, FarmDb db, SweepService sweeps, CancellationToken cancel) => FarmApi.Guard(async () =>
        {
            var page = Page.Read(http.Request, RowsDefault, RowsMax, 2);
            await sweeps.FindAsync(id, cancel);
            var q = db.Packets.AsNoTracking().Where(p => p.SweepId == id);
            long? from = null;
            var skip = 0;
            if (page.After is { } a)
            {
                from = long.Parse(a[0], System.Globalization.CultureInfo.InvariantCulture);
                skip = int.Parse(a[1], System.Globalization.CultureInfo.InvariantCulture);
                var seq = (int)from.Value;
                q = q.Where(p => p.Seq >= seq);
            }
            var rows = await q.OrderBy(p => p.Seq).ThenBy(p => p.Id).Skip(skip).Take(page.Limit + 1).ToListAsync(cancel);
            return page.Answer(http, rows, r => TieCursor(rows, r, x => x.Seq, from, skip));
        }));
        // In (op, technique, unit) order, unique within a sweep: the cursor is the last row's key.
        api.MapGet("/sweeps/{id:guid}/tuples", (Guid id, string? state, HttpContext http, FarmDb db, SweepService sweeps, CancellationToken cancel) => FarmApi.Guard(async () =>
        {
            var page = Page.Read(http.Request, RowsDefault, RowsMax, 3);
            await sweeps.FindAsync(id, cancel);
            var q = db.Tuples.AsNoTracking().Where(t => t.SweepId == id);
            if (state is not null) q = q.Where(t => t.State == state);
            if (page.After is [var op, var technique, var u])
            {
                var unit = int.Parse(u, System.Globalization.CultureInfo.InvariantCulture);
                q = q.Where(t => string.Compare(t.Op, op) > 0
                    || (t.Op == op && (string.Compare(t.Technique, technique) > 0 || (t.Technique == technique && t.Unit > unit))));
            }
            var rows = await q.OrderBy(t => t.Op).ThenBy(t => t.Technique).ThenBy(t => t.Unit).Take(page.Limit + 1).ToListAsync(cancel);
            return page.Answer(http, rows, t => [t.Op, t.Technique, t.Unit.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }));
        // A model version's catalogue in primary-key order (op, unit, technique, parameters).
        api.MapGet("/results", (string? model, string? version, HttpContext http, ModelRegistry registry, FarmDb db, CancellationToken cancel) => FarmApi.Guard(async () =>
        {
            if (string.IsNullOrEmpty(model)) throw ApiProblem.Invalid("model", "name the model: /api/results?model=NAME");
            var page = Page.Read(http.Request, RowsDefault, RowsMax, 4);
            ModelDescriptor d;
            try { d = await registry.GetAsync(model, version, cancel); }
            catch (UnknownNameException e) { throw ApiProblem.NotFound(e.Message); }
            var v = ModelRegistry.VersionOf(d);
            var q = db.Results.AsNoTracking().Where(r => r.Model == d.Name && r.Version == v);
            if (page.After is [var op, var u, var technique, var hash])
            {
                var unit = int.Parse(u, System.Globalization.CultureInfo.InvariantCulture);
                q = q.Where(r => string.Compare(r.Op, op) > 0 || (r.Op == op && (r.Unit > unit || (r.Unit == unit
                    && (string.Compare(r.Technique, technique) > 0 || (r.Technique == technique && string.Compare(r.ParamsHash, hash) > 0))))));
            }
            var rows = await q.OrderBy(r => r.Op).ThenBy(r => r.Unit).ThenBy(r => r.Technique).ThenBy(r => r.ParamsHash).Take(page.Limit + 1).ToListAsync(cancel);
            return page.Answer(http, rows.Select(r => new CatalogueResult(r.Model, r.Version, r.Op, r.Unit, r.Technique, r.ParamsHash, r.ObjectiveStart, r.ObjectiveEnd,
                    r.MsPerStep, r.ImageKey, r.RecordKey, $"/objects/{r.ImageKey}", $"/objects/{r.RecordKey}", DateTimeOffset.FromUnixTimeMilliseconds(r.RenderedAt), r.TupleId)).ToList(),
                r => [r.Op, r.Unit.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Technique, r.ParamsHash]);
        }));
    }

    /// <summary>The cursor of a list ordered by a key with ties: the row's key and how many rows
    /// with that key the listing has passed (those of this page, plus the skip this page started
    /// with when it started at the same key).</summary>
    private static string[] TieCursor<T>(IReadOnlyList<T> rows, T row, Func<T, long> key, long? startKey, int startSkip)
    {
        var k = key(row);
        var upTo = rows.TakeWhile(r => !ReferenceEquals(r, row)).Count() + 1;
        var same = rows.Take(upTo).Count(r => key(r) == k) + (startKey == k ? startSkip : 0);
        return [k.ToString(System.Globalization.CultureInfo.InvariantCulture), same.ToString(System.Globalization.CultureInfo.InvariantCulture)];
    }
}

/// <summary>One stored result of a model's catalogue (GET /api/results).</summary>
public sealed record CatalogueResult(string Model, string Version, string Op, int Unit, string Technique, string ParamsHash,
    double ObjectiveStart, double ObjectiveEnd, double MsPerStep, string ImageKey, string RecordKey, string ImageUrl, string RecordUrl,
    DateTimeOffset RenderedAt, Guid TupleId);
