using System.Text.RegularExpressions;
using Microscope.Engine.Torch;
using Onnx;

namespace Microscope.Engine.Models.Onnx;

/// <summary>A value of the ONNX graph while it is imported: known at load (folded), or
/// computed by a node of the <see cref="ModelGraph"/> (its shape from a batch-1 probe run at the
/// declared input size; <paramref name="BatchFirst"/>: dim 0 is the batch).</summary>
internal abstract record OnnxValue;
internal sealed record ConstantValue(Folded Data) : OnnxValue;
internal sealed record GraphValue(string Node, long[] Shape, bool BatchFirst, Tensor Probe) : OnnxValue;

/// <summary>How one node output is computed: <see cref="Compute"/> gets the tensors of the
/// node's inputs listed in <see cref="TensorInputs"/> (graph values, or float constants held
/// as parameters), in that order. Everything else (shapes, axes, pads, scales) is read at load
/// and captured. <see cref="BatchFirst"/> says whether dim 0 stays the batch.</summary>
internal sealed record OpPlan(Func<Tensor[], Tensor> Compute, int[] TensorInputs, Geometry? Geometry = null, bool BatchFirst = true);

/// <summary>Walks an ONNX graph in order and builds the equivalent <see cref="ModelGraph"/>:
/// constants and shape arithmetic are folded at load, every other node becomes a graph node
/// whose float constant inputs are parameters (so they follow the model to its device).</summary>
internal sealed partial class OnnxGraphBuilder : IDisposable
{
    private readonly ModelGraph _graph;
    private readonly ParameterStore _parameters;
    private readonly Func<string, Tensor> _current;
    private readonly string _source;
    private readonly Dictionary<string, OnnxValue> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Folded> _initializers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _usedNames = new(StringComparer.Ordinal) { ModelGraph.Input };
    private readonly List<Tensor> _probes = [];
    private readonly IReadOnlyDictionary<string, string> _renames;

    /// <summary>Float constants that became parameters, in order: the model's weights.</summary>
    public List<NamedArray> Weights { get; } = [];
    /// <summary>Graph node name for each ONNX value name it computes, and the other way round.</summary>
    public Dictionary<string, string> NodeOfValue { get; } = new(StringComparer.Ordinal);
    /// <summary>Per graph node: the ONNX node and output names it answers to.</summary>
    public Dictionary<string, List<string>> Aliases { get; } = new(StringComparer.Ordinal);
    /// <summary>Graph nodes in order, with the ONNX node that made them.</summary>
    public List<(string Node, OnnxNode Source, GraphValue Value)> Built { get; } = [];

    /// <param name="renames">Friendly names for ONNX node or output names (the sidecar's).</param>
    public OnnxGraphBuilder(ModelGraph graph, ParameterStore parameters, Func<string, Tensor> current, string source, IReadOnlyDictionary<string, string> renames)
    {
        _renames = renames;
        _graph = graph;
        _parameters = parameters;
        _current = current;
        _source = source;
    }

    /// <summary>Builds the graph of <paramref name="onnx"/> reading <paramref name="imageInput"/>
    /// (shape [1, C, H, W] at the declared size) as <see cref="ModelGraph.Input"/>.</summary>
    public void Build(GraphProto onnx, string imageInput, long[] inputShape, int opset)
    {
        foreach (var init in onnx.Initializer)
            _initializers[init.Name] = Folded.From(init, $"ONNX model '{_source}': initializer '{init.Name}'");

        using (torch.no_grad())
        {
            var probe = torch.zeros(inputShape);
            _probes.Add(probe);
            _values[imageInput] = new GraphValue(ModelGraph.Input, inputShape, true, probe);
            foreach (var init in _initializers) _values.TryAdd(init.Key, new ConstantValue(init.Value));
            foreach (var proto in onnx.Node) Add(new OnnxNode(proto, opset));
        }
    }

    public OnnxValue ValueOf(string name) => _values.TryGetValue(name, out var v) ? v
        : throw new InvalidDataException($"ONNX model '{_source}': value '{name}' is read before any node computes it");

    private void Add(OnnxNode node)
    {
        if (node.Domain is not ("" or "ai.onnx"))
            throw node.Refuse($"the operator domain '{node.Domain}' is not supported (standard ONNX operators only)");
        var inputs = node.Inputs.Select(i => i.Length == 0 ? null : ValueOf(i)).ToArray();

        if (node.OpType == "Identity" || (node.OpType == "Dropout" && node.Outputs.Count >= 1))
        {
            // Same value under another name (Dropout is the identity at inference).
            _values[node.Outputs[0]] = inputs[0]!;
            if (inputs[0] is GraphValue g && Aliases.TryGetValue(g.Node, out var known)) known.AddRange(AliasNames(node, node.Outputs[0]));
            return;
        }
        if (OnnxFolding.TryFold(node, inputs, out var folded))
        {
            for (var o = 0; o < node.Outputs.Count && o < folded.Length; o++) _values[node.Outputs[o]] = new ConstantValue(folded[o]);
            return;
        }
        var plans = OnnxOps.Plan(node, inputs);
        if (inputs.All(i => i is null or ConstantValue))
        {
            // Every input is known: compute it once now (float arithmetic on constants).
            for (var o = 0; o < plans.Length; o++)
            {
                if (plans[o] is not { } p) continue;
                using var scope = torch.NewDisposeScope();
                var args = p.TensorInputs.Select(i => ((ConstantValue)inputs[i]!).Data.ToTensor()).ToArray();
                _values[node.Outputs[o]] = new ConstantValue(Folded.FromTensor(p.Compute(args)));
            }
            return;
        }
        for (var o = 0; o < plans.Length; o++)
        {
            if (plans[o] is not { } plan || o >= node.Outputs.Count || node.Outputs[o].Length == 0) continue;
            AddGraphNode(node, o, plan, inputs);
        }
    }

    private void AddGraphNode(OnnxNode node, int output, OpPlan plan, OnnxValue?[] inputs)
    {
        // Graph inputs of the node, and for each tensor argument where it comes from.
        var graphInputs = new List<GraphValue>();
        var sources = new (int Graph, string? Parameter)[plan.TensorInputs.Length];
        var batchFirst = plan.BatchFirst;
        for (var a = 0; a < plan.TensorInputs.Length; a++)
        {
            var index = plan.TensorInputs[a];
            switch (inputs[index])
            {
                case GraphValue g:
                    var at = graphInputs.FindIndex(x => x.Node == g.Node);
                    if (at < 0) { at = graphInputs.Count; graphInputs.Add(g); }
                    sources[a] = (at, null);
                    batchFirst &= g.BatchFirst;
                    break;
                case ConstantValue c:
                    var parameter = Parameter(node.Inputs[index], c.Data, node, index);
                    sources[a] = (-1, parameter);
                    break;
                default:
                    throw node.Refuse($"input {index} is missing");
            }
        }
        var compute = plan.Compute;
        Tensor Run(Tensor[] xs)
        {
            var args = new Tensor[sources.Length];
            for (var a = 0; a < args.Length; a++) args[a] = sources[a].Parameter is { } p ? _current(p) : xs[sources[a].Graph];
            return compute(args);
        }

        Tensor probe;
        try
        {
            // Temporaries of the probe run die with the scope; the probe itself is kept.
            using var scope = torch.NewDisposeScope();
            probe = scope.MoveToOuter(Run(graphInputs.Select(g => g.Probe).ToArray()));
        }
        catch (TorchException e) { throw node.Refuse($"it cannot run on its inputs ({e.Message.Split('\n')[0]})"); }
        _probes.Add(probe);

        var name = UniqueName(node, output);
        _graph.Add(name, graphInputs.Select(g => g.Node).ToArray(), Run, geometry: plan.Geometry);
        // A ReLU that only max pools read runs after them (ModelGraph.EndsWithRelu): before it,
        // the node's value is its input (a view, so the graph can release both).
        if (node.OpType == "Relu" && graphInputs.Count == 1 && sources.Length == 1)
            _graph.EndsWithRelu(name, xs => xs[0].reshape(xs[0].shape));
        if (node.OpType == "MaxPool" && output == 0 && graphInputs.Count == 1) _graph.CommutesWithRelu(name);
        var value = new GraphValue(name, probe.shape, batchFirst, probe);
        _values[node.Outputs[output]] = value;
        NodeOfValue[node.Outputs[output]] = name;
        Aliases[name] = [.. AliasNames(node, node.Outputs[output]).Where(a => a != name)];
        Built.Add((name, node, value));
    }

    /// <summary>A float constant read by a graph node becomes a parameter named after its
    /// ONNX value (initializers keep their names, so safetensors files can replace them).</summary>
    private string Parameter(string valueName, Folded data, OnnxNode node, int inputIndex)
    {
        if (!data.IsFloat) throw node.Refuse($"input {inputIndex} ('{valueName}') is an integer tensor where a float tensor is expected");
        if (_parameters.Names.Contains(valueName)) return valueName;
        // Random weights (tests, benchmarks): batch-norm scales and variances start at one.
        var init = node.OpType == "BatchNormalization" && inputIndex is 1 or 4 ? ParameterStore.ParameterInit.Ones
            : data.Dims.Length >= 2 ? ParameterStore.ParameterInit.KaimingNormal : ParameterStore.ParameterInit.Zeros;
        var tensor = _parameters.Declare(valueName, data.Dims, init);
        using (var src = torch.tensor(data.Floats!, data.Dims)) tensor.copy_(src);
        Weights.Add(new NamedArray(valueName, data.Dims, data.Floats!));
        return valueName;
    }

    [GeneratedRegex("[^A-Za-z0-9_./-]")]
    private static partial Regex Unsafe();

    /// <summary>A name usable in links and object keys: ONNX names such as
    /// "/layer1/layer1.0/relu/Relu" lose the leading slash; other characters become '_'.</summary>
    public static string Clean(string name)
    {
        var s = Unsafe().Replace(name, "_").Trim('/');
        while (s.Contains("//", StringComparison.Ordinal)) s = s.Replace("//", "/", StringComparison.Ordinal);
        return s;
    }

    private string UniqueName(OnnxNode node, int output)
    {
        foreach (var n in AliasNames(node, node.Outputs[output]))
            if ((output == 0 || n != node.Name) && _renames.TryGetValue(n, out var friendly))
                return _usedNames.Add(friendly) ? friendly : throw node.Refuse($"the name '{friendly}' is used twice");
        // The node's name for its (first) output, as exporters name layers; else the output's name.
        foreach (var candidate in new[] { output == 0 ? Clean(node.Name) : "", Clean(node.Outputs[output]) })
            if (candidate.Length > 0 && _usedNames.Add(candidate)) return candidate;
        for (var i = 1; ; i++)
        {
            var s = $"{Clean(node.Outputs[output])}_{i}";
            if (_usedNames.Add(s)) return s;
        }
    }

    /// <summary>The graph node for a graph node name, an ONNX output name or an ONNX node
    /// name (raw or cleaned); unknown names fail with near matches.</summary>
    public string Resolve(string name, string label)
    {
        if (Aliases.ContainsKey(name)) return name;
        if (NodeOfValue.TryGetValue(name, out var node)) return node;
        foreach (var (n, names) in Aliases)
            if (names.Contains(name, StringComparer.Ordinal)) return n;
        throw new InvalidDataException($"ONNX model '{label}' has no node or output '{name}'{NameSuggestions.Format(name, Aliases.Keys)}");
    }

    private static IEnumerable<string> AliasNames(OnnxNode node, string output) =>
        new[] { node.Name, output, Clean(node.Name), Clean(output) }.Where(n => n.Length > 0).Distinct(StringComparer.Ordinal);

    public void Dispose()
    {
        foreach (var p in _probes) p.Dispose();
        _probes.Clear();
    }
}
