using Microscope.Engine.Torch;

namespace Microscope.Engine.Render.Objectives;

/// <summary>deepdream(op): mean over c, x, y of act[b]², for every batch index.</summary>
public sealed class DeepDreamObjective(string op) : Objective
{
    public string Op { get; } = op;
    public override IReadOnlyCollection<string> Ops => [Op];

    public override Tensor Evaluate(IReadOnlyDictionary<string, Tensor> activations)
    {
        var act = activations[Op];
        using var squared = act.square();
        using var flat = squared.flatten(1);
        return flat.mean([1]);
    }

    public override string Describe() => $"deepdream({Op})";
}
