using Microscope.Farm.Hosting;
using Microscope.Viewer.Catalogue;
using Microscope.Viewer.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Viewer.Circuits;

/// <summary>The circuits' routes (docs/viewer.md): the connections of a unit as JSON, its
/// two-level circuit picture, and the unit page's section.</summary>
public static class CircuitEndpoints
{
    private const int MaxTop = 50;
    private const int CircuitInputs = 4, CircuitInputsOfInputs = 3;

    /// <summary>The weight tables' service; it loads models with <paramref name="weights"/> (the
    /// workers' Models section).</summary>
    public static void AddCircuits(this IServiceCollection services, ModelWeightsOptions weights)
    {
        services.AddSingleton(weights);
        services.AddSingleton<CircuitWeights>();
    }

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/models/{model}/{op}/{unit}/connections", async (string model, string op, string unit, string? v, int? top,
            CatalogueReader catalogue, CircuitWeights circuits, CancellationToken cancel) =>
        {
            if (top is < 1 or > MaxTop) return Results.Problem(statusCode: 400, title: "bad top", detail: $"top: {top} is not between 1 and {MaxTop}");
            var (found, problem) = await ResolveAsync(catalogue, model, op, unit, v, cancel);
            if (found is null) return problem!;
            try { return Results.Json(await UnitConnectionsBuilder.BuildAsync(found.Value.Model, found.Value.Op, found.Value.Unit, top ?? UnitConnectionsBuilder.DefaultTop, circuits, catalogue, cancel), CataloguePages.Web); }
            catch (CircuitsUnavailableException e) { return Unavailable(e); }
        });

        app.MapGet("/models/{model}/{op}/{unit}/circuit", async (string model, string op, string unit, string? v,
            CatalogueReader catalogue, CircuitWeights circuits, CancellationToken cancel) =>
        {
            var (found, problem) = await ResolveAsync(catalogue, model, op, unit, v, cancel);
            if (found is null) return problem!;
            try { return await CircuitAsync(found.Value.Model, found.Value.Op, found.Value.Unit, catalogue, circuits, cancel); }
            catch (CircuitsUnavailableException e) { return Unavailable(e); }
        });
    }

    /// <summary>The unit page's Connections section (a note instead when they cannot be computed here).</summary>
    public static async Task<string> SectionAsync(ModelVersion m, Engine.Models.OpInfo op, int unit, CatalogueReader catalogue, CircuitWeights circuits, CancellationToken cancel)
    {
        try { return UnitConnectionsSection.Render(await UnitConnectionsBuilder.BuildAsync(m, op, unit, UnitConnectionsBuilder.DefaultTop, circuits, catalogue, cancel)); }
        catch (CircuitsPendingException e) { return UnitConnectionsSection.Unavailable("Connections " + e.Message); }
        catch (CircuitsUnavailableException e) { return UnitConnectionsSection.Unavailable("Connections unavailable: " + e.Message); }
    }

    /// <summary>409 when this viewer cannot load the model; 503 with Retry-After while a sweep's
    /// circuits tuple has the tables queued (they will be there: ask again).</summary>
    private static IResult Unavailable(CircuitsUnavailableException e) => e is CircuitsPendingException
        ? new RetryLater(Results.Problem(statusCode: 503, title: "connections being computed by the farm", detail: e.Message))
        : Results.Problem(statusCode: 409, title: "connections unavailable", detail: e.Message);

    private sealed class RetryLater(IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.Headers.RetryAfter = "10";
            return inner.ExecuteAsync(context);
        }
    }

    private static async Task<IResult> CircuitAsync(ModelVersion m, Engine.Models.OpInfo op, int unit, CatalogueReader catalogue, CircuitWeights circuits, CancellationToken cancel)
    {
        var pin = m.IsLatest ? null : m.Version;
        var thumbs = new Dictionary<string, IReadOnlyDictionary<int, string>>(StringComparer.Ordinal);
        async Task<CircuitPage.Node> NodeAsync(string o, int u)
        {
            if (!thumbs.TryGetValue(o, out var t)) thumbs[o] = t = await UnitConnectionsBuilder.ThumbnailsAsync(m, o, catalogue, cancel);
            return new CircuitPage.Node(o, u, LinkResolver.Href(new Target(m.Name, o, u), pin), t.GetValueOrDefault(u));
        }
        static IEnumerable<Connected> Strongest(UnitConnections c, int take) =>
            c.Inputs.SelectMany(g => g.Positive.Concat(g.Negative)).Select(x => new Connected(x.Op, x.Unit, x.Weight))
                .OrderByDescending(x => Math.Abs(x.Weight)).ThenBy(x => x.Op, StringComparer.Ordinal).ThenBy(x => x.Unit).Take(take);

        var root = await NodeAsync(op.Name, unit);
        var edges = new List<CircuitPage.Edge>();
        var level1 = new List<CircuitPage.Node>();
        var level2 = new List<IReadOnlyList<CircuitPage.Node>>();
        var first = await UnitConnectionsBuilder.BuildAsync(m, op, unit, CircuitInputs, circuits, catalogue, cancel);
        foreach (var input in Strongest(first, CircuitInputs))
        {
            var node = await NodeAsync(input.Op, input.Unit);
            level1.Add(node);
            edges.Add(new CircuitPage.Edge(node, root, input.Weight));
            var inputOp = m.Descriptor.Ops.Single(o => o.Name == input.Op);
            var second = await UnitConnectionsBuilder.BuildAsync(m, inputOp, input.Unit, CircuitInputsOfInputs, circuits, catalogue, cancel);
            var column = new List<CircuitPage.Node>();
            foreach (var inner in Strongest(second, CircuitInputsOfInputs))
            {
                var n = await NodeAsync(inner.Op, inner.Unit);
                column.Add(n);
                edges.Add(new CircuitPage.Edge(n, node, inner.Weight));
            }
            level2.Add(column);
        }
        return CircuitPage.Render(m, root, level1, level2, edges);
    }

    private sealed record Connected(string Op, int Unit, double Weight);

    private static async Task<((ModelVersion Model, Engine.Models.OpInfo Op, int Unit)? Found, IResult? Problem)> ResolveAsync(
        CatalogueReader catalogue, string model, string op, string unit, string? version, CancellationToken cancel)
    {
        var m = await catalogue.FindModelAsync(model, version, cancel);
        if (m is null) return (null, Results.Problem(statusCode: 404, title: "unknown model", detail: $"no model '{model}'" + (version is null ? "" : $" at version '{version}'")));
        var o = LinkResolver.FindOp(m.Descriptor, op);
        if (o is null) return (null, Results.Problem(statusCode: 404, title: "unknown op", detail: $"model '{m.Name}' has no op '{op}'"));
        if (!LinkResolver.TryUnit(unit, out var u) || u >= o.Channels)
            return (null, Results.Problem(statusCode: 404, title: "unknown unit", detail: $"op '{o.Name}' has no unit '{unit}' (it has {o.Channels})"));
        return ((m, o, u), null);
    }
}
