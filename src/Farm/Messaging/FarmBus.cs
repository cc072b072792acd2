using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microscope.Farm.Messaging;

/// <summary>The one MassTransit bus of a process. The coordinator and the worker each add
/// their consumers (with their definitions: endpoint, concurrency, retry); the single-machine
/// demo adds both to one in-memory bus, the distributed services each their own on RabbitMQ.</summary>
public static class FarmBus
{
    public static IServiceCollection AddFarmBus(this IServiceCollection services, TransportOptions transport,
        params Action<IBusRegistrationConfigurator>[] parts)
    {
        services.AddSingleton(transport);
        // Registered before the bus, so it runs first: packets sent before any worker
        // connected wait in the queue.
        if (transport.Kind == TransportKind.RabbitMq) services.AddHostedService<WorkQueueDeclarer>();
        services.AddMassTransit(x =>
        {
            // The farm runs where nothing outside can be reached (and should not be).
            x.DisableUsageTelemetry();
            foreach (var part in parts) part(x);
            // Every endpoint's queue as QueueDeclarations says (quorum, delivery limit).
            x.AddConfigureEndpointsCallback((name, endpoint) => QueueDeclarations.Apply(endpoint, name, transport));
            if (transport.Kind == TransportKind.InMemory)
            {
                x.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
            }
            else
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(new Uri(transport.RabbitMqUrl!), h => h.ConnectionName("microscope-farm"));
                    cfg.ConfigureEndpoints(context);
                });
            }
        });
        // Without WaitUntilStarted, publishes made right after start are lost before the
        // queues are bound (architecture doc).
        services.Configure<MassTransitHostOptions>(o =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = TimeSpan.FromSeconds(transport.StartTimeoutSeconds);
            o.StopTimeout = TimeSpan.FromSeconds(30);
        });
        return services;
    }
}

/// <summary>Declares the work queues at start (QueueDeclarations), on the coordinator and on
/// workers alike: both then agree with the workers' consumer endpoints.</summary>
internal sealed class WorkQueueDeclarer(TransportOptions transport, ILogger<WorkQueueDeclarer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancel) => QueueDeclarations.DeclareWorkQueuesAsync(transport, logger, cancel);

    public Task StopAsync(CancellationToken cancel) => Task.CompletedTask;
}
