using Microscope.Engine.Torch;

namespace Microscope.Engine.Models;

/// <summary>How a layer maps positions: a kernel with stride and leading padding (rows; columns
/// when they differ, as in 1x7 convolutions and asymmetric pads), or global.</summary>
public sealed record Geometry(int Kernel, int Stride, int Padding, bool IsGlobal = false, int? KernelW = null, int? StrideW = null, int? PaddingW = null)
{
    public static Geometry Global { get; } = new(0, 1, 0, true);

    /// <summary>Kernel, stride and padding along rows (axis 0) or columns (axis 1).</summary>
    public (int Kernel, int Stride, int Padding) Along(int axis) =>
        axis == 0 ? (Kernel, Stride, Padding) : (KernelW ?? Kernel, StrideW ?? Stride, PaddingW ?? Padding);
}

/// <summary>Receptive field of an op's outputs in input pixels (see <see cref="ModelGraph.ReceptiveFieldOf"/>).</summary>
public sealed record ReceptiveField(double Size, double Jump, double Start)
{
    /// <summary>The input box [x0, x1) x [y0, y1) seen by output (y, x), clipped to the image.</summary>
    public (int X0, int Y0, int X1, int Y1) Box(int y, int x, int width, int height)
    {
        double cx = Start + x * Jump, cy = Start + y * Jump, half = Size / 2;
        return ((int)Math.Max(0, Math.Floor(cx - half)), (int)Math.Max(0, Math.Floor(cy - half)),
                (int)Math.Min(width, Math.Ceiling(cx + half)), (int)Math.Min(height, Math.Ceiling(cy + half)));
    }
}

/// <summary>A model as a graph of named nodes in topological order. Some nodes are ops
/// (the significant layer outputs Microscope shows). Running the graph stops as soon as
/// every requested node is computed: truncation is exact because later layers cannot
/// change an earlier op's value.</summary>
public sealed partial class ModelGraph
{
    public const string Input = "input";

    /// <param name="Units">How the node computes one chosen channel per image, when it can
    /// (<see cref="UnitRule"/>); null: only the whole output.</param>
    /// <param name="Channels">Its output channels when known at build time (routes a concat's channels).</param>
    /// <param name="MacsPerOutput">Multiply-adds per output element (convolutions, linear layers),
    /// for the bench's GFLOP/s; 0 for layers whose cost is memory traffic.</param>
    private sealed record Node(string Name, string[] Inputs, Func<Tensor[], Tensor> Compute, Geometry? Geometry,
        UnitRule? Units = null, int? Channels = null, long MacsPerOutput = 0);

    private readonly List<Node> _nodes = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal) { [Input] = -1 };
    private readonly List<string> _ops = [];
    // Nodes that end in a ReLU, with their computation before it; and the max pools, which
    // commute with it (see EndsWithRelu).
    private readonly Dictionary<int, Func<Tensor[], Tensor>> _beforeRelu = [];
    private readonly HashSet<int> _commuteWithRelu = [];

    public IReadOnlyList<string> OpNames => _ops;
    public int NodeCount => _nodes.Count;

    /// <summary>How many nodes the last <see cref="Run"/> on this thread evaluated (tests and
    /// the bench use it to show truncation).</summary>
    [ThreadStatic] private static int _lastEvaluated;
    public static int LastNodesEvaluated => _lastEvaluated;

    public string Add(string name, string[] inputs, Func<Tensor[], Tensor> compute, bool isOp = false, Geometry? geometry = null,
        UnitRule? units = null, int? channels = null, long macsPerOutput = 0)
    {
        if (_index.ContainsKey(name)) throw new InvalidOperationException($"node '{name}' defined twice");
        foreach (var i in inputs)
            if (!_index.ContainsKey(i)) throw new InvalidOperationException($"node '{name}' reads '{i}', which is not defined yet");
        _index[name] = _nodes.Count;
        _nodes.Add(new Node(name, inputs, compute, geometry, units, channels, macsPerOutput));
        if (isOp) _ops.Add(name);
        return name;
    }

    public string Add(string name, string input, Func<Tensor, Tensor> compute, bool isOp = false, Geometry? geometry = null,
        UnitRule? units = null, int? channels = null, long macsPerOutput = 0) =>
        Add(name, [input], xs => compute(xs[0]), isOp, geometry, units, channels, macsPerOutput);

    /// <summary>One node's forward in a profiled run: time, output size and multiply-adds.</summary>
    public sealed record NodeTime(string Node, double Ms, long OutputElements, long Macs);

    [ThreadStatic] private static List<NodeTime>? _profile;

    /// <summary>Records every node's forward time on this thread until disposed (CPU timings:
    /// on CUDA kernels run asynchronously and the figures are launch times).</summary>
    public static IDisposable ProfileNodes(List<NodeTime> into)
    {
        var previous = _profile;
        _profile = into;
        return new Restore(() => _profile = previous);
    }

    /// <summary>Declares that a node's output is ReLU(<paramref name="beforeRelu"/>(inputs)). When
    /// such a node is not a target and only max pools read it, a run computes the pools on its
    /// value before the ReLU and applies the ReLU after them: max and ReLU commute exactly (same
    /// values, same gradients), and the ReLU, forward and backward, then touches a quarter of
    /// the values (InceptionV1's conv2d0: 8x64x112x112 before maxpool0).</summary>
    public void EndsWithRelu(string name, Func<Tensor[], Tensor> beforeRelu) => _beforeRelu[IndexOf(name)] = beforeRelu;

    /// <summary>Declares a node as a max pool of its one input (commutes with a ReLU before it).</summary>
    public void CommutesWithRelu(string name) => _commuteWithRelu.Add(IndexOf(name));

    private int IndexOf(string name) =>
        _index.TryGetValue(name, out var i) && i >= 0 ? i : throw new InvalidOperationException($"no node '{name}'");

    /// <summary>A node's output channels when known without running it.</summary>
    public int? ChannelsOf(string name) => name == Input ? 3 : _nodes[_index[name]].Channels;

    /// <summary>Makes an already added node an op.</summary>
    public void MarkOp(string name)
    {
        if (name == Input || !_index.ContainsKey(name)) throw new InvalidOperationException($"no node '{name}' to mark as an op");
        if (!_ops.Contains(name)) _ops.Add(name);
    }

    /// <summary>The receptive field of a node's outputs in input pixels: size, the distance
    /// between neighbouring outputs' centres (jump), and the centre of output 0 (pixel i's
    /// centre is i + 0.5). Nodes without geometry (activations, normalisations, concats) keep
    /// their widest input's field; a global node (linear, global pool) sees everything.</summary>
    public ReceptiveField ReceptiveFieldOf(string name)
    {
        // Rows and columns separately (factorised 1x7 / 7x1 kernels, asymmetric pads); the
        // wider of the two is the field.
        var rows = ReceptiveFieldAlong(name, 0);
        var columns = ReceptiveFieldAlong(name, 1);
        return columns.Size > rows.Size ? columns : rows;
    }

    private ReceptiveField ReceptiveFieldAlong(string name, int axis)
    {
        var memo = new Dictionary<string, ReceptiveField>(StringComparer.Ordinal) { [Input] = new(1, 1, 0.5) };
        ReceptiveField Of(string n)
        {
            if (memo.TryGetValue(n, out var known)) return known;
            var node = _nodes[_index[n]];
            var inputs = node.Inputs.Select(Of).ToList();
            var widest = inputs.OrderByDescending(r => r.Size).First();
            ReceptiveField rf;
            if (node.Geometry is null) rf = widest;
            else if (node.Geometry.IsGlobal) rf = new ReceptiveField(double.PositiveInfinity, widest.Jump, widest.Start);
            else
            {
                var (kernel, stride, padding) = node.Geometry.Along(axis);
                rf = new ReceptiveField(
                    widest.Size + (kernel - 1) * widest.Jump,
                    widest.Jump * stride,
                    widest.Start + ((kernel - 1) / 2.0 - padding) * widest.Jump);
            }
            return memo[n] = rf;
        }
        return Of(name);
    }

    public bool Contains(string name) => _index.ContainsKey(name);

    /// <summary>Evaluates nodes in order until every target is computed. Returns the targets'
    /// outputs (owned by the caller or the current dispose scope); intermediates are released
    /// as soon as nothing later reads them.</summary>
    public IReadOnlyDictionary<string, Tensor> Run(Tensor input, IReadOnlyCollection<string> targets) => Run(input, targets, null);

    /// <summary>As above, with some nodes' values given instead of computed (the circuits'
    /// expanded weights start the graph at an op): only nodes the targets need past the given
    /// ones run, and the input is read only when some path bypasses them. Given tensors stay
    /// the caller's.</summary>
    public IReadOnlyDictionary<string, Tensor> Run(Tensor? input, IReadOnlyCollection<string> targets, IReadOnlyDictionary<string, Tensor>? given)
    {
        if (targets.Count == 0) throw new ArgumentException("no target op given");
        given ??= new Dictionary<string, Tensor>();
        var last = -1;
        foreach (var t in targets)
        {
            if (!_index.TryGetValue(t, out var i) || i < 0) throw new ArgumentException($"unknown node '{t}'");
            last = Math.Max(last, i);
        }
        foreach (var g in given.Keys)
            if (!_index.TryGetValue(g, out var i) || i < 0) throw new ArgumentException($"unknown node '{g}'");

        // Which nodes the targets need: walk back from them, stopping at given nodes.
        var needed = new bool[last + 1];
        var stack = new Stack<int>(targets.Select(t => _index[t]));
        var readsInput = false;
        while (stack.Count > 0)
        {
            var i = stack.Pop();
            if (i < 0) { readsInput = true; continue; }
            if (needed[i]) continue;
            needed[i] = true;
            if (given.ContainsKey(_nodes[i].Name)) continue;
            foreach (var inp in _nodes[i].Inputs) stack.Push(_index[inp]);
        }
        if (readsInput && input is null) throw new ArgumentException("the targets read the input, but none was given");

        var wanted = new HashSet<string>(targets, StringComparer.Ordinal);
        bool Owned(int j) => !wanted.Contains(_nodes[j].Name) && !given.ContainsKey(_nodes[j].Name);
        // ReLUs moved past the max pools that alone read them (see EndsWithRelu): a node ending
        // in a ReLU, neither a target nor given, whose every reader is a one-input max pool.
        var deferred = new bool[last + 1];
        foreach (var i in _beforeRelu.Keys)
            if (i <= last) deferred[i] = needed[i] && Owned(i);
        var lastUse = new int[_nodes.Count];
        for (var i = 0; i <= last; i++)
            if (needed[i] && !given.ContainsKey(_nodes[i].Name))
                foreach (var inp in _nodes[i].Inputs)
                    if (_index[inp] is var j and >= 0)
                    {
                        lastUse[j] = i;
                        if (!(_commuteWithRelu.Contains(i) && _nodes[i].Inputs.Length == 1)) deferred[j] = false;
                    }
        bool ReadsDeferred(int i) => _nodes[i].Inputs is [var only] && _index[only] is var j && j >= 0 && deferred[j];
        Tensor Evaluate(int i, Tensor[] args)
        {
            if (deferred[i]) return _beforeRelu[i](args);
            var value = _nodes[i].Compute(args);
            if (!ReadsDeferred(i)) return value;
            using (value) return Circuits.LinearPath.Relu(value);
        }
        var values = new Tensor?[last + 1];
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var evaluated = 0;
        for (var i = 0; i <= last; i++)
        {
            if (!needed[i]) continue;
            var node = _nodes[i];
            if (given.TryGetValue(node.Name, out var value))
            {
                values[i] = value;
                if (wanted.Contains(node.Name)) result[node.Name] = value;
                continue;
            }
            var args = new Tensor[node.Inputs.Length];
            for (var a = 0; a < args.Length; a++)
            {
                var j = _index[node.Inputs[a]];
                args[a] = j < 0 ? input! : values[j]!;
            }
            if (_profile is { } profile)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                values[i] = Evaluate(i, args);
                var elements = values[i]!.numel();
                profile.Add(new NodeTime(node.Name, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, elements, elements * node.MacsPerOutput));
            }
            else values[i] = Evaluate(i, args);
            evaluated++;
            if (wanted.Contains(node.Name)) result[node.Name] = values[i]!;
            foreach (var inp in node.Inputs)
            {
                var j = _index[inp];
                if (j >= 0 && lastUse[j] == i && Owned(j)) values[j]!.Dispose();
            }
            if (lastUse[i] == 0 && i != last && Owned(i)) values[i]!.Dispose();
        }
        _lastEvaluated = evaluated;
        return result;
    }

    /// <summary>The nearest ops (or the input) that feed an op: the edges of the op graph
    /// the viewer draws.</summary>
    public IReadOnlyList<string> OpInputs(string op)
    {
        var opSet = new HashSet<string>(_ops, StringComparer.Ordinal);
        var found = new SortedSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>(_nodes[_index[op]].Inputs);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (!seen.Add(n)) continue;
            if (n == Input || opSet.Contains(n)) { found.Add(n); continue; }
            foreach (var i in _nodes[_index[n]].Inputs) stack.Push(i);
        }
        return found.OrderBy(n => n == Input ? -1 : _index[n]).ToList();
    }
}
