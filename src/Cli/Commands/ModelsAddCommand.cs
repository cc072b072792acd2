using System.CommandLine;
using Microscope.Engine.Models;
using Microscope.Engine.Models.Custom;

namespace Microscope.Cli.Commands;

/// <summary>`microscope models add FILE [--name N] [--sidecar S | --weights W] -c URL`: adds a
/// model to a running farm (POST /api/models); its sweeps, re-renders and viewer pages then
/// work like a zoo model's.</summary>
public static class ModelsAddCommand
{
    public static Command Create()
    {
        var coordinator = FarmClient.CoordinatorOption();
        var file = new Argument<string>("FILE") { Description = "the model: an ONNX file (.onnx) or a model spec (.model.json)" };
        var name = new Option<string?>("--name", "-n") { Description = "the model's name in the farm (default: the file name without its suffix)" };
        var sidecar = new Option<string?>("--sidecar") { Description = "an ONNX model's sidecar of options (default: FILE.json beside it, when there)" };
        var weights = new Option<string?>("--weights") { Description = "a model spec's safetensors weights (default: NAME.safetensors beside it)" };
        var command = new Command("add", "Add a model to a running farm.") { file, coordinator, name, sidecar, weights };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            var path = r.GetValue(file)!;
            var format = ModelFiles.FormatOf(path);
            var companionSidecar = r.GetValue(sidecar) ?? (format == ModelFiles.Format.Onnx && File.Exists(path + ".json") ? path + ".json" : null);
            var companionWeights = r.GetValue(weights) ?? (format == ModelFiles.Format.Spec ? ModelSpec.WeightsBeside(path) : null);
            using var http = FarmClient.Http(r.GetValue(coordinator)!);
            // A large model takes a while to upload and for the coordinator to build.
            http.Timeout = TimeSpan.FromMinutes(15);
            var added = FarmClient.AddModelAsync(http, path, r.GetValue(name), companionSidecar, companionWeights).GetAwaiter().GetResult();
            Console.WriteLine(added.Created
                ? $"added model {added.Name} version {added.Version}: {added.Ops} ops, {added.Units} units"
                : $"model {added.Name} version {added.Version} was already there: nothing changed");
            return 0;
        }));
        return command;
    }
}
