using System.CommandLine;
using Microscope.Coordinator;
using Microscope.Farm.Hosting;
using Serilog;
using Microscope.Worker;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace Microscope.Cli.Commands;

/// <summary>`microscope coordinator`: the farm's coordinator service (HTTP API, database,
/// dispatch, reaper) until Ctrl+C or SIGTERM.</summary>
public static class CoordinatorCommand
{
    public static Command Create()
    {
        var settings = new FarmSettings();
        var urls = new Option<string?>("--urls") { Description = "where the API listens (Coordinator:Urls), e.g. http://0.0.0.0:5080" };
        var command = new Command("coordinator", "Run the farm's coordinator (HTTP API, sweeps, dispatch, reaper).") { urls };
        settings.AddTo(command);
        command.SetAction(r => ServiceErrors.Run(() =>
        {
            var config = settings.Build(r);
            if (r.GetValue(urls) is { } u) config["Coordinator:Urls"] = u;
            using var app = CoordinatorHost.Build(config);
            app.StartAsync().GetAwaiter().GetResult();
            Console.WriteLine($"coordinator listening on {CoordinatorHost.Address(app)}");
            app.WaitForShutdownAsync().GetAwaiter().GetResult();
            return 0;
        }));
        return command;
    }
}

/// <summary>`microscope worker`: consumes render work until Ctrl+C or SIGTERM (the packet
/// in hand is finished first).</summary>
public static class WorkerCommand
{
    public static Command Create()
    {
        var settings = new FarmSettings();
        var device = new Option<string?>("--device") { Description = "cpu, cuda, cuda:N or auto (Worker:Device)" };
        var command = new Command("worker", "Run a render worker (one per GPU).") { device };
        settings.AddTo(command);
        command.SetAction(r => ServiceErrors.Run(() =>
        {
            var config = settings.Build(r);
            if (r.GetValue(device) is { } d) config["Worker:Device"] = d;
            using var host = WorkerHost.Build(config);
            host.Start();
            Console.WriteLine("worker started");
            host.WaitForShutdown();
            return 0;
        }));
        return command;
    }
}

/// <summary>`microscope migrate`: applies the database migrations and exits.</summary>
public static class MigrateCommand
{
    public static Command Create()
    {
        var settings = new FarmSettings();
        var command = new Command("migrate", "Apply the farm database's schema migrations.");
        settings.AddTo(command);
        command.SetAction(r => ServiceErrors.Run(() =>
        {
            var config = settings.Build(r);
            using var factory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddSerilog(FarmLogging.Create(config), dispose: true));
            var ran = CoordinatorHost.MigrateAsync(config, factory.CreateLogger("migrate")).GetAwaiter().GetResult();
            Console.WriteLine(ran == 0 ? "database is up to date" : $"applied {ran} migration(s)");
            return 0;
        }));
        return command;
    }
}
