using MassTransit;
using Microscope.Coordinator.Api;
using Microscope.Coordinator.Data;
using Microscope.Coordinator.Dispatch;
using Microscope.Coordinator.Events;
using Microscope.Coordinator.Metrics;
using Microscope.Coordinator.Models;
using Microscope.Coordinator.OpenApi;
using Microscope.Coordinator.Sweeps;
using Microscope.Farm.Hosting;
using Microscope.Farm.Messaging;
using Microscope.Farm.Metrics;
using Microscope.Farm.OpenApi;
using Microscope.Farm.Security;
using Microscope.Farm.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator;

/// <summary>Composes the coordinator: options (validated now), database, bus, object store,
/// background services and the HTTP API. `microscope coordinator` runs it alone;
/// `microscope demo` adds a worker to the same in-memory bus.</summary>
public static class CoordinatorHost
{
    public static WebApplication Build(IConfiguration configuration, Action<IServiceCollection>? addServices = null,
        Action<IBusRegistrationConfigurator>? addToBus = null)
    {
        var options = FarmConfiguration.Bind<CoordinatorOptions>(configuration, CoordinatorOptions.Section);
        var database = FarmConfiguration.Bind<DatabaseOptions>(configuration, DatabaseOptions.Section);
        var transport = FarmConfiguration.Bind<TransportOptions>(configuration, TransportOptions.Section);
        var storage = FarmConfiguration.Bind<StorageOptions>(configuration, StorageOptions.Section);
        var weights = FarmConfiguration.Bind<ModelWeightsOptions>(configuration, ModelWeightsOptions.Section);
        var telemetry = FarmConfiguration.Bind<TelemetryOptions>(configuration, TelemetryOptions.Section);
        weights.RegisterSpecs();
        // The worker fails a packet at its delivery MaxAttempts + 1: the broker must allow it.
        if (transport.Kind == TransportKind.RabbitMq && transport.QueueType == QueueKind.Quorum && transport.DeliveryLimit < options.MaxAttempts)
            throw new OptionsProblemException(TransportOptions.Section,
                [$"DeliveryLimit {transport.DeliveryLimit} must be at least Coordinator:MaxAttempts ({options.MaxAttempts}) (set {FarmConfiguration.EnvironmentName(TransportOptions.Section, nameof(TransportOptions.DeliveryLimit))})"]);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(configuration);
        builder.WebHost.UseKestrelCore().UseUrls(options.Urls)
            .ConfigureKestrel(k =>
            {
                k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
                k.Limits.MaxRequestLineSize = ProblemResponses.KestrelRequestLineLimit;
            });
        builder.Services.AddRoutingCore();
        builder.Services.AddFarmLogging(configuration);
        builder.Services.AddFarmTelemetry(telemetry, "coordinator");
        builder.Services.AddFarmOpenApi(CoordinatorApiDocs.Title, CoordinatorApiDocs.Description, CoordinatorApiDocs.Summaries);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(30));

        builder.Services.TryAddSingleton(weights);
        AddCoordinatorServices(builder.Services, options, database, storage);
        addServices?.Invoke(builder.Services);
        builder.Services.AddFarmBus(transport, AddConsumers, x => addToBus?.Invoke(x));

        var app = builder.Build();
        app.UseFarmRequestLogging();
        app.UseProblemResponses();
        app.UseRouting();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", ProblemResponses.ReadyCheck);
        app.MapFarmMetrics(telemetry);
        app.MapFarmOpenApi(CoordinatorApiDocs.Title);
        FarmApi.Map(app);
        ListsApi.Map(app);
        ModelsApi.Map(app);
        return app;
    }

    public static void AddCoordinatorServices(IServiceCollection services, CoordinatorOptions options, DatabaseOptions database, StorageOptions storage)
    {
        services.AddSingleton(options);
        services.AddSingleton(new AccessTokens(options.OperatorTokens, options.ResearcherTokens));
        services.AddSingleton(database);
        services.AddSingleton(TimeProvider.System);
        services.AddProblemDetails();
        services.AddDbContext<FarmDb>(o => Configure(o, database));
        services.AddObjectStore(storage);
        // Registered first, so the schema exists before the bus and the dispatcher start.
        services.AddHostedService<StartupTasks>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<Fires.FiringModels>();
        services.AddSingleton<ModelIntake>();
        services.AddScoped<SweepExpander>();
        services.AddScoped<SweepService>();
        services.AddSingleton<PacketDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<PacketDispatcher>());
        services.AddSingleton<BucketReconciler>();
        services.AddSingleton<Reaper>();
        services.AddHostedService(sp => sp.GetRequiredService<Reaper>());
        services.AddHostedService<QueueSampler>();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]);
    }

    private static readonly DatabaseTimings PostgresTimings = new("postgresql"), SqliteTimings = new("sqlite");

    public static void Configure(DbContextOptionsBuilder o, DatabaseOptions database)
    {
        if (database.Provider == DatabaseProvider.Postgres) o.UseNpgsql(database.ConnectionString);
        else o.UseSqlite(database.ConnectionString);
        o.AddInterceptors(database.Provider == DatabaseProvider.Postgres ? PostgresTimings : SqliteTimings);
    }

    public static void AddConsumers(IBusRegistrationConfigurator x)
    {
        x.AddConsumer<PacketStartedConsumer, CoordinatorEventsDefinition<PacketStartedConsumer>>();
        x.AddConsumer<PacketHeartbeatConsumer, CoordinatorEventsDefinition<PacketHeartbeatConsumer>>();
        x.AddConsumer<UnitRenderedConsumer, CoordinatorEventsDefinition<UnitRenderedConsumer>>();
        x.AddConsumer<PacketFinishedConsumer, CoordinatorEventsDefinition<PacketFinishedConsumer>>();
        x.AddConsumer<WorkFailedConsumer, CoordinatorEventsDefinition<WorkFailedConsumer>>();
        x.AddConsumer<RenderWorkFaultConsumer, CoordinatorEventsDefinition<RenderWorkFaultConsumer>>();
    }

    /// <summary>The address the API actually listens on (after start; resolves port 0).</summary>
    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    /// <summary>Applies migrations (a standalone `microscope migrate`).</summary>
    public static async Task<int> MigrateAsync(IConfiguration configuration, ILogger logger, CancellationToken cancel = default)
    {
        var database = FarmConfiguration.Bind<DatabaseOptions>(configuration, DatabaseOptions.Section);
        var builder = new DbContextOptionsBuilder<FarmDb>();
        Configure(builder, database);
        await using var db = new FarmDb(builder.Options);
        EnsureSqliteFolder(database);
        return await Migrations.ApplyAsync(db, logger, cancel);
    }

    public static void EnsureSqliteFolder(DatabaseOptions database)
    {
        if (database.Provider != DatabaseProvider.Sqlite) return;
        var cs = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(database.ConnectionString);
        var dir = Path.GetDirectoryName(Path.GetFullPath(cs.DataSource));
        if (!string.IsNullOrEmpty(dir) && cs.DataSource != ":memory:") Directory.CreateDirectory(dir);
    }
}

/// <summary>Before anything else runs: the schema (unless MigrateOnStart is off), the object
/// store's bucket, and the models named in RegisterModels.</summary>
internal sealed class StartupTasks(IServiceScopeFactory scopes, CoordinatorOptions options, DatabaseOptions database, IObjectStore store,
    ModelRegistry models, ILogger<StartupTasks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancel)
    {
        CoordinatorHost.EnsureSqliteFolder(database);
        using (var scope = scopes.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<FarmDb>();
            if (options.MigrateOnStart) await Migrations.ApplyAsync(db, logger, cancel);
            else
            {
                var missing = await Migrations.MissingAsync(db, cancel);
                if (missing.Count > 0)
                    throw new InvalidOperationException($"the database lacks migrations {string.Join(", ", missing)}: run `microscope migrate` or set Coordinator:MigrateOnStart=true");
            }
        }
        await store.EnsureReadyAsync(cancel);
        logger.LogInformation("object store: {Store}", store.Describe());
        foreach (var name in (options.RegisterModels ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            await models.GetAsync(name, null, cancel);
    }

    public Task StopAsync(CancellationToken cancel) => Task.CompletedTask;
}

internal sealed class DatabaseHealthCheck(FarmDb db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancel = default)
    {
        try
        {
            return await db.Database.CanConnectAsync(cancel) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("cannot connect to the database");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }
}
