using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Techniques;

namespace Microscope.Engine.Lenses;

/// <summary>Where image-based and analysis lenses find their images: the machine's settings
/// (a worker's configuration, the CLI's options), not part of a result's parameters.</summary>
public sealed record LensData
{
    /// <summary>Data set for dataset examples: a folder of PNG/JPEG images, or (null) the demo's
    /// procedural set of <see cref="ProceduralImages"/> images.</summary>
    public string? DatasetFolder { get; init; }
    public int ProceduralImages { get; init; } = 2048;
    /// <summary>Input images for caricatures: a folder, or (null) the demo's procedural inputs.</summary>
    public string? CaricatureFolder { get; init; }

    /// <summary>Fixed seeds of the demo's procedural data set and caricature inputs.</summary>
    public const int ProceduralDatasetSeed = 2024;
    public const int ProceduralCaricatureSeed = 77;

    public IImageSource Dataset(int size) =>
        DatasetFolder is null ? new ProceduralImageSource(ProceduralDatasetSeed, ProceduralImages, size) : new FolderImageSource(DatasetFolder);

    /// <summary>The first <paramref name="count"/> caricature inputs: a folder's images, or procedural ones.</summary>
    public IReadOnlyList<SourceImage> CaricatureInputs(int count, int size) =>
        (CaricatureFolder is null
            ? new ProceduralImageSource(ProceduralCaricatureSeed, count, size)
            : (IImageSource)new FolderImageSource(CaricatureFolder)).Read().Take(count).ToList();
}

/// <summary>One stored file of a result: <c>Unit</c> null for op-level results; <c>Suffix</c>
/// completes the object key ("{...}/{paramsHash}{Suffix}"), unless <c>ModelKey</c> names the
/// object under the model version's root instead (a file other parts find by its own name,
/// such as a circuits weight table: <see cref="Circuits.WeightTable.ObjectName"/>).</summary>
public sealed record LensOutput(int? Unit, string Suffix, string ContentType, byte[] Content, string? ModelKey = null);

/// <summary>One result (a unit's, or the op's when <see cref="Unit"/> is null): its files and
/// its record. <see cref="Outputs"/> adds the record as ".json".</summary>
public sealed record LensResult(int? Unit, IReadOnlyList<LensOutput> Files, LensRecord Record)
{
    public IReadOnlyList<LensOutput> Outputs(LensRecord? record = null) =>
        [.. Files, new LensOutput(Unit, ".json", "application/json", (record ?? Record).ToJson())];
}

/// <summary>What a lens is asked to do: a resolved op of a loaded model, the units (none for
/// op-level lenses), the render parameters and the lens's own, and where images come from.</summary>
public sealed record LensRun(VisionModel Model, OpInfo Op, IReadOnlyList<int> Units, RenderParameters Parameters,
    LensArguments Arguments, LensData Data, IProgress<double>? Progress, CancellationToken Cancel)
{
    /// <summary>The record's common part; the lens adds its objective values or details.</summary>
    public LensRecord Record(Lens lens, int? unit) => new()
    {
        Model = Model.Name,
        Version = Model.Version,
        RandomWeights = Model.RandomWeights,
        Op = Op.Name,
        Unit = unit,
        Technique = lens.Name,
        LensParameters = Arguments.Given,
        // What was applied, not what was given: a generator's render drops the image settings.
        Parameters = Renderer.Applied(Model, Parameters),
        RenderScheme = ImageSeeds.Scheme,
        Device = Model.Device.ToString(),
    };
}
