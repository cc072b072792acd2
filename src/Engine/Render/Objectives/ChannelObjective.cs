using Microscope.Engine.Torch;

namespace Microscope.Engine.Render.Objectives;

/// <summary>channel(op, c): mean over x, y of act[b, c, y, x].</summary>
public sealed class ChannelObjective(string op, IReadOnlyList<int> units) : UnitObjective(op, units)
{
    public override Tensor Evaluate(IReadOnlyDictionary<string, Tensor> activations)
    {
        var act = activations[Op];
        if (act.dim() == 2) return PickUnits(act);
        using var perChannel = act.mean([2, 3]);
        return PickUnits(perChannel);
    }

    public override string Describe() => $"channel({Op}, {string.Join(",", Units)})";
}
