using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microscope.Farm.Metrics;

/// <summary>OpenTelemetry for a farm service: the farm's meter plus MassTransit's and ASP.NET
/// Core's own, exported for Prometheus; traces over OTLP when a collector is configured.</summary>
public static class FarmTelemetry
{
    /// <summary>MassTransit's ActivitySource and Meter (MassTransit.Logging.DiagnosticHeaders.DefaultListenerName).</summary>
    public const string MassTransitSource = "MassTransit";

    /// <param name="service">coordinator, worker or viewer (the resource's service.name is microscope-{service}).</param>
    /// <param name="listener">Serve /metrics from an HttpListener at options.WorkerMetricsUrl (a worker has no web server).</param>
    public static IServiceCollection AddFarmTelemetry(this IServiceCollection services, TelemetryOptions options, string service, string? instance = null, bool listener = false)
    {
        services.AddSingleton(options);
        var serve = listener ? options.WorkerMetricsUrl is not null : options.Metrics;
        if (!serve && options.OtlpEndpoint is null) return services;
        var otel = services.AddOpenTelemetry().ConfigureResource(r => r.AddService("microscope-" + service, serviceInstanceId: instance));
        if (serve)
            otel.WithMetrics(m =>
            {
                m.AddMeter(FarmMetrics.MeterName, MassTransitSource, "Microsoft.AspNetCore.Hosting");
                if (listener) m.AddPrometheusHttpListener(o => (o.Host, o.Port) = options.WorkerMetricsListener!.Value);
                else m.AddPrometheusExporter();
            });
        if (options.OtlpEndpoint is not null)
            otel.WithTracing(t => t.AddSource(MassTransitSource, "Microsoft.AspNetCore", "System.Net.Http")
                .AddOtlpExporter(o => o.Endpoint = new Uri(options.OtlpEndpoint)));
        return services;
    }

    /// <summary>GET /metrics (Prometheus text format) when Telemetry:Metrics is on.</summary>
    public static void MapFarmMetrics(this IEndpointRouteBuilder app, TelemetryOptions options)
    {
        if (options.Metrics) app.MapPrometheusScrapingEndpoint("/metrics");
    }
}
