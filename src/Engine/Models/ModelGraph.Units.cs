using Microscope.Engine.Torch;

namespace Microscope.Engine.Models;

/// <summary>How a node computes only some of its output channels: one chosen channel per image,
/// which is all a channel or neuron objective reads. A render of 8 units of `conv2d2` then runs
/// 8 of that convolution's 192 filters, and one of `mixed4a` only the branch (and filters)
/// holding its units (docs/performance.md).</summary>
public abstract record UnitRule
{
    /// <summary>Computes the chosen channels from the node's whole inputs, restricted to the
    /// images concerned: (inputs (S, ...), channels (S) as int64) → (S, 1, ...). Convolutions,
    /// linear layers.</summary>
    public sealed record Compute(Func<Tensor[], Tensor, Tensor> Selected) : UnitRule;

    /// <summary>Output channel c depends only on input channel c (ReLU, batch norm): applies to
    /// the input's chosen channels: (selected input (S, 1, ...), channels (S)) → (S, 1, ...).</summary>
    public sealed record PerChannel(Func<Tensor, Tensor, Tensor> Apply) : UnitRule;

    /// <summary>A channel concatenation: each chosen channel comes from the input holding it.</summary>
    public sealed record Concat : UnitRule;

    /// <summary>An elementwise sum of inputs with the same channels (residual adds).</summary>
    public sealed record Sum : UnitRule;

    /// <summary>Filters are chosen in aligned blocks of this many, so every image's map comes
    /// from a convolution of the same shape whatever else is in its batch.</summary>
    public const int FilterBlock = 16;

    /// <summary>A convolution (with optional bias) computing filter channels[i] for image i only.
    /// All images run through the blocks of 16 filters holding their units as one ordinary
    /// convolution, and image i keeps its own filter's map: a few blocks of C filters instead of
    /// all C (measured on the 2-core CPU: 5-10x cheaper than the whole conv2d2 for 8 images, and
    /// faster than a grouped or per-image convolution, which oneDNN runs poorly). Whole blocks,
    /// not just the chosen filters, keep the arithmetic of one image's map independent of the
    /// other images' units: a unit renders the same pixels alone or in any batch.</summary>
    public static Tensor SelectedConv2d(Tensor x, Tensor weight, Tensor? bias, Tensor channels,
        (long, long) stride, (long, long) padding, (long, long)? paddingAfter = null)
    {
        var chosen = channels.data<long>();
        var count = weight.size(0);
        var width = Math.Min(FilterBlock, count);
        long BlockStart(long c) => Math.Min(c / FilterBlock * FilterBlock, count - width);
        var starts = chosen.Select(BlockStart).Distinct().ToArray();
        var slot = starts.Select((start, i) => (start, i)).ToDictionary(p => p.start, p => (long)p.i * width);
        var filterIndex = starts.SelectMany(start => Enumerable.Range(0, (int)width).Select(k => start + k)).ToArray();
        using var filters = torch.tensor(filterIndex, [filterIndex.Length], x.device);
        using var w = weight.index_select(0, filters);
        using var b = bias?.index_select(0, filters);
        using var maps = torch.nn.functional.conv2d(x, w, b, stride, padding, paddingAfter: paddingAfter);
        var s = maps.shape;
        // Row i * filters + (the slot of image i's block + its offset there) is image i's map.
        var rows = chosen.Select((c, i) => i * filterIndex.Length + slot[BlockStart(c)] + (c - BlockStart(c))).ToArray();
        using var index = torch.tensor(rows, [rows.Length], x.device);
        using var flat = maps.reshape(s[0] * s[1], s[2], s[3]);
        using var picked = flat.index_select(0, index);
        return picked.reshape(s[0], 1, s[2], s[3]);
    }

    /// <summary>Inference batch norm of the chosen channels ((S, 1, ...) input, one channel per image).</summary>
    public static Tensor SelectedBatchNorm(Tensor x, Tensor channels, Tensor mean, Tensor variance, Tensor? gamma, Tensor beta, double eps)
    {
        var rank = x.dim();
        using var m = PerImage(mean, channels, rank);
        using var v = PerImage(variance, channels, rank);
        using var b = PerImage(beta, channels, rank);
        using var shifted = v + eps;
        using var std = shifted.sqrt();
        using var centred = x - m;
        using var normalised = centred / std;
        if (gamma is null) return normalised + b;
        using var g = PerImage(gamma, channels, rank);
        using var scaled = normalised * g;
        return scaled + b;
    }

    /// <summary>Per-channel parameters (batch norm's) of the chosen channels, shaped to broadcast
    /// over a (S, 1, ...) tensor of the given rank.</summary>
    private static Tensor PerImage(Tensor perChannel, Tensor channels, int rank)
    {
        using var picked = perChannel.index_select(0, channels);
        return picked.reshape([channels.size(0), .. Enumerable.Repeat(1L, rank - 1)]);
    }
}

public sealed partial class ModelGraph
{
    /// <summary>Image i's channel <paramref name="channels"/>[i] of <paramref name="target"/>,
    /// as a (B, 1, ...) tensor, computing no more than that where the nodes allow
    /// (<see cref="UnitRule"/>); equal to running the target and picking the channels, up to
    /// float rounding, gradients included.</summary>
    public Tensor RunUnits(Tensor input, string target, IReadOnlyList<long> channels)
    {
        if (!_index.TryGetValue(target, out var t) || t < 0) throw new ArgumentException($"unknown node '{target}'");
        var batch = (int)input.size(0);
        if (channels.Count != batch) throw new ArgumentException($"{channels.Count} channels for a batch of {batch}");
        var all = Enumerable.Range(0, batch).ToArray();
        var plan = Plan(target, all, [.. channels]);
        var whole = new HashSet<string>(StringComparer.Ordinal);
        plan.CollectWhole(whole);
        var values = whole.Count == 0 ? new Dictionary<string, Tensor>() : Run(input, whole);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = plan.Evaluate(input, values);
        _profile?.Add(new NodeTime($"{target} (own units)", System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, result.numel(), 0));
        return result;
    }

    /// <summary>Refuses a unit outside an op of <paramref name="count"/> channels, naming the op,
    /// its range and the first unit outside it (renders, objectives and unit picks alike).</summary>
    public static void RequireUnits(string op, long count, IEnumerable<long> units)
    {
        foreach (var u in units)
            if (u < 0 || u >= count) throw new ArgumentOutOfRangeException(nameof(units), $"op '{op}' has units 0..{count - 1}, not {u}");
    }

    /// <summary>Image i's channel channels[i] of a whole (B, C, ...) output, as (B, 1, ...).</summary>
    public static Tensor PickUnits(Tensor whole, IReadOnlyList<long> channels) =>
        new PickPlan(Input, [.. Enumerable.Range(0, channels.Count)], [.. channels]).Evaluate(whole, new Dictionary<string, Tensor>());

    /// <summary>Which part of the graph produces which images' channels.</summary>
    private abstract record UnitPlan(int[] Images, long[] Channels)
    {
        public abstract void CollectWhole(HashSet<string> whole);
        /// <param name="input">The graph's whole input batch (or, for <see cref="PickUnits"/>, the whole output).</param>
        public abstract Tensor Evaluate(Tensor input, IReadOnlyDictionary<string, Tensor> values);
    }

    /// <summary>The node is run whole and the channels picked from its output.</summary>
    private sealed record PickPlan(string NodeName, int[] Images, long[] Channels) : UnitPlan(Images, Channels)
    {
        public override void CollectWhole(HashSet<string> whole)
        {
            if (NodeName != Input) whole.Add(NodeName);
        }

        public override Tensor Evaluate(Tensor input, IReadOnlyDictionary<string, Tensor> values)
        {
            var full = NodeName == Input ? input : values[NodeName];
            var s = full.shape;
            RequireUnits(NodeName, s[1], Channels);
            // Row images[i] * C + channels[i] of the (B * C, ...) view is image i's channel.
            var flat = Images.Select((image, i) => image * s[1] + Channels[i]).ToArray();
            using var index = torch.tensor(flat, [flat.Length], full.device);
            using var rows = full.reshape([s[0] * s[1], .. s[2..]]);
            using var picked = rows.index_select(0, index);
            return picked.reshape([flat.Length, 1, .. s[2..]]);
        }
    }

    private sealed record ComputePlan(Node Node, UnitRule.Compute Rule, int[] Images, long[] Channels) : UnitPlan(Images, Channels)
    {
        public override void CollectWhole(HashSet<string> whole)
        {
            foreach (var i in Node.Inputs)
                if (i != Input) whole.Add(i);
        }

        public override Tensor Evaluate(Tensor input, IReadOnlyDictionary<string, Tensor> values)
        {
            using var scope = torch.NewDisposeScope();
            var device = input.device;
            var everyImage = Images.Length == input.size(0) && Images.Select((image, i) => image == i).All(x => x);
            var rows = everyImage ? null : torch.tensor(Images.Select(i => (long)i).ToArray(), [Images.Length], device);
            var args = Node.Inputs.Select(name =>
            {
                var full = name == Input ? input : values[name];
                return rows is null ? full : full.index_select(0, rows);
            }).ToArray();
            using var channels = torch.tensor(Channels, [Channels.Length], device);
            return scope.MoveToOuter(Rule.Selected(args, channels));
        }
    }

    private sealed record PerChannelPlan(UnitRule.PerChannel Rule, UnitPlan Inner) : UnitPlan(Inner.Images, Inner.Channels)
    {
        public override void CollectWhole(HashSet<string> whole) => Inner.CollectWhole(whole);
        public override Tensor Evaluate(Tensor input, IReadOnlyDictionary<string, Tensor> values)
        {
            using var selected = Inner.Evaluate(input, values);
            using var channels = torch.tensor(Channels, [Channels.Length], input.device);
            return Rule.Apply(selected, channels);
        }
    }

    private sealed record SumPlan(UnitPlan[] Terms, int[] Images, long[] Channels) : UnitPlan(Images, Channels)
    {
        public override void CollectWhole(HashSet<string> whole)
        {
            foreach (var t in Terms) t.CollectWhole(whole);
        }

        public override Tensor Evaluate(Tensor input, IReadOnlyDictionary<string, Tensor> values)
        {
            var total = Terms[0].Evaluate(input, values);
            foreach (var term in Terms.Skip(1))
            {
                using var next = term.Evaluate(input, values);
                using var previous = total;
                total = previous + next;
            }
            return total;
        }
    }

    /// <summary>Images split by the concat input holding their channel; reassembled in order.</summary>
    private sealed record ConcatPlan(UnitPlan[] Parts, int[] Images, long[] Channels) : UnitPlan(Images, Channels)
    {
        public override void CollectWhole(HashSet<string> whole)
        {
            foreach (var p in Parts) p.CollectWhole(whole);
        }

        public override Tensor Evaluate(Tensor input, IReadOnlyDictionary<string, Tensor> values)
        {
            using var scope = torch.NewDisposeScope();
            var pieces = Parts.Select(p => p.Evaluate(input, values)).ToList();
            var joined = pieces.Count == 1 ? pieces[0] : torch.cat(pieces, 0);
            // Parts list images part by part; put them back in this plan's order.
            var order = Parts.SelectMany(p => p.Images).ToArray();
            if (order.SequenceEqual(Images)) return scope.MoveToOuter(joined);
            var position = new Dictionary<int, long>();
            for (var i = 0; i < order.Length; i++) position[order[i]] = i;
            using var back = torch.tensor(Images.Select(i => position[i]).ToArray(), [Images.Length], input.device);
            return scope.MoveToOuter(joined.index_select(0, back));
        }
    }

    private UnitPlan Plan(string name, int[] images, long[] channels)
    {
        var node = name == Input ? null : _nodes[_index[name]];
        switch (node?.Units)
        {
            case UnitRule.Compute compute:
                return new ComputePlan(node, compute, images, channels);
            case UnitRule.PerChannel perChannel:
                return new PerChannelPlan(perChannel, Plan(node.Inputs[0], images, channels));
            case UnitRule.Sum:
                return new SumPlan([.. node.Inputs.Select(i => Plan(i, images, channels))], images, channels);
            case UnitRule.Concat when node.Inputs.All(i => ChannelsOf(i) is not null):
            {
                var parts = new List<UnitPlan>();
                var offset = 0L;
                foreach (var i in node.Inputs)
                {
                    var width = ChannelsOf(i)!.Value;
                    var mine = Enumerable.Range(0, images.Length).Where(k => channels[k] >= offset && channels[k] < offset + width).ToArray();
                    if (mine.Length > 0)
                        parts.Add(Plan(i, [.. mine.Select(k => images[k])], [.. mine.Select(k => channels[k] - offset)]));
                    offset += width;
                }
                if (parts.Sum(p => p.Images.Length) != images.Length)
                    throw new ArgumentOutOfRangeException(nameof(channels), $"'{name}' has {offset} channels, not {channels.Max() + 1}");
                return new ConcatPlan([.. parts], images, channels);
            }
            default:
                return new PickPlan(name, images, channels);
        }
    }
}
