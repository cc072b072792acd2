using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Json.Serialization;

namespace Microscope.Engine.Models.Custom;

/// <summary>A user's own model: its layers as data (a <c>.model.json</c> file beside a
/// safetensors file of its weights). `tools/export_model.py` writes both from a PyTorch
/// module; docs/models.md, "Bring your own model", gives the format.</summary>
public sealed partial record ModelSpec
{
    [GeneratedRegex("^[a-z][a-z0-9_-]{0,63}$")]
    private static partial Regex NamePattern();

    public const string FormatName = "microscope-model/1";
    public const string FileSuffix = ".model.json";

    public string Format { get; init; } = "";
    public string Name { get; init; } = "";
    public string Dataset { get; init; } = "";
    public int InputSize { get; init; }
    public PreprocessingSpec Preprocessing { get; init; } = new();
    public IReadOnlyList<LayerSpec> Layers { get; init; } = [];

    /// <summary>Where it was read from, for messages.</summary>
    [JsonIgnore] public string Source { get; init; } = "";

    /// <summary>A short hash of the layers and preprocessing: part of the model version, so
    /// editing the architecture (a padding, an op) makes a new version even with the same weights.</summary>
    [JsonIgnore] public string ContentHash => Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(this with { Source = "" }, Json)))[..12];

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        // A misspelt field ("strid") is an error, not a silent default.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    /// <summary>Whether a model argument is the path of a spec rather than a model's name.</summary>
    public static bool IsSpecPath(string model) => model.EndsWith(FileSuffix, StringComparison.OrdinalIgnoreCase);

    /// <summary>Where a spec's weights lie: NAME.safetensors beside NAME.model.json
    /// (tools/export_model.py writes both).</summary>
    public static string WeightsBeside(string specPath) => specPath[..^FileSuffix.Length] + ".safetensors";

    public static ModelSpec Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model spec '{path}' does not exist", path);
        return Parse(File.ReadAllText(path, Encoding.UTF8), path);
    }

    public static ModelSpec Parse(string json, string source)
    {
        ModelSpec? spec;
        try { spec = JsonSerializer.Deserialize<ModelSpec>(json, Json); }
        catch (JsonException e) { throw new InvalidDataException($"model spec '{source}' is not valid: {e.Message}", e); }
        if (spec is null) throw new InvalidDataException($"model spec '{source}' is empty");
        spec = spec with { Source = source };
        spec.Validated();
        return spec;
    }

    /// <summary>Each layer's output channels; a spec with problems throws, naming them all.</summary>
    internal IReadOnlyDictionary<string, int> Validated()
    {
        var (problems, channels) = Inspect();
        if (problems.Count > 0) throw new InvalidDataException($"model spec '{Source}' is not valid: {string.Join("; ", problems)}");
        return channels!;
    }

    /// <summary>Everything wrong with the spec that can be seen without running it: format,
    /// names, layer types and fields, inputs that exist and come earlier, channel counts.</summary>
    public IReadOnlyList<string> Check() => Inspect().Problems;

    private (List<string> Problems, IReadOnlyDictionary<string, int>? Channels) Inspect()
    {
        var problems = new List<string>();
        if (Format != FormatName) problems.Add($"\"format\" is '{Format}', expected '{FormatName}'");
        // The name is a path segment of links and object keys.
        if (!NamePattern().IsMatch(Name)) problems.Add($"\"name\" '{Name}' must be 1-64 lower-case letters, digits, '_' or '-', starting with a letter");
        if (InputSize is < 8 or > 4096) problems.Add($"\"inputSize\" {InputSize} is not between 8 and 4096");
        problems.AddRange(Preprocessing.Check());
        if (Layers.Count == 0) problems.Add("\"layers\" is empty");
        if (problems.Count > 0) return (problems, null);
        var layers = LayerChannels.Of(this);
        problems.AddRange(layers.Problems);
        if (problems.Count == 0 && !Layers.Any(l => l.Op)) problems.Add("no layer is an op (\"op\": true): nothing would be visible");
        return (problems, layers.Channels);
    }
}

/// <summary>out = (x·scale − mean) / std on an RGB image in [0, 1], channels reordered to BGR when asked.</summary>
public sealed record PreprocessingSpec
{
    public string Description { get; init; } = "";
    public bool Bgr { get; init; }
    public double Scale { get; init; } = 1;
    public double[] Mean { get; init; } = [0, 0, 0];
    public double[] Std { get; init; } = [1, 1, 1];

    public IEnumerable<string> Check()
    {
        if (Mean.Length != 3) yield return $"\"preprocessing.mean\" has {Mean.Length} values, expected 3";
        if (Std.Length != 3 || Std.Any(s => !(s > 0))) yield return "\"preprocessing.std\" must be 3 values above 0";
        if (!(Scale > 0)) yield return "\"preprocessing.scale\" must be above 0";
    }

    public Preprocessing ToPreprocessing() => new(
        Description.Length > 0 ? Description : $"{(Bgr ? "BGR" : "RGB")} (x*{Scale} - [{string.Join(", ", Mean)}]) / [{string.Join(", ", Std)}]",
        Bgr, Scale, Mean, Std);
}

/// <summary>One layer. <see cref="Type"/> decides which fields count; parameters are named
/// "{name}.weight", "{name}.bias" (and "{name}.running_mean|running_var" for batchnorm), as
/// in a PyTorch state dict.</summary>
public sealed record LayerSpec
{
    public static readonly IReadOnlyList<string> Types =
        ["conv", "linear", "batchnorm", "relu", "maxpool", "avgpool", "globalavgpool", "lrn", "add", "concat"];

    public string Name { get; init; } = "";
    public string Type { get; init; } = "";
    /// <summary>The layer it reads ("input" is the preprocessed image); add and concat use <see cref="Inputs"/>.</summary>
    public string? Input { get; init; }
    public IReadOnlyList<string>? Inputs { get; init; }
    /// <summary>Visible in Microscope: its output channels are units.</summary>
    public bool Op { get; init; }
    /// <summary>An op outside a full channel sweep (still addressable and renderable).</summary>
    public bool Sweep { get; init; } = true;

    // conv, linear
    public int? In { get; init; }
    public int? Out { get; init; }
    public bool Bias { get; init; } = true;
    // conv, pools
    public int? Kernel { get; init; }
    public int Stride { get; init; } = 1;
    public int Padding { get; init; }
    public int Groups { get; init; } = 1;
    public bool Ceil { get; init; }
    public bool CountIncludePad { get; init; } = true;
    // batchnorm; without scale there is no "{name}.weight" (TF-slim's scale=False)
    public double Eps { get; init; } = 1e-5;
    public bool Scale { get; init; } = true;
    // lrn
    public int? Size { get; init; }
    public double Alpha { get; init; } = 1e-4;
    public double Beta { get; init; } = 0.75;
    public double K { get; init; } = 1;

    public IReadOnlyList<string> Sources => Type is "add" or "concat" ? Inputs ?? [] : Input is null ? [] : [Input];
}

/// <summary>Each layer's output channels, and the problems found working them out in order.</summary>
internal sealed record LayerChannels(IReadOnlyDictionary<string, int> Channels, IReadOnlyDictionary<string, bool> Flat, IReadOnlyList<string> Problems)
{
    public static LayerChannels Of(ModelSpec spec)
    {
        var channels = new Dictionary<string, int>(StringComparer.Ordinal) { [Models.ModelGraph.Input] = 3 };
        // Whether a layer's output has no spatial extent (a linear or a global pool): a linear
        // reading it needs no "in".
        var flat = new Dictionary<string, bool>(StringComparer.Ordinal) { [Models.ModelGraph.Input] = false };
        var problems = new List<string>();
        foreach (var l in spec.Layers)
        {
            var at = $"layer '{l.Name}'";
            if (l.Name.Length == 0 || l.Name.IndexOfAny(['/', '#', '?', '%']) >= 0 || l.Name.Any(char.IsWhiteSpace)) { problems.Add($"{at}: a name must be non-empty, without '/', '#', '?', '%' or spaces (it is part of links)"); continue; }
            if (channels.ContainsKey(l.Name)) { problems.Add($"{at}: the name is used twice (or is 'input')"); continue; }
            if (!LayerSpec.Types.Contains(l.Type)) { problems.Add($"{at}: unknown type '{l.Type}'; known: {string.Join(", ", LayerSpec.Types)}"); continue; }
            var sources = l.Sources;
            var multi = l.Type is "add" or "concat";
            if (multi ? sources.Count < 2 : sources.Count != 1) { problems.Add(multi ? $"{at}: \"inputs\" needs two or more layers" : $"{at}: \"input\" is missing"); continue; }
            var unknown = sources.Where(s => !channels.ContainsKey(s)).ToList();
            if (unknown.Count > 0) { problems.Add($"{at}: input '{unknown[0]}' is not an earlier layer{NameSuggestions.Format(unknown[0], channels.Keys)}"); continue; }
            var c = channels[sources[0]];
            var isFlat = flat[sources[0]];
            int? result = l.Type switch
            {
                "conv" => Conv(l, c, at, problems),
                "linear" => Linear(l, c, isFlat, at, problems),
                "add" => Same(l, channels, at, problems),
                "concat" => sources.Sum(s => channels[s]),
                "lrn" when l.Size is not > 0 => Problem(problems, $"{at}: \"size\" must be above 0"),
                "maxpool" or "avgpool" when l.Kernel is not > 0 || l.Stride < 1 || l.Padding < 0 => Problem(problems, $"{at}: \"kernel\" and \"stride\" must be above 0, \"padding\" 0 or more"),
                _ => c,
            };
            if (result is null) continue;
            channels[l.Name] = result.Value;
            flat[l.Name] = l.Type is "linear" or "globalavgpool" || (isFlat && l.Type is "relu" or "batchnorm" or "add" or "concat");
        }
        return new LayerChannels(channels, flat, problems);
    }

    private static int? Problem(List<string> problems, string problem)
    {
        problems.Add(problem);
        return null;
    }

    private static int? Conv(LayerSpec l, int c, string at, List<string> problems)
    {
        if (l.Out is not > 0 || l.Kernel is not > 0 || l.Stride < 1 || l.Padding < 0 || l.Groups < 1)
            return Problem(problems, $"{at}: conv needs \"out\" and \"kernel\" above 0, \"stride\" and \"groups\" 1 or more, \"padding\" 0 or more");
        if (l.In is { } given && given != c) return Problem(problems, $"{at}: \"in\" is {given} but its input '{l.Input}' has {c} channels");
        if (c % l.Groups != 0 || l.Out.Value % l.Groups != 0) return Problem(problems, $"{at}: {l.Groups} groups do not divide {c} input and {l.Out} output channels");
        return l.Out;
    }

    private static int? Linear(LayerSpec l, int c, bool inputIsFlat, string at, List<string> problems)
    {
        if (l.Out is not > 0) return Problem(problems, $"{at}: linear needs \"out\" above 0");
        if (l.In is null && !inputIsFlat) return Problem(problems, $"{at}: linear needs \"in\" (channels × height × width): its input '{l.Input}' is a spatial map");
        if (l.In is { } given && inputIsFlat && given != c) return Problem(problems, $"{at}: \"in\" is {given} but its input '{l.Input}' has {c} features");
        return l.Out;
    }

    private static int? Same(LayerSpec l, Dictionary<string, int> channels, string at, List<string> problems)
    {
        var counts = l.Inputs!.Select(s => channels[s]).Distinct().ToList();
        return counts.Count == 1 ? counts[0]
            : Problem(problems, $"{at}: add needs inputs with the same channels, got {string.Join(", ", l.Inputs!.Select(s => $"'{s}' {channels[s]}"))}");
    }
}
