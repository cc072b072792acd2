using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Microscope.Engine.Torch;
using Onnx;

namespace Microscope.Engine.Models.Onnx;

/// <summary>Where an ONNX model comes from: its name in the zoo, the .onnx file, and its
/// sidecar (a path, or the settings themselves for models the project defines).</summary>
public sealed record OnnxModelSource(string Name, string OnnxPath, string? SidecarPath = null, OnnxSidecar? Sidecar = null);

/// <summary>What validating an ONNX file found: the model as the farm registers it.</summary>
public sealed record OnnxModelSummary(string Name, string Version, int InputSize, IReadOnlyList<OpInfo> Ops, long ParameterCount);

/// <summary>A model imported from an ONNX file: the graph becomes a <see cref="ModelGraph"/> of
/// named ops (every node output with channels), its initializers the weights. Truncation,
/// receptive fields, descriptors and every technique work on it as on a zoo model.
/// Its version is a content hash of the .onnx file and its sidecar.</summary>
public sealed partial class OnnxModel : VisionModel
{
    /// <summary>protobuf's own limit on a message: larger models keep their weights in external files.</summary>
    public const long DefaultMaxBytes = int.MaxValue;

    private readonly IReadOnlyList<NamedArray> _weights;
    private readonly Dictionary<string, List<string>> _aliases;
    private readonly HashSet<string> _swept;
    private readonly string _contentVersion;
    private readonly Dictionary<string, string> _valueOfNode;

    public override string Name { get; }
    public override string Dataset { get; }
    public override int InputSize { get; }
    public override Preprocessing Preprocessing { get; }
    public override LatentInput? Latent { get; }
    public string OnnxPath { get; }
    public OnnxSidecar Sidecar { get; }
    /// <summary>The ops a full sweep covers (the documented default rule, or the sidecar's list).</summary>
    public IReadOnlyList<string> SweptOps => OpNames.Where(_swept.Contains).ToList();

    public OnnxModel(string onnxPath, string? sidecarPath = null, long maxBytes = DefaultMaxBytes)
        : this(new OnnxModelSource("", onnxPath, sidecarPath ?? (File.Exists(OnnxSidecar.PathBeside(onnxPath)) ? OnnxSidecar.PathBeside(onnxPath) : null)), maxBytes) { }

    public OnnxModel(OnnxModelSource source, long maxBytes = DefaultMaxBytes)
    {
        OnnxPath = source.OnnxPath;
        var sidecarText = source.SidecarPath is { } sp ? (File.Exists(sp) ? File.ReadAllText(sp, Encoding.UTF8) : throw new FileNotFoundException($"ONNX sidecar '{sp}' does not exist", sp)) : null;
        Sidecar = source.Sidecar ?? (sidecarText is null ? new OnnxSidecar() : OnnxSidecar.Parse(sidecarText, source.SidecarPath!));
        var sidecarDir = Path.GetDirectoryName(Path.GetFullPath(source.SidecarPath ?? source.OnnxPath))!;
        var model = ReadFile(source.OnnxPath, maxBytes);
        var label = source.OnnxPath;

        Name = source.Name.Length > 0 ? source.Name : Sidecar.Name ?? NameFromPath(source.OnnxPath);
        if (!NamePattern().IsMatch(Name)) throw new InvalidDataException($"ONNX model '{label}': the name '{Name}' must be 1-64 lower-case letters, digits, '_' or '-', starting with a letter (give \"name\" in its sidecar)");
        Dataset = Sidecar.Dataset ?? "(not given)";
        var opset = OpsetOf(model, label);
        var (input, inputShape, latent) = ModelInput(model.Graph, Sidecar, label);
        InputSize = latent ? 0 : (int)inputShape[2];

        var affine = Sidecar.Preprocessing?.ToPreprocessing() ?? Preprocessing.ImageNet with { Description = "ImageNet mean/std (torchvision's; the default without a sidecar)" };
        var graphPath = Sidecar.PreprocessingGraph is { } g ? Path.Combine(sidecarDir, g) : null;
        Preprocessing = graphPath is null ? affine
            : affine with { Description = $"{affine.Description}, then {Path.GetFileName(graphPath)}", Stage = new OnnxPreprocessGraph(graphPath, inputShape, maxBytes).Apply };

        var renames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var op in Sidecar.Ops ?? [])
            if (op.Name is { } friendly) renames[op.Node] = friendly;
        using var builder = new OnnxGraphBuilder(Graph, Parameters, Current, label, renames);
        builder.Build(model.Graph, input, inputShape, opset);
        if (latent)
        {
            (Latent, InputSize) = LatentOf(builder, model.Graph, inputShape, Sidecar.Latent ?? new OnnxLatentSpec(), label);
            if (graphPath is not null || Sidecar.Preprocessing is not null) throw new InvalidDataException($"ONNX model '{label}' takes a latent vector: its sidecar's \"preprocessing\" and \"preprocessingGraph\" apply to images only");
            Preprocessing = new Preprocessing("none (the input is a latent vector)", false, 1, [0, 0, 0], [1, 1, 1]);
        }
        _weights = builder.Weights;
        _aliases = builder.Aliases;
        _valueOfNode = builder.NodeOfValue.GroupBy(kv => kv.Value).ToDictionary(g => g.Key, g => g.First().Key, StringComparer.Ordinal);
        (var ops, _swept) = ChooseOps(builder, Sidecar, label);
        foreach (var op in ops) Graph.MarkOp(op);
        foreach (var choice in Sidecar.Ops ?? [])
            _aliases[builder.Resolve(choice.Node, label)].AddRange(choice.Aliases);

        _contentVersion = ContentHash(source.OnnxPath, sidecarText ?? (source.Sidecar is null ? "" : source.Sidecar.ToJson()), graphPath);
    }

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,63}$")]
    private static partial Regex NamePattern();

    /// <summary>A model name from a file name: "ResNet-50.onnx" is "resnet-50".</summary>
    public static string NameFromPath(string onnxPath)
    {
        var stem = Regex.Replace(Path.GetFileNameWithoutExtension(onnxPath).ToLowerInvariant(), "[^a-z0-9_-]", "_");
        stem = stem.Length > 0 && char.IsAsciiLetterLower(stem[0]) ? stem : "m" + stem;
        return stem.Length > 64 ? stem[..64] : stem;
    }

    /// <summary>Reads and builds the model (as far as running one batch-1 forward over every op)
    /// and says what the farm would register; every problem is an
    /// <see cref="InvalidDataException"/> naming it: not ONNX, truncated, too large, an
    /// unsupported op (type and node), no usable image input.</summary>
    public static OnnxModelSummary Validate(string onnxPath, string? sidecarPath = null, long maxBytes = DefaultMaxBytes, string? name = null)
    {
        using var model = new OnnxModel(new OnnxModelSource(name ?? "", onnxPath, sidecarPath), maxBytes);
        model.LoadWeights(new WeightsSource.Shipped(), Device.CPU);
        var d = model.Describe();
        return new OnnxModelSummary(model.Name, model.Version!, model.InputSize, d.Ops, d.ParameterCount);
    }

    /// <summary>The model version: a short SHA-256 over the .onnx file, its sidecar's text and
    /// the preprocessing graph, if any.</summary>
    public static string ContentHash(string onnxPath, string sidecarText, string? preprocessGraphPath = null)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var path in new[] { onnxPath, preprocessGraphPath })
        {
            if (path is null) continue;
            using var f = File.OpenRead(path);
            sha.AppendData(SHA256.HashData(f));
        }
        sha.AppendData(SHA256.HashData(Encoding.UTF8.GetBytes(sidecarText)));
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..12];
    }

    /// <summary>The ONNX value an op computes (tests ask ONNX Runtime for it).</summary>
    internal string OnnxValueOf(string op) => _valueOfNode[ResolveOp(op)];

    protected override IReadOnlyList<NamedArray>? ShippedWeights() => _weights;
    protected override string? ShippedVersion => _contentVersion;
    /// <summary>Other weights (a safetensors file by initializer names) make another version.</summary>
    protected override string VersionOf(string weightsHash) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(_contentVersion + "/" + weightsHash)))[..12];
    protected override bool InChannelSweep(string op) => _swept.Contains(op);
    public override IEnumerable<string> AliasesOf(string op) =>
        _aliases.TryGetValue(op, out var names) ? [op + "_0", .. names] : [op + "_0"];

    internal static ModelProto ReadFile(string path, long maxBytes)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"ONNX model '{path}' does not exist", path);
        if (info.Length > maxBytes) throw new InvalidDataException($"ONNX model '{path}' is too large: {info.Length:N0} bytes, the limit is {maxBytes:N0}");
        if (info.Length == 0) throw new InvalidDataException($"'{path}' is not an ONNX model: the file is empty");
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            var truncated = e.Message.Contains("ended unexpectedly", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("truncated", StringComparison.OrdinalIgnoreCase);
            throw new InvalidDataException(truncated
                ? $"ONNX model '{path}' is truncated (or not an ONNX model): the data ends in the middle of a record"
                : $"'{path}' is not an ONNX model: {e.Message}", e);
        }
        if (model.IrVersion <= 0 || model.Graph is null || model.Graph.Node.Count == 0)
            throw new InvalidDataException($"'{path}' is not an ONNX model: it has no {(model.IrVersion <= 0 ? "IR version" : "graph nodes")}");
        return model;
    }

    internal static int OpsetOf(ModelProto model, string label)
    {
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 1;
        if (opset is < 7 or > 22) throw new InvalidDataException($"ONNX model '{label}': opset {opset} is not supported (7-22; checked 8-17)");
        return (int)opset;
    }

    /// <summary>The graph input: a latent (declared by the sidecar's "latent", or the only
    /// input, of shape [N, Z] or [N, Z, 1, 1], of a graph whose first output is declared an
    /// image) at batch 1, else the image input (<see cref="ImageInput"/>).</summary>
    internal static (string Name, long[] Shape, bool Latent) ModelInput(GraphProto graph, OnnxSidecar sidecar, string label)
    {
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        var candidate = sidecar.Input is { } wanted ? inputs.FirstOrDefault(i => i.Name == wanted) : inputs.Count == 1 ? inputs[0] : null;
        var output = graph.Output.Count > 0 ? Dims(graph.Output[0]) : [];
        var declared = sidecar.Latent is not null;
        if (candidate is null || !(declared || (sidecar.Input is null && IsLatent(Dims(candidate)) && output.Length == 4 && output[1] is 1 or 3 or -1)))
        {
            if (declared) throw new InvalidDataException($"ONNX model '{label}': the sidecar declares a latent input, but {(sidecar.Input is null ? $"the model has {inputs.Count} inputs (name it with \"input\")" : $"it has no input '{sidecar.Input}'")}");
            var (name, shape) = ImageInput(graph, sidecar, label);
            return (name, shape, false);
        }
        var dims = Dims(candidate);
        if (!IsLatent(dims) || dims[1] <= 0)
            throw new InvalidDataException($"ONNX model '{label}': the latent input {Describe(candidate)} is not [N, Z] or [N, Z, 1, 1] with a fixed Z");
        if (candidate.Type.TensorType.ElemType is not (1 or 0)) throw new InvalidDataException($"ONNX model '{label}': the latent input '{candidate.Name}' has element type {candidate.Type.TensorType.ElemType}; float latents only");
        return (candidate.Name, [1, .. dims[1..]], true);
    }

    private static bool IsLatent(long[] dims) => dims.Length == 2 || (dims.Length == 4 && dims[2] == 1 && dims[3] == 1);
    private static long[] Dims(ValueInfoProto v) => v.Type?.TensorType?.Shape?.Dim.Select(d => d.HasDimValue ? d.DimValue : -1).ToArray() ?? [];
    private static string Describe(ValueInfoProto v) => $"'{v.Name}' [{string.Join(", ", Dims(v).Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";

    /// <summary>A generator's latent: its image is the spec's output (default: the first graph
    /// output), which must be a square [N, 3, H, W] or [N, 1, H, W]; H is the model's input size.</summary>
    private static (LatentInput Latent, int Side) LatentOf(OnnxGraphBuilder builder, GraphProto graph, long[] inputShape, OnnxLatentSpec spec, string label)
    {
        var wanted = spec.Output ?? graph.Output.FirstOrDefault()?.Name ?? throw new InvalidDataException($"ONNX model '{label}' has no output");
        var node = builder.Resolve(wanted, label);
        var shape = builder.Built.Single(b => b.Node == node).Value.Shape;
        if (shape.Length != 4 || shape[1] is not (1 or 3) || shape[2] != shape[3])
            throw new InvalidDataException($"ONNX model '{label}' takes a latent vector, but its output '{wanted}' [{string.Join(", ", shape)}] is not a square image [N, 3, H, W] (or [N, 1, H, W]; name the image with \"latent\": {{\"output\": ...}} in the sidecar)");
        return (new LatentInput(inputShape[1..], spec.Prior, spec.PriorWeight, node, spec.Range[0], spec.Range[1]), (int)shape[2]);
    }

    /// <summary>The graph input that takes the image: the sidecar's, or the only one of rank 4
    /// with 3 channels. H and W come from the graph, else the sidecar, else 224; batch is 1 at load.</summary>
    internal static (string Name, long[] Shape) ImageInput(GraphProto graph, OnnxSidecar sidecar, string label)
    {
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        var chosen = sidecar.Input is { } wanted
            ? inputs.FirstOrDefault(i => i.Name == wanted) ?? throw new InvalidDataException($"ONNX model '{label}' has no input '{wanted}' (its inputs: {string.Join(", ", inputs.Select(Describe))})")
            : inputs.Where(i => Dims(i) is { Length: 4 } d && d[1] is 3 or -1).ToList() is { Count: 1 } images ? images[0] : null;
        if (chosen is null)
        {
            var latent = inputs.Count == 1 && IsLatent(Dims(inputs[0]));
            throw new InvalidDataException($"ONNX model '{label}' has no usable image input (one input of shape [N, 3, H, W]): its inputs are {(inputs.Count == 0 ? "none" : string.Join(", ", inputs.Select(Describe)))}"
                + (latent ? "; a latent vector input (a GAN generator) needs an image output [N, 3, H, W], or \"latent\" in the sidecar naming it (docs/models.md, \"Generators\")" : inputs.Count > 1 ? "; name the image input with \"input\" in the sidecar" : ""));
        }
        var dims = Dims(chosen);
        if (dims.Length != 4 || dims[1] is not (3 or -1)) throw new InvalidDataException($"ONNX model '{label}': input {Describe(chosen)} is not an image of shape [N, 3, H, W]");
        if (chosen.Type.TensorType.ElemType is not (1 or 0)) throw new InvalidDataException($"ONNX model '{label}': input '{chosen.Name}' has element type {chosen.Type.TensorType.ElemType}; float images only");
        var (h, w) = (dims[2], dims[3]);
        if (h > 0 && w > 0 && h != w) throw new InvalidDataException($"ONNX model '{label}': input {Describe(chosen)} is not square; renders are square images");
        var declared = h > 0 ? h : w;
        if (sidecar.InputSize is { } size && declared > 0 && size != declared)
            throw new InvalidDataException($"ONNX model '{label}': the sidecar's inputSize {size} differs from the graph's fixed {declared}");
        var side = declared > 0 ? declared : sidecar.InputSize ?? 224;
        return (chosen.Name, [1, 3, side, side]);
    }

    private static readonly HashSet<string> Activations = ["Relu", "Clip", "LeakyRelu", "PRelu", "Elu", "HardSwish", "Sigmoid", "Tanh"];

    /// <summary>Which graph nodes are ops (every float output with channels whose dim 0 is the
    /// batch: [N, C] or [N, C, H, W]) and which of them a full sweep covers: the sidecar's list,
    /// else the default rule (docs/models.md): block outputs (Concat; a residual Add, or the
    /// activation that alone reads it), else (plain chains such as VGG) each activation after a (possibly transposed)
    /// convolution; plus the last activation, sum, product or concat with a spatial extent.</summary>
    private static (List<string> Ops, HashSet<string> Swept) ChooseOps(OnnxGraphBuilder builder, OnnxSidecar sidecar, string label)
    {
        bool HasChannels(GraphValue v) => v.BatchFirst && v.Shape.Length is 2 or 4 && v.Probe.dtype == ScalarType.Float32;
        var ops = builder.Built.Where(b => HasChannels(b.Value)).Select(b => b.Node).ToList();
        var swept = new HashSet<string>(StringComparer.Ordinal);
        if (sidecar.Ops is { Count: > 0 } chosen)
        {
            foreach (var c in chosen)
            {
                var node = builder.Resolve(c.Node, label);
                if (!ops.Contains(node)) throw new InvalidDataException($"ONNX model '{label}': the sidecar's op '{c.Node}' has no channels (its output is not [N, C] or [N, C, H, W])");
                if (c.Sweep) swept.Add(node);
            }
            if (sidecar.OnlyListedOps) ops = ops.Where(o => chosen.Any(c => builder.Resolve(c.Node, label) == o)).ToList();
            return (ops, swept);
        }
        var byNode = builder.Built.ToDictionary(b => b.Node);
        var producer = builder.Built.ToDictionary(b => b.Value.Node, b => b.Source.OpType);
        var readers = builder.Built.SelectMany(b => b.Source.Inputs.Where(i => builder.NodeOfValue.ContainsKey(i)).Select(i => (Input: builder.NodeOfValue[i], Reader: b))).ToLookup(t => t.Input, t => t.Reader);
        foreach (var b in builder.Built.Where(b => b.Value.Shape.Length == 4 && ops.Contains(b.Node)))
        {
            var type = b.Source.OpType;
            var residual = type is "Add" or "Sum" && b.Source.Inputs.Count(i => builder.NodeOfValue.ContainsKey(i)) >= 2;
            if (type != "Concat" && !residual) continue;
            var after = readers[b.Node].ToList();
            swept.Add(after.Count == 1 && Activations.Contains(after[0].Source.OpType) && ops.Contains(after[0].Node) ? after[0].Node : b.Node);
        }
        if (swept.Count == 0)
            foreach (var b in builder.Built.Where(b => b.Value.Shape.Length == 4 && Activations.Contains(b.Source.OpType) && ops.Contains(b.Node)))
            {
                var from = b.Source.Inputs[0];
                var source = builder.NodeOfValue.GetValueOrDefault(from);
                if (source is null) continue;
                var type = producer[source];
                if (type == "BatchNormalization") type = producer.GetValueOrDefault(builder.NodeOfValue.GetValueOrDefault(byNode[source].Source.Inputs[0]) ?? "") ?? "";
                if (type is "Conv" or "ConvTranspose") swept.Add(b.Node);
            }
        // The last conv block's output: the last activation, sum, product (SiLU, x * sigmoid(x))
        // or concat that still has a spatial extent.
        var last = builder.Built.LastOrDefault(b => b.Value.Shape.Length == 4 && b.Value.Shape[2] * b.Value.Shape[3] > 1 && ops.Contains(b.Node)
            && (Activations.Contains(b.Source.OpType) || b.Source.OpType is "Add" or "Sum" or "Mul" or "Concat"));
        if (last.Node is not null) swept.Add(last.Node);
        return (ops, swept);
    }
}

/// <summary>A preprocessing graph run before the model (as the ResNet-18 package ships
/// ResNetPreprocess.onnx: RGB to BGR, minus a mean image): imported with the same builder;
/// its constants follow the input to its device.</summary>
internal sealed class OnnxPreprocessGraph
{
    private readonly ModelGraph _graph = new();
    private readonly ParameterStore _parameters = new();
    private readonly string _output;
    private readonly Lock _lock = new();

    public OnnxPreprocessGraph(string path, long[] inputShape, long maxBytes)
    {
        var model = OnnxModel.ReadFile(path, maxBytes);
        var (input, shape) = OnnxModel.ImageInput(model.Graph, new OnnxSidecar { InputSize = (int)inputShape[2] }, path);
        if (!shape.SequenceEqual(inputShape)) throw new InvalidDataException($"preprocessing graph '{path}' takes [{string.Join(", ", shape)}], the model [{string.Join(", ", inputShape)}]");
        using var builder = new OnnxGraphBuilder(_graph, _parameters, n => _parameters[n], path, new Dictionary<string, string>());
        builder.Build(model.Graph, input, shape, OnnxModel.OpsetOf(model, path));
        var output = model.Graph.Output[0].Name;
        _output = builder.NodeOfValue.TryGetValue(output, out var node) ? node
            : throw new InvalidDataException($"preprocessing graph '{path}': its output '{output}' does not depend on its input");
    }

    public Tensor Apply(Tensor x)
    {
        lock (_lock)
            if (_parameters.Names.Count > 0 && _parameters[_parameters.Names[0]].device != x.device) _parameters.MoveTo(x.device);
        return _graph.Run(x, [_output])[_output];
    }
}
