using Microscope.Engine.Torch;

namespace Microscope.Engine.Render.Objectives;

/// <summary>neuron(op, c): act[b, c, H/2, W/2], the channel at the spatial centre
/// (integer division) of the op's output.</summary>
public sealed class NeuronObjective(string op, IReadOnlyList<int> units) : UnitObjective(op, units)
{
    protected override Tensor PerChannel(Tensor act)
    {
        if (act.dim() == 2) return act.reshape(act.shape); // a new handle: the caller disposes it
        var s = act.shape;
        using var column = act.select(3, s[3] / 2);
        return column.select(2, s[2] / 2);
    }

    public override string Describe() => $"neuron({Op}, {string.Join(",", Units)})";
}
