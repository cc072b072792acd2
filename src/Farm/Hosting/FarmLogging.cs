using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Events;

namespace Microscope.Farm.Hosting;

/// <summary>Serilog for every farm service: structured console logs whose properties carry
/// the sweep, packet and tuple ids pushed as logging scopes. Levels and sinks can be changed
/// under the <c>Serilog</c> configuration section (Serilog.Settings.Configuration).</summary>
public static class FarmLogging
{
    public const string Template = "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj} {Properties:j}{NewLine}{Exception}";

    /// <summary>A console logger for start-up, before configuration is read, so a service
    /// that fails to start says why.</summary>
    public static void UseBootstrapLogger() =>
        Log.Logger = new LoggerConfiguration().MinimumLevel.Information().WriteTo.Console(outputTemplate: Template, standardErrorFromLevel: LogEventLevel.Verbose).CreateLogger();

    public static Serilog.ILogger Create(IConfiguration configuration)
    {
        var config = new LoggerConfiguration()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("MassTransit", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .ReadFrom.Configuration(configuration)
            .Enrich.FromLogContext();
        // Services log to stderr, so stdout stays free for the CLI's own output.
        if (!configuration.GetSection("Serilog:WriteTo").Exists())
            config = config.WriteTo.Console(outputTemplate: Template, standardErrorFromLevel: LogEventLevel.Verbose);
        return config.CreateLogger();
    }

    /// <summary>The service's logger factory is Serilog's (Serilog.Extensions.Hosting), with
    /// the diagnostic context that request logging (<see cref="UseFarmRequestLogging"/>) fills.</summary>
    public static void AddFarmLogging(this IServiceCollection services, IConfiguration configuration)
    {
        var logger = Create(configuration);
        services.AddLogging();
        services.AddSingleton(logger);
        services.AddSerilog(logger, dispose: true);
    }

    /// <summary>One event per HTTP request (Serilog.AspNetCore), written when the response is
    /// done: method, path, status, elapsed ms, the matched route, and the sweep / model / op /
    /// unit ids the route names, as properties to search by. Health probes and metric scrapes
    /// are Debug (below the default level), 5xx and failed requests Error.</summary>
    public static void UseFarmRequestLogging(this IApplicationBuilder app)
    {
        app.UseSerilogRequestLogging(o =>
        {
            o.Logger = app.ApplicationServices.GetRequiredService<Serilog.ILogger>();
            o.MessageTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0} ms";
            o.GetLevel = (http, _, error) =>
                error is not null || http.Response.StatusCode >= 500 ? LogEventLevel.Error
                : IsProbe(http.Request.Path) ? LogEventLevel.Debug
                : LogEventLevel.Information;
            o.EnrichDiagnosticContext = EnrichFromRoute;
        });
    }

    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics");

    /// <summary>Route values under the names the farm's other log events use (SweepId is
    /// pushed as a scope by the coordinator's sweep and packet code).</summary>
    private static void EnrichFromRoute(IDiagnosticContext diagnostics, HttpContext http)
    {
        if (http.GetEndpoint() is not RouteEndpoint endpoint) return;
        var route = endpoint.RoutePattern.RawText ?? "";
        diagnostics.Set("Route", route);
        var values = http.Request.RouteValues;
        // Sweeps and single re-renders ("renders") are both rows of the sweeps table.
        if ((route.Contains("sweeps/{id", StringComparison.Ordinal) || route.Contains("renders/{id", StringComparison.Ordinal))
            && values.TryGetValue("id", out var id))
            diagnostics.Set("SweepId", id);
        foreach (var (name, property) in RouteIds)
            if (values.TryGetValue(name, out var value) && value is not null) diagnostics.Set(property, value);
    }

    private static readonly (string Route, string Property)[] RouteIds = [("model", "Model"), ("op", "Op"), ("unit", "Unit")];
}
