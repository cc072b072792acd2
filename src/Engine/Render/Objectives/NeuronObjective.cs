using Microscope.Engine.Torch;

namespace Microscope.Engine.Render.Objectives;

/// <summary>neuron(op, c): act[b, c, H/2, W/2], the channel at the spatial centre
/// (integer division) of the op's output.</summary>
public sealed class NeuronObjective(string op, IReadOnlyList<int> units) : UnitObjective(op, units)
{
    public override Tensor Evaluate(IReadOnlyDictionary<string, Tensor> activations)
    {
        var act = activations[Op];
        if (act.dim() == 2) return PickUnits(act);
        var s = act.shape;
        using var column = act.select(3, s[3] / 2);
        using var centre = column.select(2, s[2] / 2);
        return PickUnits(centre);
    }

    public override string Describe() => $"neuron({Op}, {string.Join(",", Units)})";
}
