using System.Text.Json;
using System.Text.Json.Nodes;
using Microscope.Engine.Imaging;
using Microscope.Engine.Techniques;

namespace Microscope.Engine.Lenses;

/// <summary>dataset_examples: the top-k data-set images per unit by channel activation and
/// top-k receptive-field crops by neuron activation, in one pass over the data set
/// (<see cref="DatasetExamples"/>); sprites in rank order, scores and crops in the record's details.</summary>
public sealed class DatasetExamplesLens : Lens
{
    public override string Name => "dataset_examples";
    public override LensKind Kind => LensKind.Analysis;
    public override string Description => "top-k data-set images per unit, by channel and by neuron";
    public override int Order => 5;

    public override IReadOnlyList<LensParameter> Parameters { get; } =
    [
        LensParameter.Integer("top_k", 16, 1, 256, "images kept per unit"),
        LensParameter.Integer("thumbnail", 64, 16, 256, "pixels per image in the sprites"),
    ];

    public override IReadOnlyList<LensFile> Files(LensArguments arguments) =>
        [new(".channel.png", "top images by channel activation"), new(".neuron.png", "top crops by neuron activation (receptive field)"),
         new(FiresSuffix, "where the unit fires on its top images (activation map as heat)")];

    /// <summary>The sprite of the channel examples with the unit's spatial activation map laid
    /// over each (<see cref="UnitFiring"/>), in the same order as ".channel.png".</summary>
    public const string FiresSuffix = ".fires.png";

    public override IReadOnlyList<LensResult> Run(LensRun run)
    {
        var source = run.Data.Dataset(run.Model.InputSize);
        var total = source.Count ?? 0;
        var result = DatasetExamples.Run(run.Model, run.Op.Name, source, run.Arguments.Int("top_k"),
            progress: run.Progress is null ? null : new LensRender.Relay<long>(n => run.Progress.Report(total == 0 ? 0 : (double)n / total)), cancel: run.Cancel);
        var thumb = run.Arguments.Int("thumbnail");
        // Computed here, beside the examples, because only the machine that ran the pass has the images.
        var fires = ExampleFiring.Of(run.Model, run.Op.Name, source, run.Units.ToDictionary(u => u, u => result.Units[u].Channel), thumb, run.Cancel);
        return run.Units.Select(u =>
        {
            var unit = result.Units[u];
            var firing = fires[u];
            LensOutput[] files =
            [
                Png(u, ".channel.png", DatasetExamples.Sprite(source, unit.Channel, thumb)),
                Png(u, ".neuron.png", DatasetExamples.Sprite(source, unit.Neuron, thumb)),
                Png(u, FiresSuffix, DatasetExamples.Sprite(firing.Overlays, thumb)),
            ];
            var record = run.Record(this, u) with
            {
                Files = files.Select(f => f.Suffix).ToList(),
                Details = new JsonObject
                {
                    ["source"] = result.Source, ["images_seen"] = result.ImagesSeen, ["k"] = result.K,
                    ["receptive_field"] = result.ReceptiveFieldSize,
                    ["channel"] = JsonSerializer.SerializeToNode(unit.Channel, LensRecord.Json),
                    ["neuron"] = JsonSerializer.SerializeToNode(unit.Neuron, LensRecord.Json),
                    ["fires"] = JsonSerializer.SerializeToNode(firing.Peaks, LensRecord.Json),
                },
            };
            return new LensResult(u, files, record);
        }).ToList();
    }

    private static LensOutput Png(int unit, string suffix, RgbImage image) =>
        new(unit, suffix, "image/png", ImageFile.EncodePng(image.Pixels, image.Width, image.Height));
}
