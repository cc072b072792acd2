using System.CommandLine;
using Microscope.Engine.Models;
using Microscope.Engine.Models.Custom;
using Microscope.Engine.Torch;

namespace Microscope.Cli;

/// <summary>The options every command that loads a model shares.</summary>
public sealed class ModelOptions
{
    public Option<string> Model { get; } = new("--model", "-m") { Description = "model slug (see `microscope models`) or your own model's .onnx or .model.json file (docs/models.md)", DefaultValueFactory = _ => "demo" };
    public Option<string?> Weights { get; } = new("--weights") { Description = "safetensors weights file (default: the weights shipped with the model)" };
    public Option<int?> RandomWeights { get; } = new("--random-weights") { Description = "seeded random weights instead of trained ones (tests, benchmarks)" };
    public Option<string> Device { get; } = new("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MICROSCOPE_DEVICE") ?? "auto" };

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Weights);
        command.Options.Add(RandomWeights);
        command.Options.Add(Device);
    }

    public VisionModel Load(ParseResult r)
    {
        var weights = r.GetValue(Weights);
        var seed = r.GetValue(RandomWeights);
        if (weights is not null && seed is not null) throw new ArgumentException("give either --weights or --random-weights, not both");
        var model = r.GetValue(Model)!;
        // A user's model: its weights lie beside it (tools/export_model.py writes both).
        if (weights is null && seed is null && ModelSpec.IsSpecPath(model)) weights = ModelSpec.WeightsBeside(model);
        WeightsSource source = seed is int s ? new WeightsSource.Random(s)
            : weights is not null ? new WeightsSource.File(weights)
            : new WeightsSource.Shipped();
        try
        {
            return ModelZoo.Load(model, source, Engine.Torch.Device.Resolve(r.GetValue(Device)));
        }
        catch (InvalidOperationException e) when (source is WeightsSource.Shipped)
        {
            // Zoo organisms other than demo ship no weights: say which options give some.
            throw new ArgumentException($"{e.Message} (--weights FILE), or use seeded random weights (--random-weights SEED)", e);
        }
    }
}
