using Microscope.Engine.Render.Objectives;

namespace Microscope.Engine.Lenses;

/// <summary>channel: feature visualisation of a channel (its spatial mean).</summary>
public sealed class ChannelLens : ObjectiveLens
{
    public override string Name => "channel";
    public override LensKind Kind => LensKind.Unit;
    public override string Description => "feature visualisation of a channel (spatial mean)";
    public override int Order => 0;
    public override bool InDefaultSweep => true;

    public override Objective Objective(string op, IReadOnlyList<int> units, int images, LensArguments arguments) => new ChannelObjective(op, units);
}
