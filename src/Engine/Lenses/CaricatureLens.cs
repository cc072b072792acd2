using System.Text.Json.Nodes;
using Microscope.Engine.Imaging;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Lenses;

/// <summary>caricature: for each input image, an image exaggerating what the op sees in it.
/// The inputs ride in the batch as companions (see <see cref="CaricatureObjective"/>); they
/// come from the machine's <see cref="LensData"/> (a folder, or procedural images).</summary>
public sealed class CaricatureLens : ObjectiveLens
{
    public override string Name => "caricature";
    public override LensKind Kind => LensKind.ImageBased;
    public override string Description => "for each input image, an image exaggerating what the op sees in it";
    public override int Order => 4;

    public override IReadOnlyList<LensParameter> Parameters { get; } =
    [
        LensParameter.Integer("images", 4, 1, 32, "input images (the first N of the inputs)"),
        LensParameter.Number("power", 0, 0, 10, "p in dot(act(x), act(img)) * max(cossim, 0.1)^p"),
    ];

    public override int ImagesPerUnit(LensArguments arguments) => arguments.Int("images");

    public override IReadOnlyList<LensFile> Files(LensArguments arguments) =>
        Enumerable.Range(0, arguments.Int("images")).Select(i => new LensFile($"-{i}.png", $"caricature of input {i + 1}")).ToList();

    public override Objective Objective(string op, IReadOnlyList<int> units, int images, LensArguments arguments) =>
        new CaricatureObjective(op, arguments.Number("power"));

    public override IReadOnlyList<LensResult> Run(LensRun run)
    {
        var count = run.Arguments.Int("images");
        var inputs = run.Data.CaricatureInputs(count, run.Model.InputSize);
        if (inputs.Count < count) throw new ArgumentException($"caricature asks for {count} input images; only {inputs.Count} found");
        using var scope = torch.NewDisposeScope();
        var real = torch.cat(inputs.Select(img => Resize(img.Image, run.Parameters.Size, run.Model.Device)).ToList(), 0);
        var result = LensRender.OpImages(run, this, Objective(run.Op.Name, [], count, run.Arguments), count, real);
        return [result with { Record = result.Record with { Details = new JsonObject { ["inputs"] = new JsonArray(inputs.Select(i => (JsonNode)i.Id).ToArray()) } } }];
    }

    private static Tensor Resize(RgbImage img, int size, Device device)
    {
        using var t = torch.tensor(img.Pixels, [1, 3, img.Height, img.Width], device);
        return F.interpolate(t, (size, size), align_corners: true);
    }
}
