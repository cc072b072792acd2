using System.Text.Json;
using System.Text.Json.Nodes;
using Microscope.Engine.Demo;
using Microscope.Engine.Imaging;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Techniques;

/// <summary>Settings of the techniques beyond the render loop's own parameters.</summary>
public sealed record TechniqueOptions
{
    /// <summary>Images per unit for diversity, and the weight of the diversity term
    /// (the published recipe: channel + 100 * diversity).</summary>
    public int DiversityImages { get; init; } = 4;
    public double DiversityWeight { get; init; } = 100;
    public int TopK { get; init; } = 16;
    /// <summary>Data set for dataset examples: a folder of PNG/JPEG images, or (null) the demo's
    /// procedural set of <see cref="ProceduralImages"/> images.</summary>
    public string? DatasetFolder { get; init; }
    public int ProceduralImages { get; init; } = 2048;
    /// <summary>Input images for caricatures: a folder, or (null) the demo's procedural inputs.</summary>
    public string? CaricatureFolder { get; init; }
    public int CaricatureImages { get; init; } = 4;
    public double CaricaturePower { get; init; }
    public int ThumbnailSize { get; init; } = 64;

    /// <summary>Fixed seeds of the demo's procedural data set and caricature inputs.</summary>
    public const int ProceduralDatasetSeed = 2024;
    public const int ProceduralCaricatureSeed = 77;
}

/// <summary>One stored result: <c>Unit</c> null for op-level results; <c>Suffix</c> completes
/// the object key ("{...}/{paramsHash}{Suffix}").</summary>
public sealed record TechniqueOutput(int? Unit, string Suffix, string ContentType, byte[] Content);

/// <summary>Runs any technique for a set of units of one op and returns its files: the one
/// entry point the CLI and the farm's workers share.</summary>
public static class TechniqueRunner
{
    public static IReadOnlyList<TechniqueOutput> Run(VisionModel model, string op, string technique, IReadOnlyList<int> units,
        RenderParameters parameters, TechniqueOptions? options = null, IProgress<double>? progress = null, CancellationToken cancel = default)
    {
        options ??= new TechniqueOptions();
        op = model.ResolveOp(op);
        var info = TechniqueCatalog.Get(technique);
        var channels = model.Describe().Ops.Single(o => o.Name == op).Channels;
        foreach (var u in units)
            if (u < 0 || u >= channels)
                throw new ArgumentException($"op '{op}' of model '{model.Name}' has units 0..{channels - 1}; {u} is out of range");
        if (info.Kind == TechniqueKind.UnitImage && units.Count == 0) throw new ArgumentException($"{technique} needs at least one unit");
        var problems = parameters.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));

        return info.Name switch
        {
            TechniqueCatalog.Channel => UnitImages(model, new ChannelObjective(op, units), units, 1, parameters, technique, progress, cancel),
            TechniqueCatalog.Neuron => UnitImages(model, new NeuronObjective(op, units), units, 1, parameters, technique, progress, cancel),
            TechniqueCatalog.Diversity => Diversity(model, op, units, parameters, options, progress, cancel),
            TechniqueCatalog.DeepDream => DeepDream(model, op, parameters, progress, cancel),
            TechniqueCatalog.Caricature => Caricature(model, op, parameters, options, progress, cancel),
            TechniqueCatalog.DatasetExamples => Examples(model, op, units, options, progress, cancel),
            _ => Tuning(model, op, units, progress, cancel),
        };
    }

    private static List<TechniqueOutput> UnitImages(VisionModel model, Objective objective, IReadOnlyList<int> units, int perUnit,
        RenderParameters p, string technique, IProgress<double>? progress, CancellationToken cancel)
    {
        var result = Renderer.Render(model, objective, units.Count * perUnit, p, Steps(progress, p.Steps), cancel);
        var outputs = new List<TechniqueOutput>();
        for (var i = 0; i < units.Count; i++)
        {
            var images = result.Images.Skip(i * perUnit).Take(perUnit).ToList();
            for (var j = 0; j < images.Count; j++)
                outputs.Add(Png(units[i], perUnit == 1 ? ".png" : $"-{j}.png", images[j].Pixels, p.Size));
            outputs.Add(Json(units[i], Metadata(model, technique, objective, p, result, images)));
        }
        return outputs;
    }

    private static List<TechniqueOutput> Diversity(VisionModel model, string op, IReadOnlyList<int> units, RenderParameters p,
        TechniqueOptions o, IProgress<double>? progress, CancellationToken cancel)
    {
        var n = o.DiversityImages;
        var repeated = units.SelectMany(u => Enumerable.Repeat(u, n)).ToList();
        var objective = new ChannelObjective(op, repeated) + o.DiversityWeight * new DiversityObjective(op, n);
        return UnitImages(model, objective, units, n, p, TechniqueCatalog.Diversity, progress, cancel);
    }

    private static List<TechniqueOutput> DeepDream(VisionModel model, string op, RenderParameters p, IProgress<double>? progress, CancellationToken cancel)
    {
        var objective = new DeepDreamObjective(op);
        var result = Renderer.Render(model, objective, 1, p, Steps(progress, p.Steps), cancel);
        return [Png(null, ".png", result.Images[0].Pixels, p.Size), Json(null, Metadata(model, TechniqueCatalog.DeepDream, objective, p, result, result.Images))];
    }

    private static List<TechniqueOutput> Caricature(VisionModel model, string op, RenderParameters p, TechniqueOptions o,
        IProgress<double>? progress, CancellationToken cancel)
    {
        var inputs = CaricatureInputs(o, model.InputSize);
        using var scope = torch.NewDisposeScope();
        var real = torch.cat(inputs.Select(img => Resize(img.Image, p.Size, model.Device)).ToList(), 0);
        var objective = new CaricatureObjective(op, o.CaricaturePower);
        var result = Renderer.Render(model, objective, inputs.Count, p, Steps(progress, p.Steps), cancel, real);
        var outputs = new List<TechniqueOutput>();
        for (var i = 0; i < inputs.Count; i++) outputs.Add(Png(null, $"-{i}.png", result.Images[i].Pixels, p.Size));
        var meta = Metadata(model, TechniqueCatalog.Caricature, objective, p, result, result.Images);
        meta["inputs"] = new JsonArray(inputs.Select(i => (JsonNode)i.Id).ToArray());
        outputs.Add(Json(null, meta));
        return outputs;
    }

    /// <summary>The configured caricature inputs: a folder's images, or procedural ones.</summary>
    public static IReadOnlyList<SourceImage> CaricatureInputs(TechniqueOptions o, int size) =>
        (o.CaricatureFolder is null
            ? new ProceduralImageSource(TechniqueOptions.ProceduralCaricatureSeed, o.CaricatureImages, size)
            : (IImageSource)new FolderImageSource(o.CaricatureFolder)).Read().Take(o.CaricatureImages).ToList();

    public static IImageSource Dataset(TechniqueOptions o, int size) =>
        o.DatasetFolder is null
            ? new ProceduralImageSource(TechniqueOptions.ProceduralDatasetSeed, o.ProceduralImages, size)
            : new FolderImageSource(o.DatasetFolder);

    private static List<TechniqueOutput> Examples(VisionModel model, string op, IReadOnlyList<int> units, TechniqueOptions o,
        IProgress<double>? progress, CancellationToken cancel)
    {
        var source = Dataset(o, model.InputSize);
        var total = source.Count ?? 0;
        var result = DatasetExamples.Run(model, op, source, o.TopK, progress: progress is null ? null : new Relay<long>(n => progress.Report(total == 0 ? 0 : (double)n / total)), cancel: cancel);
        var outputs = new List<TechniqueOutput>();
        foreach (var u in Selected(units, result.Units.Count))
        {
            var unit = result.Units[u];
            outputs.Add(Png(u, ".channel.png", DatasetExamples.Sprite(source, unit.Channel, o.ThumbnailSize)));
            outputs.Add(Png(u, ".neuron.png", DatasetExamples.Sprite(source, unit.Neuron, o.ThumbnailSize)));
            outputs.Add(Json(u, new JsonObject
            {
                ["model"] = model.Name, ["version"] = model.Version, ["random_weights"] = model.RandomWeights,
                ["op"] = result.Op, ["unit"] = u, ["technique"] = TechniqueCatalog.DatasetExamples,
                ["source"] = result.Source, ["images_seen"] = result.ImagesSeen, ["k"] = result.K,
                ["receptive_field"] = result.ReceptiveFieldSize,
                ["channel"] = JsonSerializer.SerializeToNode(unit.Channel, JsonOptions),
                ["neuron"] = JsonSerializer.SerializeToNode(unit.Neuron, JsonOptions),
            }));
        }
        return outputs;
    }

    private static List<TechniqueOutput> Tuning(VisionModel model, string op, IReadOnlyList<int> units, IProgress<double>? progress, CancellationToken cancel)
    {
        var total = TuningFamily.All.Sum(f => f.Values.Count);
        var curves = TuningCurves.Run(model, op, progress: progress is null ? null : new Relay<int>(n => progress.Report((double)n / total)), cancel: cancel);
        var outputs = new List<TechniqueOutput>();
        foreach (var u in Selected(units, curves.Count))
        {
            foreach (var c in curves[u])
                outputs.Add(new TechniqueOutput(u, $".{c.Family}.svg", "image/svg+xml",
                    System.Text.Encoding.UTF8.GetBytes(TuningCurves.Svg(c, $"{model.Name} {op}:{u} — {c.Parameter}"))));
            outputs.Add(Json(u, new JsonObject
            {
                ["model"] = model.Name, ["version"] = model.Version, ["random_weights"] = model.RandomWeights,
                ["op"] = op, ["unit"] = u, ["technique"] = TechniqueCatalog.TuningCurves, ["response"] = "channel (spatial mean)",
                ["curves"] = JsonSerializer.SerializeToNode(curves[u], JsonOptions),
            }));
        }
        return outputs;
    }

    private static IEnumerable<int> Selected(IReadOnlyList<int> units, int all) => units.Count > 0 ? units : Enumerable.Range(0, all);

    private static JsonObject Metadata(VisionModel model, string technique, Objective objective, RenderParameters p, RenderResult result, IReadOnlyList<RenderedImage> images) => new()
    {
        ["model"] = model.Name,
        ["version"] = model.Version,
        ["random_weights"] = model.RandomWeights,
        ["technique"] = technique,
        ["objective"] = objective.Describe(),
        ["parameters"] = JsonSerializer.SerializeToNode(p, JsonOptions),
        ["device"] = model.Device.ToString(),
        ["ms_per_step"] = result.MsPerStep,
        ["total_ms"] = result.TotalMs,
        ["objective_start"] = new JsonArray(images.Select(i => (JsonNode)i.ObjectiveStart).ToArray()),
        ["objective_end"] = new JsonArray(images.Select(i => (JsonNode)i.ObjectiveEnd).ToArray()),
        ["trajectory"] = new JsonArray(images.Select(i => (JsonNode)new JsonArray(i.Trajectory.Select(v => (JsonNode)v).ToArray())).ToArray()),
    };

    public static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static TechniqueOutput Png(int? unit, string suffix, float[] chw, int size) =>
        new(unit, suffix, "image/png", ImageFile.EncodePng(chw, size, size));

    private static TechniqueOutput Png(int? unit, string suffix, RgbImage image) =>
        new(unit, suffix, "image/png", ImageFile.EncodePng(image.Pixels, image.Width, image.Height));

    private static TechniqueOutput Json(int? unit, JsonObject json) =>
        new(unit, ".json", "application/json", JsonSerializer.SerializeToUtf8Bytes(json, new JsonSerializerOptions { WriteIndented = true }));

    private static Tensor Resize(RgbImage img, int size, Device device)
    {
        using var t = torch.tensor(img.Pixels, [1, 3, img.Height, img.Width], device);
        return F.interpolate(t, (size, size), align_corners: true);
    }

    private static IProgress<int>? Steps(IProgress<double>? progress, int total) =>
        progress is null ? null : new Relay<int>(s => progress.Report((double)s / total));

    private sealed class Relay<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
