using System.CommandLine;
using System.Text.Json;
using Microscope.Engine.Models;

namespace Microscope.Cli.Commands;

/// <summary>`microscope models [--json]`: every model organism with its ops and unit counts.</summary>
public static class ModelsCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "print JSON" };
        var command = new Command("models", "List the models with their ops and unit counts; `models add` adds one to a running farm.") { json, ModelsAddCommand.Create() };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            // Stored descriptors: listing builds no model (docs/performance.md, "microscope models").
            var descriptors = ModelZoo.Names.Select(ModelZoo.DescribeArchitecture).ToList();
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(descriptors.Select(d => new
                {
                    d.Name, d.Dataset, d.InputSize, OpCount = d.Ops.Count, d.UnitCount,
                    Ops = d.Ops.Select(o => new { o.Name, Units = o.Channels, o.InSweep }),
                }), Json.Indented));
                return 0;
            }
            foreach (var d in descriptors)
            {
                Console.WriteLine($"{d.Name}  ({d.Dataset}, {d.InputSize} px): {d.Ops.Count} ops, {d.UnitCount} units");
                // Ops outside the channel sweep (AlexNet's fc6/fc7) are addressable but not counted.
                Console.WriteLine("  " + string.Join(", ", d.Ops.Select(o => $"{o.Name} {o.Channels}{(o.InSweep ? "" : " (not swept)")}")));
            }
            Console.WriteLine($"total: {descriptors.Sum(d => d.UnitCount)} units");
            return 0;
        }));
        return command;
    }
}
