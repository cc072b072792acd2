using System.Text;
using System.Text.Json;
using Microscope.Engine.Models.Custom;

namespace Microscope.Engine.Models.Onnx;

/// <summary>What an .onnx file does not say, in a small JSON file beside it
/// (<c>NAME.onnx.json</c>): the model's name, data set, input size, preprocessing, and which
/// ops a sweep covers under which names. Every field is optional; docs/models.md gives the format.</summary>
public sealed record OnnxSidecar
{
    public const string Suffix = ".json";

    public string? Name { get; init; }
    public string? Dataset { get; init; }
    /// <summary>Side of the square image input; needed when the graph's H and W are symbolic (default 224).</summary>
    public int? InputSize { get; init; }
    /// <summary>The graph input that takes the image (or the latent), when there are several.</summary>
    public string? Input { get; init; }
    /// <summary>The input is a latent vector (a generator): its prior and the generated image.
    /// Without it a model is a generator when its only input is [N, Z] or [N, Z, 1, 1] and its
    /// first output is declared [N, 3, H, W] (or [N, 1, H, W]).</summary>
    public OnnxLatentSpec? Latent { get; init; }
    /// <summary>(x·scale − mean) / std on an RGB image in [0, 1], channels reordered to BGR when
    /// asked, as in a .model.json. Without it: torchvision's ImageNet mean and std.</summary>
    public PreprocessingSpec? Preprocessing { get; init; }
    /// <summary>An ONNX graph run after <see cref="Preprocessing"/> (a path beside the sidecar),
    /// as the ResNet-18 package ships its mean image.</summary>
    public string? PreprocessingGraph { get; init; }
    /// <summary>The ops a full sweep covers, in order (default: the block outputs, see docs/models.md),
    /// each by an ONNX node or output name, optionally with a friendly name and aliases.</summary>
    public IReadOnlyList<OnnxOpChoice>? Ops { get; init; }
    /// <summary>Only the listed ops are addressable (default: every node output with channels is).</summary>
    public bool OnlyListedOps { get; init; }

    /// <summary>Where a model's sidecar lies: MODEL.onnx.json beside MODEL.onnx.</summary>
    public static string PathBeside(string onnxPath) => onnxPath + Suffix;

    public static OnnxSidecar Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX sidecar '{path}' does not exist", path);
        return Parse(File.ReadAllText(path, Encoding.UTF8), path);
    }

    public static OnnxSidecar Parse(string json, string source)
    {
        OnnxSidecar? sidecar;
        try { sidecar = JsonSerializer.Deserialize<OnnxSidecar>(json, ModelSpec.Json); }
        catch (JsonException e) { throw new InvalidDataException($"ONNX sidecar '{source}' is not valid: {e.Message}", e); }
        if (sidecar is null) throw new InvalidDataException($"ONNX sidecar '{source}' is empty");
        var problems = sidecar.Preprocessing?.Check().ToList() ?? [];
        if (sidecar.InputSize is < 8 or > 4096) problems.Add($"\"inputSize\" {sidecar.InputSize} is not between 8 and 4096");
        if (sidecar.Ops?.FirstOrDefault(o => string.IsNullOrEmpty(o.Node)) is not null) problems.Add("every entry of \"ops\" needs a \"node\"");
        if (sidecar.Latent is { } latent) problems.AddRange(latent.Check());
        if (problems.Count > 0) throw new InvalidDataException($"ONNX sidecar '{source}' is not valid: {string.Join("; ", problems)}");
        return sidecar;
    }

    public string ToJson() => JsonSerializer.Serialize(this, ModelSpec.Json);
}

/// <summary>One swept op: an ONNX node (or output) name, the name Microscope shows (default:
/// the node's), and more names it answers to.</summary>
public sealed record OnnxOpChoice
{
    public string Node { get; init; } = "";
    public string? Name { get; init; }
    public IReadOnlyList<string> Aliases { get; init; } = [];
    /// <summary>False: addressable, but outside a full sweep.</summary>
    public bool Sweep { get; init; } = true;
}

/// <summary>A generator's latent input: its prior ("normal", the only one for now), the weight
/// of the prior's penalty, the graph output (node or value name) that is the image (default:
/// the first graph output) and that image's value range (default [-1, 1], a tanh).</summary>
public sealed record OnnxLatentSpec
{
    public string Prior { get; init; } = LatentInput.NormalPrior;
    public double PriorWeight { get; init; } = LatentInput.DefaultPriorWeight;
    public string? Output { get; init; }
    public IReadOnlyList<double> Range { get; init; } = [-1, 1];

    public IEnumerable<string> Check()
    {
        if (Prior != LatentInput.NormalPrior) yield return $"\"latent\": prior '{Prior}' is not supported (\"{LatentInput.NormalPrior}\")";
        if (!(PriorWeight >= 0 && PriorWeight <= 1e4)) yield return $"\"latent\": priorWeight {PriorWeight} is not between 0 and 10000";
        if (Range.Count != 2 || !(Range[0] < Range[1]) || !double.IsFinite(Range[0]) || !double.IsFinite(Range[1]))
            yield return $"\"latent\": range [{string.Join(", ", Range)}] is not [low, high] with low < high";
    }
}
