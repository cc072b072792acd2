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

    public static void AddFarmLogging(this IServiceCollection services, IConfiguration configuration)
    {
        var logger = Create(configuration);
        services.AddLogging(b => b.ClearProviders().AddSerilog(logger, dispose: true));
    }
}
