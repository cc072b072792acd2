using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Coordinator.Models;
using Microscope.Coordinator.Sweeps;
using Microscope.Engine.Lenses;
using Microscope.Engine.Models;
using Microscope.Farm.Hosting;
using Microscope.Farm.Security;
using Microscope.Farm.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace Microscope.Coordinator.Api;

/// <summary>The coordinator's HTTP API (docs/farm.md lists every route). Errors are problem
/// details: 400 malformed JSON, 404 unknown id, 409 wrong state, 413 body too large, 422
/// invalid request (unknown model/op/technique, unit out of range, bad parameters).</summary>
public static class FarmApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapPost("/sweeps", (HttpContext http, SweepService sweeps, CancellationToken cancel) => Guard(async () =>
        {
            var request = await ReadBody<SweepRequest>(http, cancel);
            var (sweep, replayed) = await sweeps.CreateSweepAsync(request, RequestedBy(http), cancel);
            if (replayed) http.Response.Headers["Idempotent-Replayed"] = "true";
            return Results.Accepted($"/api/sweeps/{sweep.Id}", new { id = sweep.Id, total = sweep.Total, reused = sweep.Reused, paramsHash = sweep.ParamsHash, version = sweep.Version });
        })).RequireRole(Role.Operator);
        api.MapGet("/sweeps/{id:guid}", (Guid id, SweepService sweeps, CancellationToken cancel) => Guard(async () => Results.Ok(await sweeps.StatusAsync(id, cancel))));
        // The lists (sweeps, packets, tuples, results) are paged: ListsApi.
        api.MapPost("/sweeps/{id:guid}/pause", (Guid id, SweepService s, CancellationToken c) => Guard(async () => Results.Ok(await s.PauseAsync(id, c)))).RequireRole(Role.Operator);
        api.MapPost("/sweeps/{id:guid}/resume", (Guid id, SweepService s, CancellationToken c) => Guard(async () => Results.Ok(await s.ResumeAsync(id, c)))).RequireRole(Role.Operator);
        api.MapPost("/sweeps/{id:guid}/cancel", (Guid id, SweepService s, CancellationToken c) => Guard(async () => Results.Ok(await s.CancelAsync(id, c)))).RequireRole(Role.Operator);
        api.MapPost("/sweeps/{id:guid}/retry-failed", (Guid id, SweepService s, CancellationToken c) => Guard(async () => Results.Ok(await s.RetryFailedAsync(id, c)))).RequireRole(Role.Operator);

        // The lens registry: what sweeps and renders accept in "techniques" and "lensParameters".
        api.MapGet("/techniques", () => Results.Ok(LensRegistry.All.Select(LensDescription.Of)));

        api.MapPost("/renders", (HttpContext http, SweepService sweeps, CancellationToken cancel) => Guard(async () =>
        {
            var request = await ReadBody<RenderRequest>(http, cancel);
            // Researchers render within an hourly budget; operators (who may start whole sweeps) do not.
            var (render, replayed) = await sweeps.CreateRenderAsync(request, RequestedBy(http), budgeted: Caller.Of(http)!.Role == Role.Researcher, cancel);
            if (replayed) http.Response.Headers["Idempotent-Replayed"] = "true";
            return Results.Accepted($"/api/renders/{render.Id}", new { id = render.Id, paramsHash = render.ParamsHash, version = render.Version });
        })).RequireRole(Role.Researcher);
        api.MapGet("/renders/{id:guid}", (Guid id, FarmDb db, SweepService sweeps, CancellationToken cancel) => Guard(async () =>
        {
            var render = await sweeps.FindAsync(id, cancel);
            var tuple = await db.Tuples.AsNoTracking().FirstAsync(t => t.SweepId == id, cancel);
            return Results.Ok(new
            {
                render.Id, tuple.State, tuple.Model, tuple.Version, tuple.Op, tuple.Unit, tuple.Technique, tuple.ParamsHash,
                tuple.Attempts, tuple.Failure, tuple.ObjectiveStart, tuple.ObjectiveEnd, tuple.MsPerStep, tuple.Reused, tuple.WorkerId,
                tuple.ImageKey, tuple.RecordKey,
                ImageUrl = tuple.ImageKey is null ? null : $"/objects/{tuple.ImageKey}",
                RecordUrl = tuple.RecordKey is null ? null : $"/objects/{tuple.RecordKey}",
            });
        }));

        Fires.FiresApi.Map(api);

        // Catalogue reads (the viewer's source).
        api.MapGet("/models", async (FarmDb db, ModelRegistry registry, CancellationToken cancel) => Results.Ok(new
        {
            Registered = await db.Models.AsNoTracking().OrderBy(m => m.Name).ThenBy(m => m.RegisteredAt)
                .Select(m => new { m.Name, m.Version, m.UnitCount, m.RegisteredAt, Added = m.SourceJson != null }).ToListAsync(cancel),
            Available = ModelZoo.Names.Concat(await registry.AddedNamesAsync(cancel)).Distinct().ToList(),
        }));
        api.MapGet("/models/{model}", (string model, string? version, ModelRegistry registry, CancellationToken cancel) => Guard(async () =>
            Results.Ok(await Describe(registry, model, version, cancel))));
        api.MapGet("/models/{model}/{op}", (string model, string op, string? version, ModelRegistry registry, FarmDb db, CancellationToken cancel) => Guard(async () =>
        {
            var d = await Describe(registry, model, version, cancel);
            var info = Resolve(d, op);
            var v = ModelRegistry.VersionOf(d);
            var rendered = await db.Results.AsNoTracking().Where(r => r.Model == d.Name && r.Version == v && r.Op == info.Name)
                .GroupBy(r => new { r.Technique, r.ParamsHash }).Select(g => new { g.Key.Technique, g.Key.ParamsHash, Units = g.Count() }).ToListAsync(cancel);
            return Results.Ok(new { Model = d.Name, Version = v, Op = info, Results = rendered });
        }));
        api.MapGet("/models/{model}/{op}/{unit:int}", (string model, string op, int unit, string? version, ModelRegistry registry, FarmDb db, CancellationToken cancel) => Guard(async () =>
        {
            var d = await Describe(registry, model, version, cancel);
            var info = Resolve(d, op);
            if (unit < 0 || unit >= info.Channels) throw ApiProblem.NotFound($"op '{info.Name}' has units 0..{info.Channels - 1}; {unit} is out of range");
            var v = ModelRegistry.VersionOf(d);
            var results = await db.Results.AsNoTracking().Where(r => r.Model == d.Name && r.Version == v && r.Op == info.Name && r.Unit == unit)
                .OrderBy(r => r.Technique).ThenBy(r => r.RenderedAt).ToListAsync(cancel);
            return Results.Ok(new
            {
                Model = d.Name, Version = v, Op = info.Name, Unit = unit,
                Results = results.Select(r => new
                {
                    r.Technique, r.ParamsHash, r.ObjectiveStart, r.ObjectiveEnd, r.MsPerStep, r.ImageKey, r.RecordKey,
                    ImageUrl = $"/objects/{r.ImageKey}", RecordUrl = $"/objects/{r.RecordKey}",
                    RenderedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.RenderedAt),
                }),
            });
        }));

        app.MapGet("/objects/{**key}", (string key, IObjectStore store, CancellationToken cancel) => Guard(async () =>
        {
            try { ObjectKeyRules.Check(key); }
            catch (ArgumentException) { throw ApiProblem.NotFound($"no object '{key}'"); }
            var data = await store.GetAsync(key, cancel) ?? throw ApiProblem.NotFound($"no object '{key}'");
            return Results.Bytes(data, ObjectKeyRules.ContentType(key));
        }));
        app.MapGet("/", (FarmDb db, CancellationToken cancel) => StatusPage.RenderAsync(db, cancel));
    }

    private static async Task<ModelDescriptor> Describe(ModelRegistry registry, string model, string? version, CancellationToken cancel)
    {
        try { return await registry.GetAsync(model, version, cancel); }
        catch (UnknownNameException e) { throw ApiProblem.NotFound(e.Message); }
    }

    private static OpInfo Resolve(ModelDescriptor d, string op)
    {
        try { return ModelRegistry.ResolveOp(d, op); }
        catch (UnknownNameException e) { throw ApiProblem.NotFound(e.Message); }
    }

    /// <summary>Reads a JSON body strictly (<see cref="JsonBody"/>): wrong types, nulls,
    /// unknown fields and a byte-order mark are 400, another content type 415, a body over
    /// the limit 413 (Kestrel's MaxRequestBodySize enforces it while reading).</summary>
    private static async Task<T> ReadBody<T>(HttpContext http, CancellationToken cancel) where T : class
    {
        try { return await JsonBody.ReadAsync<T>(http.Request, cancel); }
        catch (BadBodyException e)
        {
            var title = e.Status switch { 413 => "request body too large", 415 => "unsupported media type", _ => "malformed request" };
            throw new ApiProblem(e.Status, title, new Dictionary<string, string[]> { [e.Field] = [e.Message] });
        }
    }

    /// <summary>The caller's token id and its Idempotency-Key header (1..200 visible ASCII characters).</summary>
    private static SweepExpander.Requested RequestedBy(HttpContext http)
    {
        var key = http.Request.Headers[IdempotencyKeyHeader].ToString();
        if (key.Length == 0) return new(Caller.Of(http)?.Id, null);
        if (key.Length > 200 || key.Any(c => c is < '!' or > '~'))
            throw new ApiProblem(400, "malformed request", new Dictionary<string, string[]> { [IdempotencyKeyHeader] = ["the key must be 1..200 visible ASCII characters"] });
        return new(Caller.Of(http)?.Id, key);
    }

    internal static async Task<IResult> Guard(Func<Task<IResult>> body)
    {
        try
        {
            return await body();
        }
        catch (ApiProblem p)
        {
            return Results.Problem(statusCode: p.Status, title: p.Title, detail: string.Join("; ", p.Errors.SelectMany(e => e.Value)),
                extensions: new Dictionary<string, object?> { ["errors"] = p.Errors });
        }
    }
}
