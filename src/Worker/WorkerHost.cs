using MassTransit;
using Microscope.Farm.Hosting;
using Microscope.Farm.Messaging;
using Microscope.Farm.Metrics;
using Microscope.Farm.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Microscope.Worker;

/// <summary>Composes a worker: options (validated now), object store, the Engine renderer and
/// the two render lanes on the bus. `microscope worker` runs it; `microscope demo` adds the
/// same services and consumers to the coordinator's process.</summary>
public static class WorkerHost
{
    public static IHost Build(IConfiguration configuration)
    {
        var options = FarmConfiguration.Bind<WorkerOptions>(configuration, WorkerOptions.Section);
        var transport = FarmConfiguration.Bind<TransportOptions>(configuration, TransportOptions.Section);
        var storage = FarmConfiguration.Bind<StorageOptions>(configuration, StorageOptions.Section);
        var weights = FarmConfiguration.Bind<ModelWeightsOptions>(configuration, ModelWeightsOptions.Section);
        var telemetry = FarmConfiguration.Bind<TelemetryOptions>(configuration, TelemetryOptions.Section);
        weights.RegisterSpecs();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(configuration);
        builder.Services.AddFarmLogging(configuration);
        // No web server here: Telemetry:WorkerMetricsUrl starts a listener for Prometheus.
        builder.Services.AddFarmTelemetry(telemetry, "worker", options.ResolvedId, listener: true);
        // On shutdown the packet in hand is finished first (see RenderWorkConsumer).
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromMinutes(5));
        builder.Services.AddSingleton(weights);
        AddServices(builder.Services, options, storage);
        builder.Services.AddFarmBus(transport, AddConsumers);
        return builder.Build();
    }

    public static void AddServices(IServiceCollection services, WorkerOptions options, StorageOptions storage)
    {
        services.AddSingleton(options);
        services.AddSingleton<ModelFileCache>();
        services.AddSingleton<PacketRenderer>();
        services.AddSingleton<DeviceGate>();
        services.AddSingleton<FaultInjector>();
        services.AddSingleton<StallWatchdog>();
        services.AddHostedService<WorkerStartup>();
        services.TryAddObjectStore(storage);
    }

    public static void AddConsumers(IBusRegistrationConfigurator x)
    {
        x.AddConsumer<RenderWorkConsumer, RenderWorkConsumerDefinition>();
        x.AddConsumer<PriorityRenderWorkConsumer, PriorityRenderWorkConsumerDefinition>();
    }

    private static void TryAddObjectStore(this IServiceCollection services, StorageOptions storage)
    {
        if (services.Any(s => s.ServiceType == typeof(IObjectStore))) return;
        services.AddObjectStore(storage);
    }
}

internal sealed class WorkerStartup(IObjectStore store, PacketRenderer renderer, WorkerOptions options, Microsoft.Extensions.Logging.ILogger<WorkerStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancel)
    {
        await store.EnsureReadyAsync(cancel);
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger, "worker {Worker} on {Device}, storing to {Store}", options.ResolvedId, renderer.Device, store.Describe());
    }

    public Task StopAsync(CancellationToken cancel) => Task.CompletedTask;
}
