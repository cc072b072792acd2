using Microscope.Coordinator.Data;
using Microscope.Viewer.Catalogue;
using Microscope.Viewer.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microscope.Viewer.Objectives;

/// <summary>The routes of objective renders. Literal "objectives" segments take precedence over
/// the op/unit catch-all route, so an op named "objectives" would be shadowed (none is).</summary>
public static class ObjectiveEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/models/{model}/objectives", async (string model, string? v, CatalogueReader catalogue, FarmDb db, CancellationToken cancel) =>
        {
            if (await catalogue.FindModelAsync(model, v, cancel) is not { } m) return Missing(model, v);
            return ObjectivePages.List(m, await new ObjectiveCatalogue(db, catalogue).ListAsync(m.Name, m.Version, cancel));
        });

        app.MapGet("/models/{model}/objectives/{hash}", async (string model, string hash, string? v, CatalogueReader catalogue, FarmDb db, CancellationToken cancel) =>
        {
            if (await catalogue.FindModelAsync(model, v, cancel) is not { } m) return Missing(model, v);
            var found = await new ObjectiveCatalogue(db, catalogue).FindAsync(m.Name, m.Version, hash, cancel);
            return found is null
                ? NotFoundPage.Render(new Missing("objective", hash, m.Name, [("every objective of " + m.Name, ObjectiveCatalogue.ListHref(m.Name, m.IsLatest ? null : m.Version))]), m.Name)
                : ObjectivePages.One(m, found);
        });
    }

    private static IResult Missing(string model, string? version) =>
        NotFoundPage.Render(version is null ? new Missing("model", model, null, []) : new Missing("version", version, model, []));
}
