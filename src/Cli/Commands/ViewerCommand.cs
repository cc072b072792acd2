using System.CommandLine;
using Microscope.Viewer;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace Microscope.Cli.Commands;

/// <summary>`microscope viewer`: the web viewer over the farm's catalogue until Ctrl+C.</summary>
public static class ViewerCommand
{
    public static Command Create()
    {
        var settings = new FarmSettings();
        var urls = new Option<string?>("--urls") { Description = "where the viewer listens (Viewer:Urls), e.g. http://0.0.0.0:5081" };
        var coordinator = new Option<string?>("--coordinator") { Description = "the coordinator's URL, for re-renders and sweep control (Viewer:Coordinator)" };
        var command = new Command("viewer", "Run the web viewer (models, ops, units, sweeps) over the farm's catalogue.") { urls, coordinator };
        settings.AddTo(command);
        command.SetAction(r => ServiceErrors.Run(() =>
        {
            var config = settings.Build(r);
            if (r.GetValue(urls) is { } u) config["Viewer:Urls"] = u;
            if (r.GetValue(coordinator) is { } c) config["Viewer:Coordinator"] = c;
            using var app = ViewerHost.Build(config);
            app.StartAsync().GetAwaiter().GetResult();
            Console.WriteLine($"viewer listening on {ViewerHost.Address(app)}");
            app.WaitForShutdownAsync().GetAwaiter().GetResult();
            return 0;
        }));
        return command;
    }
}
