using Microscope.Engine.Torch;

namespace Microscope.Engine.Render.Objectives;

/// <summary>channel(op, c): mean over x, y of act[b, c, y, x].</summary>
public sealed class ChannelObjective(string op, IReadOnlyList<int> units) : UnitObjective(op, units)
{
    protected override Tensor PerChannel(Tensor act) => act.dim() == 2 ? act.reshape(act.shape) : act.mean([2, 3]);

    public override string Describe() => $"channel({Op}, {string.Join(",", Units)})";
}
