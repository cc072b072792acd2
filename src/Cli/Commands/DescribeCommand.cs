using System.CommandLine;
using System.Text.Json;
using Microscope.Engine.Models;
using Microscope.Engine.Models.Custom;

namespace Microscope.Cli.Commands;

/// <summary>`microscope describe MODEL [--json]`: the descriptor (ops, shapes, edges,
/// parameter count, version when weights are given).</summary>
public static class DescribeCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("model") { Description = "model slug, or your own model's .onnx or .model.json file" };
        var weights = new Option<string?>("--weights") { Description = "safetensors weights: the version is their content hash" };
        var random = new Option<int?>("--random-weights") { Description = "seeded random weights" };
        var json = new Option<bool>("--json") { Description = "print JSON" };
        var command = new Command("describe", "Print a model's ops, shapes and edges.") { name, weights, random, json };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            var slug = r.GetValue(name)!;
            var d = Describe(slug, r.GetValue(random), r.GetValue(weights));
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(d with { }, Json.Indented));
                return 0;
            }
            Console.WriteLine(d.Latent is not { } latent ? $"{d.Name}: {d.Dataset}; input {d.InputSize} px, {d.Preprocessing}"
                : $"{d.Name}: {d.Dataset}; a generator: input {latent.Describe()}, {d.InputSize} px; renders optimise the latent");
            Console.WriteLine($"parameters: {d.ParameterCount:N0}; version: {d.Version ?? "(no weights loaded)"}{(d.RandomWeights ? " (RANDOM WEIGHTS)" : "")}");
            Console.WriteLine($"{d.Ops.Count} ops, {d.UnitCount} units:");
            foreach (var o in d.Ops)
                Console.WriteLine($"  {o.Name,-28} {o.Channels,5} x {o.Height,3} x {o.Width,-3}  <- {string.Join(", ", o.Inputs)}");
            return 0;
        }));
        return command;
    }

    private static ModelDescriptor Describe(string slug, int? seed, string? weights)
    {
        // A built-in model without weights to load: its stored descriptor, no model built.
        if (seed is null && weights is null && slug != "demo" && slug != Engine.Models.Zoo.ResNet18.Name && ModelZoo.IsBuiltIn(slug))
            return ModelZoo.DescribeArchitecture(slug);
        using var model = ModelZoo.CreateArchitecture(slug);
        if (seed is int s) model.LoadWeights(new WeightsSource.Random(s), Engine.Torch.Device.CPU);
        else if (weights is string path) model.LoadWeights(new WeightsSource.File(path), Engine.Torch.Device.CPU);
        // The demo model and ONNX models (resnet18, a .onnx path) carry their own weights.
        else if (slug == "demo" || model is Engine.Models.Onnx.OnnxModel) model.LoadWeights(new WeightsSource.Shipped(), Engine.Torch.Device.CPU);
        // A user's model: the weights beside its .model.json, when they are there.
        else if (ModelSpec.IsSpecPath(slug) && File.Exists(ModelSpec.WeightsBeside(slug)))
            model.LoadWeights(new WeightsSource.File(ModelSpec.WeightsBeside(slug)), Engine.Torch.Device.CPU);
        return model.Describe();
    }
}
