using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microscope.Contracts;
using Microscope.Engine.Models;
using Microscope.Farm.Hosting;
using Microscope.Farm.Security;
using Microscope.Farm.Storage;
using Microscope.Viewer.Actions;
using Microscope.Viewer.Catalogue;
using Microscope.Viewer.Circuits;
using Microscope.Viewer.Claims;
using Microscope.Viewer.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Microscope.Viewer;

/// <summary>The viewer's routes (docs/viewer.md lists them): pages, search, objects with
/// immutable caching, and the token-protected write actions forwarded to the coordinator.</summary>
public static class ViewerEndpoints
{
    public static readonly string[] SweepActions = ["pause", "resume", "cancel", "retry-failed"];
    private const string ImmutableCache = "public, max-age=31536000, immutable";

    /// <summary>A resolved link: the model version, and the op (and unit) when the link names
    /// one; <see cref="OpAsWritten"/> is the link's op text (an alias redirects to the name).</summary>
    private sealed record Resolved(ModelVersion Model, OpInfo? Op, int? Unit, string? OpAsWritten = null);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", async (CatalogueReader catalogue, CancellationToken cancel) =>
        {
            var models = await catalogue.ModelsAsync(cancel);
            return CataloguePages.Index(models, await catalogue.ResultCountsAsync(cancel), await catalogue.RepresentativesAsync(models, cancel));
        });

        app.MapGet("/models/{model}", async (string model, string? v, CatalogueReader catalogue, CancellationToken cancel) =>
        {
            var (found, missing) = await ResolveAsync(catalogue, model, null, v, cancel);
            if (found is null) return missing!;
            return CataloguePages.Model(found.Model, await catalogue.CoverageAsync(found.Model.Name, found.Model.Version, cancel),
                await catalogue.StripsAsync(found.Model.Name, found.Model.Version, CataloguePages.StripTechnique, OpGraphSvg.StripUnits, cancel));
        });

        Objectives.ObjectiveEndpoints.Map(app);

        // One route for op and unit pages: an op's name may hold slashes (SplitPath).
        app.MapGet("/models/{model}/{**path}", async (string model, string path, string? v, string? technique, string? lens, CatalogueReader catalogue,
            AccessTokens tokens, IObjectStore store, CircuitWeights circuits, ClaimStore claims, CancellationToken cancel) =>
        {
            var (found, missing) = await ResolveAsync(catalogue, model, path, v, cancel);
            if (found is null) return missing!;
            return found.Unit is null
                ? await OpPageAsync(found, v, technique, catalogue, cancel)
                : await UnitPageAsync(found, v, lens, catalogue, tokens, store, circuits, claims, cancel);
        });

        app.MapGet("/search", async (string? q, string? m, CatalogueReader catalogue, CancellationToken cancel) =>
        {
            if (string.IsNullOrWhiteSpace(q)) return Results.Redirect("/");
            return await SearchAsync(catalogue, q, m, cancel);
        });

        app.MapGet("/sweeps", async (CatalogueReader catalogue, AccessTokens tokens, TimeProvider clock, CancellationToken cancel) =>
            SweepsPage.Render(await catalogue.SweepsAsync(50, clock.GetUtcNow().ToUnixTimeMilliseconds(), cancel), tokens.AnyConfigured));

        app.MapPost("/sweeps/{id}/{action}", async (string id, string action, HttpRequest request, AccessTokens tokens, CatalogueReader catalogue,
            CoordinatorClient coordinator, CancellationToken cancel) =>
        {
            if (tokens.Check(request, Role.Operator) is { } denied) return denied;
            if (!SweepActions.Contains(action))
                return Results.Problem(statusCode: 404, title: "unknown action", detail: $"'{action}' is not one of {string.Join(", ", SweepActions)}");
            if (!Guid.TryParse(id, out var guid) || await catalogue.FindSweepAsync(guid, cancel) is null)
                return Results.Problem(statusCode: 404, title: "unknown sweep", detail: $"no sweep '{id}'");
            var (status, body) = await coordinator.SweepActionAsync(guid, action, AccessTokens.TokenOf(request)!, cancel);
            return Passthrough(status, body);
        });

        app.MapPost("/models/{model}/{**path}", async (string model, string path, string? v, HttpRequest request,
            AccessTokens tokens, CatalogueReader catalogue, CoordinatorClient coordinator, CancellationToken cancel) =>
        {
            // {op}/{unit}/renders or {op}/{unit}/fires (an uploaded image); the op may hold slashes.
            var fires = path.EndsWith("/fires", StringComparison.Ordinal);
            if (!path.EndsWith("/renders", StringComparison.Ordinal) && !fires)
                return Results.Problem(statusCode: 404, title: "not found", detail: $"nothing to post at '/models/{model}/{path}'");
            if (tokens.Check(request, Role.Researcher) is { } denied) return denied;
            var unitPath = path[..^(fires ? "/fires" : "/renders").Length];
            var (found, _) = await ResolveAsync(catalogue, model, unitPath, v, cancel);
            if (found?.Unit is null) return Results.Problem(statusCode: 404, title: "unknown unit", detail: $"no unit '{model}/{unitPath}'" + (v is null ? "" : $" at version '{v}'"));
            if (fires)
            {
                var (image, refused) = await Fires.FiresUpload.ReadAsync(request, cancel);
                if (refused is not null) return refused;
                var (firesStatus, firesBody) = await coordinator.FiresAsync(found.Model.Name, found.Model.Version, found.Op!.Name, found.Unit.Value,
                    new MemoryStream(image!), request.ContentType, AccessTokens.TokenOf(request)!, cancel);
                return Passthrough(firesStatus, firesBody);
            }
            RerenderForm form;
            try { form = await JsonBody.ReadAsync<RerenderForm>(request, cancel); }
            catch (BadBodyException e) { return Results.Problem(statusCode: e.Status, title: e.Status == 400 ? "malformed request" : "request refused", detail: $"{e.Field}: {e.Message}"); }
            var defaults = new RenderSettings();
            // An objective expression renders the objective lens under its own first op (ObjectiveRequests).
            var objective = string.IsNullOrWhiteSpace(form.Objective) ? null : form.Objective;
            var technique = form.Technique ?? TechniqueViews.Default;
            var (status, body) = await coordinator.RenderAsync(new RenderRequest
            {
                Model = found.Model.Name,
                Version = found.Model.Version,
                Op = objective is null ? found.Op!.Name : null,
                Unit = objective is null ? found.Unit : null,
                Objective = objective,
                Technique = objective is null ? technique : null,
                Force = form.Force,
                Parameters = defaults with
                {
                    Steps = form.Steps ?? defaults.Steps,
                    Size = form.Size ?? defaults.Size,
                    Seed = form.Seed ?? defaults.Seed,
                    LearningRate = form.LearningRate ?? defaults.LearningRate,
                    Transforms = form.Transforms ?? defaults.Transforms,
                    Precision = form.Precision ?? defaults.Precision,
                    // The coordinator checks them against the lens (an objective render has none: a 422 says so).
                    LensParameters = form.LensParameters is { Count: > 0 } given ? new Dictionary<string, IReadOnlyDictionary<string, string>> { [technique] = given } : null,
                },
            }, AccessTokens.TokenOf(request)!, cancel);
            if (status != StatusCodes.Status202Accepted) return Passthrough(status, body);
            var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
            return Results.Json(new { id, statusUrl = $"/renders/{id}" }, statusCode: StatusCodes.Status202Accepted);
        });

        app.MapGet("/renders/{id}", async (string id, CatalogueReader catalogue, CancellationToken cancel) =>
        {
            if (!Guid.TryParse(id, out var guid) || await catalogue.RenderTupleAsync(guid, cancel) is not { } tuple)
                return Results.Problem(statusCode: 404, title: "unknown render", detail: $"no render '{id}'");
            return Results.Json(CataloguePages.RenderStatus(tuple), CataloguePages.Web);
        });

        app.MapGet("/objects/{**key}", async (string key, HttpContext http, IObjectStore store, CancellationToken cancel) =>
        {
            try { ObjectKeyRules.Check(key); }
            catch (ArgumentException) { return Results.Problem(statusCode: 404, title: "no such object", detail: $"no object '{key}'"); }
            var data = await Objects.Thumbnails.GetAsync(store, key, cancel);
            if (data is null) return Results.Problem(statusCode: 404, title: "no such object", detail: $"no object '{key}'");
            // Keys are content- or parameter-addressed: the bytes behind a key do not change.
            var etag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(data))[..32]}\"");
            var headers = http.Response.GetTypedHeaders();
            headers.ETag = etag;
            http.Response.Headers.CacheControl = ImmutableCache;
            http.Response.Headers["X-Content-Type-Options"] = "nosniff";
            // SVG plots are images, never documents that run script.
            http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'";
            var ifNoneMatch = http.Request.GetTypedHeaders().IfNoneMatch;
            if (ifNoneMatch.Any(t => t.Compare(etag, useStrongComparison: false) || t.Equals(EntityTagHeaderValue.Any)))
                return Results.StatusCode(StatusCodes.Status304NotModified);
            return Results.Bytes(data, ObjectKeyRules.ContentType(key));
        });

        CircuitEndpoints.Map(app);
        ClaimEndpoints.Map(app);
        app.MapGet("/static/viewer.css", (HttpContext http) => Static(http, StaticAssets.Css, "text/css; charset=utf-8"));
        app.MapGet("/static/viewer.js", (HttpContext http) => Static(http, StaticAssets.Js, "text/javascript; charset=utf-8"));
    }

    private static async Task<IResult> OpPageAsync(Resolved found, string? v, string? technique, CatalogueReader catalogue, CancellationToken cancel)
    {
        var m = found.Model;
        var o = found.Op!;
        if (o.Name != found.OpAsWritten) return Results.Redirect(WithQuery(LinkResolver.Href(new Target(m.Name, o.Name, null)), v, technique), permanent: false);
        var have = await catalogue.TechniquesOfOpAsync(m.Name, m.Version, o.Name, cancel);
        var unitTechniques = have.Where(t => !TechniqueViews.IsOpLevel(t)).Append(TechniqueViews.Default).Distinct()
            .OrderBy(TechniqueViews.Rank).ThenBy(t => t, StringComparer.Ordinal).ToList();
        var chosen = technique ?? TechniqueViews.Default;
        if (!unitTechniques.Contains(chosen))
            return NotFoundPage.Render(new Missing("technique", chosen, o.Name,
                unitTechniques.Select(t => (t, $"{LinkResolver.Href(new Target(m.Name, o.Name, null))}?technique={Uri.EscapeDataString(t)}")).ToList()), m.Name);
        var grid = await catalogue.GridAsync(m.Name, m.Version, o.Name, chosen, cancel);
        var opLevel = new List<Coordinator.Data.ResultRow>();
        foreach (var t in have.Where(TechniqueViews.IsOpLevel))
            if (await catalogue.LatestOfOpAsync(m.Name, m.Version, o.Name, t, cancel) is { } r) opLevel.Add(r);
        return CataloguePages.Op(m, o, chosen, unitTechniques, grid, opLevel, await catalogue.ParametersAsync(opLevel.Select(r => r.ParamsHash), cancel));
    }

    private static async Task<IResult> UnitPageAsync(Resolved found, string? v, string? lens, CatalogueReader catalogue, AccessTokens tokens, IObjectStore store, CircuitWeights circuits, ClaimStore claims, CancellationToken cancel)
    {
        var m = found.Model;
        if (found.Op!.Name != found.OpAsWritten) return Results.Redirect(WithQuery(LinkResolver.Href(new Target(m.Name, found.Op.Name, found.Unit)), v, null));
        if (lens is not null && !UnitLead.Lenses.Contains(lens))
            return NotFoundPage.Render(new Missing("lens", lens, null, UnitLead.Lenses.Select(l => (l, UnitLead.Href(m.Name, found.Op.Name, found.Unit!.Value, v, l))).ToList()), m.Name);
        var results = (await catalogue.UnitResultsAsync(m.Name, m.Version, found.Op.Name, found.Unit!.Value, cancel))
            .Where(r => !TechniqueViews.IsOpLevel(r.Technique)).ToList();
        // An op-level lens (DeepDream, caricature) shows the op's result at the unit's location.
        var shownLens = lens ?? UnitLead.DefaultLens(results);
        var shown = TechniqueViews.IsOpLevel(shownLens)
            ? await catalogue.LatestOfOpAsync(m.Name, m.Version, found.Op.Name, shownLens, cancel)
            : results.FirstOrDefault(r => r.Technique == shownLens);
        var parameters = await catalogue.ParametersAsync(results.Select(r => r.ParamsHash).Concat(shown is null ? [] : [shown.ParamsHash]), cancel);
        // Scores and crops of the newest dataset examples live in their record, not the catalogue.
        var examples = results.FirstOrDefault(r => r.Technique == "dataset_examples") is { } ex
            ? DatasetExampleScores.Parse(await store.GetAsync(ex.RecordKey, cancel))
            : DatasetExamples.None;
        var connections = await CircuitEndpoints.SectionAsync(m, found.Op, found.Unit.Value, catalogue, circuits, cancel);
        var claimed = await ClaimEndpoints.SectionAsync(m.Name, found.Op.Name, found.Unit.Value, claims, cancel);
        return CataloguePages.Unit(m, found.Op, found.Unit.Value, results, parameters, examples, Engine.Lenses.LensRegistry.All.Where(l => !l.OpLevel).Select(l => l.Name).ToList(), tokens.AnyConfigured, [connections, claimed],
            shownLens, lens, shown);
    }

    /// <summary>The body of a re-render request (the unit page's form). <c>LensParameters</c> are
    /// the technique's own, as invariant text (<c>{"images": "6"}</c>).</summary>
    private sealed record RerenderForm(string? Technique = null, int? Steps = null, int? Size = null, int? Seed = null, double? LearningRate = null, bool? Transforms = null, bool Force = false, string? Objective = null,
        string? Precision = null, IReadOnlyDictionary<string, string>? LensParameters = null);

    private static IResult Static(HttpContext http, string text, string type)
    {
        http.Response.Headers.CacheControl = ImmutableCache;
        return Results.Content(text, type);
    }

    private static IResult Passthrough(int status, string body) =>
        Results.Content(body, status >= 400 ? "application/problem+json" : "application/json", Encoding.UTF8, status);

    private static string WithQuery(string path, string? v, string? technique)
    {
        var q = new List<string>();
        if (v is not null) q.Add("v=" + Uri.EscapeDataString(v));
        if (technique is not null) q.Add("technique=" + Uri.EscapeDataString(technique));
        return q.Count == 0 ? path : path + "?" + string.Join('&', q);
    }

    /// <summary>Resolves the model and the path after it (op, or op and unit; op aliases
    /// included; the op may hold slashes, see <see cref="LinkResolver.SplitPath"/>) or the 404
    /// page that names the first missing part.</summary>
    private static async Task<(Resolved? Found, IResult? Missing)> ResolveAsync(CatalogueReader catalogue, string model, string? path, string? version, CancellationToken cancel)
    {
        var m = await catalogue.FindModelAsync(model, version, cancel);
        if (m is null)
        {
            var exists = await catalogue.FindModelAsync(model, null, cancel);
            if (exists is not null)
            {
                var wanted = path is null ? null : LinkResolver.SplitPath(exists.Descriptor, path).Op;
                return (null, NotFoundPage.Render(new Missing("version", version!, model,
                    exists.AllVersions.Select(x => (x, $"{LinkResolver.Href(new Target(model, wanted, null))}?v={Uri.EscapeDataString(x)}")).ToList()), model));
            }
            return (null, NotFoundPage.Render(new Missing("model", model, null, LinkResolver.SuggestModels(model, await catalogue.ModelNamesAsync(cancel)))));
        }
        var pin = m.IsLatest && version is null ? null : m.Version;
        if (path is null) return (new Resolved(m, null, null), null);
        var (op, unit) = LinkResolver.SplitPath(m.Descriptor, path);
        var o = LinkResolver.FindOp(m.Descriptor, op);
        if (o is null) return (null, NotFoundPage.Render(new Missing("op", op, m.Name, LinkResolver.SuggestOps(m.Descriptor, op, pin)), m.Name));
        if (unit is null) return (new Resolved(m, o, null, op), null);
        if (!LinkResolver.TryUnit(unit, out var u) || u >= o.Channels)
            return (null, NotFoundPage.Render(new Missing("unit", unit, o.Name, LinkResolver.SuggestUnits(m.Descriptor, o, unit, pin)), m.Name));
        return (new Resolved(m, o, u, op), null);
    }

    /// <summary>Search: a full or shorthand link goes to its page; otherwise a 404 naming
    /// what was not found. Model-less shorthands try the page's model, then inceptionv1,
    /// then every other model.</summary>
    private static async Task<IResult> SearchAsync(CatalogueReader catalogue, string query, string? contextModel, CancellationToken cancel)
    {
        var names = await catalogue.ModelNamesAsync(cancel);
        var (model, op, unit) = LinkResolver.Parse(query);
        if (op is null)
        {
            var word = query.Trim().Trim('/');
            if (names.Contains(word)) return Results.Redirect(LinkResolver.Href(new Target(word, null, null)));
            // A bare op name: the first model that has it.
            foreach (var candidate in SearchOrder(names, contextModel))
                if (await catalogue.FindModelAsync(candidate, null, cancel) is { } mv && LinkResolver.FindOpForSearch(mv.Descriptor, word) is { } bareOp)
                    return Results.Redirect(LinkResolver.Href(new Target(mv.Name, bareOp.Name, null)));
            return NotFoundPage.Render(new Missing("search", word, null, LinkResolver.SuggestModels(word, names)), contextModel);
        }
        if (model is not null)
        {
            var mv = await catalogue.FindModelAsync(model, null, cancel);
            if (mv is null) return NotFoundPage.Render(new Missing("model", model, null, LinkResolver.SuggestModels(model, names)), contextModel);
            return Land(mv, op, unit);
        }
        ModelVersion? first = null;
        foreach (var candidate in SearchOrder(names, contextModel))
        {
            if (await catalogue.FindModelAsync(candidate, null, cancel) is not { } mv) continue;
            first ??= mv;
            if (LinkResolver.FindOpForSearch(mv.Descriptor, op) is not null) return Land(mv, op, unit);
        }
        if (first is null) return NotFoundPage.Render(new Missing("model", contextModel ?? LinkResolver.PreferredModel, null, []), contextModel);
        return NotFoundPage.Render(new Missing("op", op, first.Name, LinkResolver.SuggestOps(first.Descriptor, op, null)), contextModel);
    }

    private static IEnumerable<string> SearchOrder(IReadOnlyList<string> names, string? contextModel) =>
        new[] { contextModel, LinkResolver.PreferredModel }.OfType<string>().Where(names.Contains).Concat(names).Distinct();

    private static IResult Land(ModelVersion m, string op, string? unit)
    {
        var o = LinkResolver.FindOpForSearch(m.Descriptor, op);
        if (o is null) return NotFoundPage.Render(new Missing("op", op, m.Name, LinkResolver.SuggestOps(m.Descriptor, op, null)), m.Name);
        if (string.IsNullOrEmpty(unit)) return Results.Redirect(LinkResolver.Href(new Target(m.Name, o.Name, null)));
        if (!LinkResolver.TryUnit(unit, out var u) || u >= o.Channels)
            return NotFoundPage.Render(new Missing("unit", unit, o.Name, LinkResolver.SuggestUnits(m.Descriptor, o, unit, null)), m.Name);
        return Results.Redirect(LinkResolver.Href(new Target(m.Name, o.Name, u)));
    }
}
