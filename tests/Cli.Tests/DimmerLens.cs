using Microscope.Engine.Lenses;
using Microscope.Engine.Render.Objectives;

namespace Microscope.Cli.Tests;

/// <summary>A lens that exists only in this test project (what turns a channel off: the
/// negated channel objective, scaled by its own parameter). It proves a lens is one file:
/// the CLI (loading this assembly through MICROSCOPE_LENS_ASSEMBLIES), the farm and the viewer
/// take it with no other file changed.</summary>
public sealed class DimmerLens : ObjectiveLens
{
    public override string Name => "test_dimmer";
    public override LensKind Kind => LensKind.Unit;
    public override string Description => "an image that turns the channel off (test lens)";

    public override IReadOnlyList<LensParameter> Parameters { get; } =
        [LensParameter.Number("strength", 1, 0.1, 10, "weight of the negated channel objective")];

    public override Objective Objective(string op, IReadOnlyList<int> units, int images, LensArguments arguments) =>
        -arguments.Number("strength") * new ChannelObjective(op, units);
}
