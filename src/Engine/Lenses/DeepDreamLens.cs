using Microscope.Engine.Render.Objectives;

namespace Microscope.Engine.Lenses;

/// <summary>deepdream: one image maximising the whole op's squared activation, from noise.</summary>
public sealed class DeepDreamLens : ObjectiveLens
{
    public override string Name => "deepdream";
    public override LensKind Kind => LensKind.Op;
    public override string Description => "one image maximising the whole op's squared activation";
    public override int Order => 3;

    public override Objective Objective(string op, IReadOnlyList<int> units, int images, LensArguments arguments) => new DeepDreamObjective(op);
}
