using Microscope.Engine.Torch;
using Microscope.Engine.Circuits;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Models;

/// <summary>A vision model organism: a graph of named ops, its weights, its input size
/// and preprocessing. Subclasses (one file per architecture) declare layers in their
/// constructor with the helpers below; parameter names are "{layer}.weight"/"{layer}.bias".</summary>
public abstract class VisionModel : IDisposable
{
    private ModelDescriptor? _descriptor;

    public abstract string Name { get; }
    public abstract string Dataset { get; }
    public abstract int InputSize { get; }
    public abstract Preprocessing Preprocessing { get; }
    /// <summary>Set when the model's input is a latent vector (a generator), not an image.</summary>
    public virtual LatentInput? Latent => null;

    public ParameterStore Parameters { get; } = new();
    protected ModelGraph Graph { get; } = new();
    public Device Device { get; private set; } = Device.CPU;

    /// <summary>Short content hash of the loaded weights; null before any are loaded.</summary>
    public string? Version { get; private set; }
    public bool RandomWeights { get; private set; }
    public IReadOnlyList<string> OpNames => Graph.OpNames;

    /// <summary>The weights that ship with the project, if any (the demo model's).</summary>
    protected virtual IReadOnlyList<NamedArray>? ShippedWeights() => null;

    public void LoadWeights(WeightsSource source, Device device)
    {
        switch (source)
        {
            case WeightsSource.Random r:
                Parameters.InitializeRandom(r.Seed);
                break;
            case WeightsSource.File f:
                Parameters.Load(Safetensors.Read(f.Path), $"'{f.Path}'");
                break;
            case WeightsSource.Shipped:
                Parameters.Load(ShippedWeights() ?? throw new InvalidOperationException($"model '{Name}' ships no weights: give a safetensors file"), "shipped with the project");
                break;
        }
        Parameters.MoveTo(device);
        Device = device;
        // Loading again replaces the weights: the version follows the last source.
        RandomWeights = source is WeightsSource.Random;
        Version = source switch
        {
            WeightsSource.Random random => $"random-{random.Seed}",
            WeightsSource.Shipped when ShippedVersion is { } shipped => shipped,
            _ => VersionOf(Parameters.ContentHash()),
        };
        _descriptor = null;
    }

    /// <summary>After training in place: the weights are now this model's own.</summary>
    public void MarkTrained()
    {
        RandomWeights = false;
        Version = VersionOf(Parameters.ContentHash());
        _descriptor = null;
    }

    /// <summary>Runs the model on a preprocessed batch, only as far as the last requested op.</summary>
    public IReadOnlyDictionary<string, Tensor> Forward(Tensor input, IReadOnlyCollection<string> ops) =>
        Graph.Run(input, ops.Select(ResolveOp).ToList());

    public Tensor Forward(Tensor input, string op) => Forward(input, [op]).Values.Single();

    /// <summary>A generator's images (B, C, H, W) in [0, 1] for latents (B, ...<see cref="LatentInput.Shape"/>).</summary>
    public Tensor Generate(Tensor latents)
    {
        var latent = Latent ?? throw new InvalidOperationException($"model '{Name}' takes images, not latents");
        using var image = Graph.Run(latents, [latent.ImageNode])[latent.ImageNode];
        using var shifted = image - latent.Low;
        using var scaled = shifted / (latent.High - latent.Low);
        return scaled.clamp(0, 1);
    }

    /// <summary>Image b's unit <paramref name="units"/>[b] of an op, as (B, 1, ...): what a channel
    /// or neuron objective reads, computed without the op's other channels where its layers
    /// allow (<see cref="UnitRule"/>; a render of 8 units of a 192-channel convolution runs 8
    /// of its filters). The same values as <see cref="Forward(Tensor, string)"/> picked, up to
    /// float rounding.</summary>
    public Tensor ForwardUnits(Tensor input, string op, IReadOnlyList<int> units)
    {
        var name = ResolveOp(op);
        var channels = units.Select(u => (long)u).ToList();
        if (Graph.ChannelsOf(name) is int count) ModelGraph.RequireUnits(name, count, channels);
        if (!PruneUnits)
        {
            using var whole = Forward(input, name);
            return ModelGraph.PickUnits(whole, channels);
        }
        return Graph.RunUnits(input, name, channels);
    }

    /// <summary>Whether <see cref="ForwardUnits"/> computes only the chosen units (on by default;
    /// the bench turns it off to measure what it saves).</summary>
    public bool PruneUnits { get; set; } = true;

    /// <summary>Runs the model from given values of some ops (the circuits' weights start at
    /// an op); <paramref name="input"/> is needed only when a path to the targets bypasses them.</summary>
    public IReadOnlyDictionary<string, Tensor> ForwardFrom(IReadOnlyDictionary<string, Tensor> given, IReadOnlyCollection<string> ops, Tensor? input = null) =>
        Graph.Run(input, ops.Select(ResolveOp).ToList(), given.ToDictionary(g => ResolveOp(g.Key), g => g.Value));

    /// <summary>Canonical op name for a name or one of Microscope's aliases (name + "_0",
    /// flattened TensorFlow names); unknown names fail with near matches.</summary>
    public string ResolveOp(string nameOrAlias)
    {
        if (OpNames.Contains(nameOrAlias, StringComparer.Ordinal)) return nameOrAlias;
        foreach (var op in OpNames)
            if (AliasesOf(op).Contains(nameOrAlias, StringComparer.OrdinalIgnoreCase)) return op;
        var ci = OpNames.FirstOrDefault(o => o.Equals(nameOrAlias, StringComparison.OrdinalIgnoreCase));
        if (ci is not null) return ci;
        throw new UnknownNameException($"model '{Name}' has no op '{nameOrAlias}'{NameSuggestions.Format(nameOrAlias, OpNames)}");
    }

    public virtual IEnumerable<string> AliasesOf(string op) => [op + "_0"];

    /// <summary>The version of the shipped weights when the model knows it without hashing them
    /// (an ONNX model: the content hash of its file).</summary>
    protected virtual string? ShippedVersion => null;

    /// <summary>The model version from its weights' content hash (a model defined by data adds its definition).</summary>
    protected virtual string VersionOf(string weightsHash) => weightsHash;

    /// <summary>Whether a full channel sweep covers this op's units (AlexNet's fc6/fc7 are
    /// addressable but outside the catalogue's sweep).</summary>
    protected virtual bool InChannelSweep(string op) => true;

    public ReceptiveField ReceptiveFieldOf(string op) => Graph.ReceptiveFieldOf(ResolveOp(op));

    /// <summary>Ops with channels, spatial sizes (from one batch-1 forward at the input size)
    /// and edges.</summary>
    public ModelDescriptor Describe()
    {
        if (_descriptor is not null) return _descriptor;
        var ops = new List<OpInfo>();
        using (torch.no_grad())
        using (torch.NewDisposeScope())
        {
            var input = Latent is { } latent ? torch.zeros([1, .. latent.Shape], device: Device) : torch.zeros([1, 3, InputSize, InputSize], device: Device);
            var acts = Graph.Run(input, OpNames);
            foreach (var op in OpNames)
            {
                var s = acts[op].shape;
                ops.Add(new OpInfo(op, (int)s[1], s.Length > 2 ? (int)s[2] : 1, s.Length > 3 ? (int)s[3] : 1, Graph.OpInputs(op), InChannelSweep(op),
                    [.. AliasesOf(op).Where(a => a != op).Distinct(StringComparer.Ordinal)]));
            }
        }
        return _descriptor = new ModelDescriptor(Name, Dataset, InputSize, Preprocessing.Description, ops,
            Parameters.ParameterCount, Version, RandomWeights, Latent);
    }

    public void Dispose()
    {
        Parameters.Dispose();
        GC.SuppressFinalize(this);
    }

    // ---- layer helpers for architectures ----------------------------------------------

    protected string Conv(string name, string input, int inChannels, int outChannels, int kernel, int stride = 1,
        int padding = 0, int groups = 1, bool bias = true, bool relu = true, bool op = false)
    {
        var w = Declare(name + ".weight", [outChannels, inChannels / groups, kernel, kernel]);
        var b = bias ? Declare(name + ".bias", [outChannels], ParameterStore.ParameterInit.Zeros) : null;
        Tensor BeforeRelu(Tensor x) => F.conv2d(x, Current(w), b is null ? null : Current(b), (stride, stride), (padding, padding), groups: groups);
        Graph.Add(name, input, x =>
        {
            var y = BeforeRelu(x);
            if (!relu) return y;
            using (y) return LinearPath.Relu(y);
        }, op, new Geometry(kernel, stride, padding),
        groups != 1 ? null : new UnitRule.Compute((xs, units) =>
        {
            var y = UnitRule.SelectedConv2d(xs[0], Current(w), b is null ? null : Current(b), units, (stride, stride), (padding, padding));
            if (!relu) return y;
            using (y) return LinearPath.Relu(y);
        }), outChannels, (long)inChannels / groups * kernel * kernel);
        if (relu) Graph.EndsWithRelu(name, xs => BeforeRelu(xs[0]));
        return name;
    }

    protected string Linear(string name, string input, int inFeatures, int outFeatures, bool relu = false, bool op = false)
    {
        var w = Declare(name + ".weight", [outFeatures, inFeatures]);
        var b = Declare(name + ".bias", [outFeatures], ParameterStore.ParameterInit.Zeros);
        return Graph.Add(name, input, x =>
        {
            using var flat = x.flatten(1);
            var y = F.linear(flat, Current(w), Current(b));
            if (!relu) return y;
            using (y) return LinearPath.Relu(y);
        }, op, Geometry.Global, new UnitRule.Compute((xs, units) =>
        {
            // Row units[i] of the weights for image i: one dot product per image.
            using var flat = xs[0].flatten(1);
            using var rows = Current(w).index_select(0, units);
            using var products = flat * rows;
            using var dots = products.sum([1], keepdim: true);
            using var bias = Current(b).index_select(0, units);
            using var biasColumn = bias.reshape(units.size(0), 1);
            var y = dots + biasColumn;
            if (!relu) return y;
            using (y) return LinearPath.Relu(y);
        }), outFeatures, inFeatures);
    }

    protected string MaxPool(string name, string input, int kernel, int stride, int padding = 0, bool ceil = false)
    {
        PerChannel(name, input, x => LinearPath.MaxPool2d(x, (kernel, kernel), (stride, stride), (padding, padding), ceil), new Geometry(kernel, stride, padding));
        Graph.CommutesWithRelu(name);
        return name;
    }

    protected string AvgPool(string name, string input, int kernel, int stride, int padding = 0, bool ceil = false, bool countIncludePad = true) =>
        PerChannel(name, input, x => F.avg_pool2d(x, (kernel, kernel), (stride, stride), (padding, padding), ceil, countIncludePad), new Geometry(kernel, stride, padding));

    /// <summary>Averages to a fixed grid (torchvision's AdaptiveAvgPool2d): the identity when
    /// the input already has that size.</summary>
    protected string AdaptiveAvgPool(string name, string input, int height, int width) =>
        PerChannel(name, input, x => F.adaptive_avg_pool2d(x, (height, width)), Geometry.Global);

    protected string GlobalAvgPool(string name, string input) =>
        PerChannel(name, input, x => F.adaptive_avg_pool2d(x, (1, 1)), Geometry.Global);

    protected string Lrn(string name, string input, int size, double alpha, double beta, double k) =>
        Graph.Add(name, input, x => LinearPath.LocalResponseNorm(x, size, alpha, beta, k), channels: Graph.ChannelsOf(input));

    protected string Relu(string name, string input, bool op = false) => PerChannel(name, input, LinearPath.Relu, op: op);

    protected string Concat(string name, string[] inputs, bool op = false) =>
        Graph.Add(name, inputs, xs => torch.cat(xs, 1), op, units: new UnitRule.Concat(),
            channels: inputs.All(i => Graph.ChannelsOf(i) is not null) ? inputs.Sum(i => Graph.ChannelsOf(i)!.Value) : null);

    protected string Sum(string name, string a, string b, bool op = false) =>
        Graph.Add(name, [a, b], xs => xs[0] + xs[1], op, units: new UnitRule.Sum(), channels: Graph.ChannelsOf(a));

    /// <summary>A node whose output channel c depends only on input channel c (pooling,
    /// padding, activations): a unit of it needs only that channel of its input.</summary>
    protected string PerChannel(string name, string input, Func<Tensor, Tensor> compute, Geometry? geometry = null, bool op = false) =>
        Graph.Add(name, input, compute, op, geometry, new UnitRule.PerChannel((x, _) => compute(x)), Graph.ChannelsOf(input));

    protected string BatchNorm(string name, string input, int channels, double eps = 1e-5, bool scale = true, bool relu = false, bool op = false)
    {
        var gamma = scale ? Declare(name + ".weight", [channels], ParameterStore.ParameterInit.Ones) : null;
        var beta = Declare(name + ".bias", [channels], ParameterStore.ParameterInit.Zeros);
        var mean = Declare(name + ".running_mean", [channels], ParameterStore.ParameterInit.Zeros);
        var variance = Declare(name + ".running_var", [channels], ParameterStore.ParameterInit.Ones);
        return Graph.Add(name, input, x =>
        {
            var y = F.batch_norm(x, Current(mean), Current(variance), gamma is null ? null : Current(gamma), Current(beta), eps: eps);
            if (!relu) return y;
            using (y) return LinearPath.Relu(y);
        }, op, units: new UnitRule.PerChannel((x, units) =>
        {
            var y = UnitRule.SelectedBatchNorm(x, units, Current(mean), Current(variance), gamma is null ? null : Current(gamma), Current(beta), eps);
            if (!relu) return y;
            using (y) return LinearPath.Relu(y);
        }), channels: channels);
    }

    protected string Declare(string name, long[] shape, ParameterStore.ParameterInit init = ParameterStore.ParameterInit.KaimingNormal)
    {
        Parameters.Declare(name, shape, init);
        return name;
    }

    /// <summary>Parameters are replaced when moved to a device: layers look them up by name at run time.</summary>
    protected Tensor Current(string parameter) => Parameters[parameter];
}
