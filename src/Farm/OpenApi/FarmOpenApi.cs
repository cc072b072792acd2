using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Microscope.Farm.OpenApi;

/// <summary>The OpenAPI description of a service's routes (ASP.NET Core's own generator reads
/// the mapped endpoints, so a new route is described without anyone listing it) and Scalar's
/// interactive reference page, whose script the package embeds (no CDN: clusters and test
/// machines may have no way out).</summary>
public static class FarmOpenApi
{
    public const string DocumentName = "v1";
    public const string DocumentPath = "/openapi/v1.json";
    public const string ReferencePath = "/api-reference";

    /// <param name="summaries">One line per route, keyed "GET /api/sweeps/{id}" (the route as mapped).</param>
    public static IServiceCollection AddFarmOpenApi(this IServiceCollection services, string title, string description,
        IReadOnlyDictionary<string, string> summaries)
    {
        services.AddOpenApi(DocumentName, o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo { Title = title, Version = DocumentName, Description = description };
                return Task.CompletedTask;
            });
            o.AddOperationTransformer((operation, context, _) =>
            {
                var route = RouteKey(context.Description.RelativePath ?? "");
                if (summaries.TryGetValue($"{context.Description.HttpMethod} {route}", out var summary)) operation.Summary ??= summary;
                return Task.CompletedTask;
            });
        });
        return services;
    }

    /// <summary>A route as the document names it: constraints and catch-all stars dropped
    /// ("api/sweeps/{id:guid}" and "objects/{**key}" become "/api/sweeps/{id}", "/objects/{key}").</summary>
    public static string RouteKey(string route) =>
        "/" + System.Text.RegularExpressions.Regex.Replace(route.Split('?')[0].Trim('/'), @"\{\**([A-Za-z0-9_]+)(:[^}]*)?\??\}", "{$1}");

    /// <summary>GET /openapi/v1.json and the reference page at /api-reference.</summary>
    public static void MapFarmOpenApi(this IEndpointRouteBuilder app, string title)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference(ReferencePath, o =>
        {
            o.Title = title;
            // Its fonts come from fonts.scalar.com otherwise: the system's fonts, nothing fetched from outside.
            o.DefaultFonts = false;
            // Scalar's usage telemetry would call out too.
            o.Telemetry = false;
            o.OpenApiRoutePattern = "/openapi/{documentName}.json";
        });
    }
}
