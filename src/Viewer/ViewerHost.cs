using Microscope.Coordinator;
using Microscope.Coordinator.Data;
using Microscope.Farm.Hosting;
using Microscope.Farm.OpenApi;
using Microscope.Farm.Security;
using Microscope.Farm.Storage;
using Microscope.Viewer.Actions;
using Microscope.Viewer.Catalogue;
using Microscope.Viewer.Circuits;
using Microscope.Viewer.Claims;
using Microscope.Viewer.OpenApi;
using Microscope.Viewer.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microscope.Viewer;

/// <summary>Composes the viewer: options (validated now), the catalogue database (read
/// only: the coordinator owns the schema), the object store, the coordinator client for
/// write actions, and the routes. `microscope viewer` runs it; `microscope demo` beside
/// the single-machine farm.</summary>
public static class ViewerHost
{
    public static WebApplication Build(IConfiguration configuration)
    {
        var options = FarmConfiguration.Bind<ViewerOptions>(configuration, ViewerOptions.Section);
        var database = FarmConfiguration.Bind<DatabaseOptions>(configuration, DatabaseOptions.Section);
        var storage = FarmConfiguration.Bind<StorageOptions>(configuration, StorageOptions.Section);
        // The weights of zoo models, as the workers': the viewer computes connections with them.
        var weights = FarmConfiguration.Bind<ModelWeightsOptions>(configuration, ModelWeightsOptions.Section);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(configuration);
        builder.WebHost.UseKestrelCore().UseUrls(options.Urls)
            .ConfigureKestrel(k =>
            {
                k.Limits.MaxRequestBodySize = 16 * 1024;
                k.Limits.MaxRequestLineSize = ProblemResponses.KestrelRequestLineLimit;
            });
        builder.Services.AddRoutingCore();
        builder.Services.AddFarmLogging(configuration);
        builder.Services.AddProblemDetails();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddDbContext<FarmDb>(o => CoordinatorHost.Configure(o, database));
        builder.Services.AddObjectStore(storage);
        builder.Services.AddScoped<CatalogueReader>();
        builder.Services.AddCircuits(weights);
        builder.Services.AddClaims();
        builder.Services.AddSingleton(new AccessTokens(options.OperatorTokens, options.ResearcherTokens));
        builder.Services.AddHttpClient<CoordinatorClient>(c =>
        {
            c.BaseAddress = new Uri(options.Coordinator);
            c.Timeout = TimeSpan.FromSeconds(30);
        });
        builder.Services.AddFarmOpenApi(ViewerApiDocs.Title, ViewerApiDocs.Description, ViewerApiDocs.Summaries);
        builder.Services.AddHealthChecks().AddCheck<CatalogueHealthCheck>("catalogue", tags: ["ready"]);

        var app = builder.Build();
        app.UseFarmRequestLogging();
        app.UseProblemResponses();
        // Server-Timing: the time the viewer spent on a response, visible in the browser's
        // developer tools and read by the performance test.
        app.Use(async (http, next) =>
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            http.Response.OnStarting(() =>
            {
                var ms = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                http.Response.Headers["Server-Timing"] = $"app;dur={ms.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)}";
                return Task.CompletedTask;
            });
            await next(http);
        });
        app.UseRouting();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", ProblemResponses.ReadyCheck);
        app.MapFarmOpenApi(ViewerApiDocs.Title);
        ViewerEndpoints.Map(app);
        // GET only: another method on a known path is 405, on an unknown one 404 (problem details).
        app.MapFallback((HttpContext http) => NotFoundPage.Render(new Catalogue.Missing("page", http.Request.Path.Value ?? "/", null, [("all models", "/")])))
            .WithMetadata(new HttpMethodMetadata(["GET", "HEAD"])).ExcludeFromDescription();
        return app;
    }

    /// <summary>The address the viewer actually listens on (after start; resolves port 0).</summary>
    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
}

/// <summary>Ready when the catalogue's tables can be read (the coordinator has migrated).</summary>
internal sealed class CatalogueHealthCheck(FarmDb db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancel = default)
    {
        try
        {
            await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.AnyAsync(db.Models, cancel);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }
}
