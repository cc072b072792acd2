using Microscope.Farm.Hosting;
using Microscope.Farm.Security;
using Microscope.Viewer.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Viewer.Claims;

/// <summary>Claims' routes (docs/viewer.md): the JSON API (writes need a researcher's or an
/// operator's token; editing and deleting, the author's), the claim page and the searchable list.</summary>
public static class ClaimEndpoints
{
    private const int ListSize = 100;

    public static void AddClaims(this IServiceCollection services) => services.AddScoped<ClaimStore>();

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/api/claims", async (HttpRequest request, ClaimStore claims, CancellationToken cancel) =>
        {
            var caller = Caller.Of(request.HttpContext)!;
            return await WithFormAsync(request, cancel, async form =>
            {
                var claim = await claims.CreateAsync(caller.Id, form, cancel);
                return Results.Json(claim, CataloguePages.Web, statusCode: StatusCodes.Status201Created);
            });
        }).RequireRole(Role.Researcher);

        app.MapPut("/api/claims/{id}", async (string id, HttpRequest request, ClaimStore claims, CancellationToken cancel) =>
        {
            if (await AuthorCheckAsync(id, request, claims, cancel) is { } refused) return refused;
            return await WithFormAsync(request, cancel, async form => Results.Json(await claims.UpdateAsync(Guid.Parse(id), form, cancel), CataloguePages.Web));
        }).RequireRole(Role.Researcher);

        app.MapDelete("/api/claims/{id}", async (string id, HttpRequest request, ClaimStore claims, CancellationToken cancel) =>
        {
            if (await AuthorCheckAsync(id, request, claims, cancel) is { } refused) return refused;
            await claims.DeleteAsync(Guid.Parse(id), cancel);
            return Results.NoContent();
        }).RequireRole(Role.Researcher);

        app.MapGet("/api/claims/{id}", async (string id, ClaimStore claims, CancellationToken cancel) =>
            Guid.TryParse(id, out var guid) && await claims.FindAsync(guid, cancel) is { } claim ? Results.Json(claim, CataloguePages.Web) : NoClaim(id));

        app.MapGet("/api/claims", async (string? q, ClaimStore claims, CancellationToken cancel) =>
            Results.Json(await claims.SearchAsync(q, ListSize, cancel), CataloguePages.Web));

        app.MapGet("/claims/{id}", async (string id, ClaimStore claims, CancellationToken cancel) =>
            Guid.TryParse(id, out var guid) && await claims.FindAsync(guid, cancel) is { } claim
                ? ClaimsPages.Claim(claim)
                : NotFoundPage.Render(new Catalogue.Missing("claim", id, null, [("all claims", "/claims")])));

        app.MapGet("/claims", async (string? q, ClaimStore claims, CancellationToken cancel) =>
            ClaimsPages.List(q, await claims.SearchAsync(q, ListSize, cancel)));
    }

    /// <summary>The unit page's section: the claims that name the unit.</summary>
    public static async Task<string> SectionAsync(string model, string op, int unit, ClaimStore claims, CancellationToken cancel) =>
        ClaimsPages.Section(model, op, unit, await claims.OfUnitAsync(model, op, unit, cancel));

    private static async Task<IResult> WithFormAsync(HttpRequest request, CancellationToken cancel, Func<ClaimForm, Task<IResult>> write)
    {
        ClaimForm form;
        try { form = await JsonBody.ReadAsync<ClaimForm>(request, cancel); }
        catch (BadBodyException e) { return Results.Problem(statusCode: e.Status, title: e.Status == 400 ? "malformed request" : "request refused", detail: $"{e.Field}: {e.Message}"); }
        try { return await write(form); }
        catch (BadClaimException e) { return Results.Problem(statusCode: 400, title: "bad claim", detail: e.Message); }
    }

    /// <summary>404 for no such claim, 403 when the caller did not write it; null when they did.</summary>
    private static async Task<IResult?> AuthorCheckAsync(string id, HttpRequest request, ClaimStore claims, CancellationToken cancel)
    {
        if (!Guid.TryParse(id, out var guid) || await claims.AuthorOfAsync(guid, cancel) is not { } author) return NoClaim(id);
        return author == Caller.Of(request.HttpContext)!.Id ? null
            : Results.Problem(statusCode: 403, title: "not the author", detail: $"claim {id} was written with another token; only its author edits or deletes it");
    }

    private static IResult NoClaim(string id) => Results.Problem(statusCode: 404, title: "unknown claim", detail: $"no claim '{id}'");
}
