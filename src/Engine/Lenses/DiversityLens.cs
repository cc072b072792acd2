using Microscope.Engine.Render.Objectives;

namespace Microscope.Engine.Lenses;

/// <summary>diversity: several images per unit, channel + weight x diversity over each unit's
/// group (the published recipe: 4 images, weight 100). The images of a unit are coupled by
/// the diversity term, so they are always rendered together.</summary>
public sealed class DiversityLens : ObjectiveLens
{
    public override string Name => "diversity";
    public override LensKind Kind => LensKind.Unit;
    public override string Description => "several images per unit pushed apart by the diversity objective";
    public override int Order => 2;

    public override IReadOnlyList<LensParameter> Parameters { get; } =
    [
        LensParameter.Integer("images", 4, 2, 16, "images per unit"),
        LensParameter.Number("weight", 100, 0, 1e6, "weight of the diversity term (channel + weight * diversity)"),
    ];

    public override int ImagesPerUnit(LensArguments arguments) => arguments.Int("images");

    public override Objective Objective(string op, IReadOnlyList<int> units, int images, LensArguments arguments) =>
        new ChannelObjective(op, units) + arguments.Number("weight") * new DiversityObjective(op, arguments.Int("images"));
}
