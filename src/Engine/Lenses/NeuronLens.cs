using Microscope.Engine.Render.Objectives;

namespace Microscope.Engine.Lenses;

/// <summary>neuron: feature visualisation of the channel at the op's centre position.</summary>
public sealed class NeuronLens : ObjectiveLens
{
    public override string Name => "neuron";
    public override LensKind Kind => LensKind.Unit;
    public override string Description => "feature visualisation of the channel at the op's centre position (H/2, W/2)";
    public override int Order => 1;
    public override bool InDefaultSweep => true;

    public override Objective Objective(string op, IReadOnlyList<int> units, int images, LensArguments arguments) => new NeuronObjective(op, units);
}
