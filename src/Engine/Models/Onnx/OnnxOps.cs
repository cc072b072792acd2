using Microscope.Engine.Circuits;
using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Models.Onnx;

/// <summary>How each supported ONNX operator runs on the libtorch binding (one case per
/// operator; the ONNX operator specs define the attributes and defaults used here). Anything
/// not listed is refused at load with its op type and node name.</summary>
internal static class OnnxOps
{
    public static readonly IReadOnlyList<string> Supported =
    [
        "Conv", "ConvTranspose", "BatchNormalization", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish", "Elu",
        "Softmax", "LogSoftmax", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Add", "Sub", "Mul", "Div", "Pow",
        "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Max", "Min", "Sum", "Concat", "Split", "Flatten", "Reshape", "Transpose",
        "Squeeze", "Unsqueeze", "Gemm", "MatMul", "LRN", "Dropout", "Identity", "Pad", "Resize", "Upsample", "Constant", "Slice",
        "Gather", "Cast", "ReduceMean", "ReduceSum", "ReduceMax",
        // folded at load only (shape arithmetic)
        "Shape", "Size", "ConstantOfShape", "Range", "Floor", "Ceil", "Equal", "Less", "Greater", "Not", "Round",
    ];

    /// <summary>One plan per node output (null for outputs nobody computes, such as Dropout's mask).</summary>
    public static OpPlan?[] Plan(OnnxNode node, OnnxValue?[] inputs)
    {
        var op = node.OpType;
        if (op == "Split") return Split(node, inputs);
        OpPlan Unary(Func<Tensor, Tensor> f) => new(xs => f(xs[0]), [0]);
        OpPlan Binary(Func<Tensor, Tensor, Tensor> f) => new(xs => f(xs[0], xs[1]), [0, 1]);
        OpPlan plan = op switch
        {
            "Conv" => Conv(node, inputs),
            "ConvTranspose" => ConvTranspose(node, inputs),
            "BatchNormalization" => new(xs => F.batch_norm(xs[0], xs[3], xs[4], xs[1], xs[2], eps: node.Float("epsilon", 1e-5f)), [0, 1, 2, 3, 4]),
            "Relu" => Unary(LinearPath.Relu),
            "LeakyRelu" => Unary(x => LinearPath.LeakyRelu(x, node.Float("alpha", 0.01f))),
            "PRelu" => PRelu(node, inputs),
            "Sigmoid" => Unary(x => x.sigmoid()),
            "Tanh" => Unary(x => x.tanh()),
            "Elu" => Unary(x => x.elu(node.Float("alpha", 1f))),
            "HardSigmoid" => HardSigmoid(node.Float("alpha", 0.2f), node.Float("beta", 0.5f)),
            "HardSwish" => Unary(x => x.hardswish()),
            "Clip" => Clip(node, inputs),
            "Softmax" or "LogSoftmax" => Softmax(node, inputs),
            "MaxPool" or "AveragePool" => Pool(node, inputs),
            "GlobalAveragePool" => new(xs => xs[0].mean(Spatial(xs[0]), keepdim: true), [0], Geometry.Global),
            "GlobalMaxPool" => new(xs => LinearPath.Active ? xs[0].mean(Spatial(xs[0]), keepdim: true) : xs[0].amax(Spatial(xs[0]), keepdim: true), [0], Geometry.Global),
            "Add" => Binary((a, b) => a + b),
            "Sub" => Binary((a, b) => a - b),
            "Mul" => Binary((a, b) => a * b),
            "Div" => Binary((a, b) => a / b),
            "Pow" => Pow(node, inputs),
            "Sqrt" => Unary(x => x.sqrt()),
            "Exp" => Unary(x => x.exp()),
            "Log" => Unary(x => x.log()),
            "Neg" => Unary(x => x.neg()),
            "Abs" => Unary(x => x.abs()),
            "Reciprocal" => Unary(x => x.pow(-1)),
            "Max" or "Min" or "Sum" => Variadic(node, inputs),
            "Concat" => Concat(node, inputs),
            "Flatten" => Flatten(node),
            "Reshape" => Reshape(node, inputs),
            "Transpose" => Transpose(node, inputs),
            "Squeeze" => Squeeze(node, inputs),
            "Unsqueeze" => Unsqueeze(node, inputs),
            "Gemm" => Gemm(node, inputs),
            "MatMul" => new(xs => xs[0].matmul(xs[1]), [0, 1], Rank(inputs[0]) == 2 ? Geometry.Global : null),
            "LRN" => Unary(x => LinearPath.LocalResponseNorm(x, node.Int("size", 1), node.Float("alpha", 1e-4f), node.Float("beta", 0.75f), node.Float("bias", 1f))),
            "Pad" => Pad(node, inputs),
            "Resize" or "Upsample" => Resize(node, inputs),
            "Slice" => Slice(node, inputs),
            "Gather" => Gather(node, inputs),
            "Cast" => Cast(node),
            "ReduceMean" or "ReduceSum" or "ReduceMax" => Reduce(node, inputs),
            _ => throw node.Refuse(Supported.Contains(op)
                ? "its inputs must be constants here (it is only folded at load)"
                : $"the operator is not supported; supported: {string.Join(", ", Supported)}"),
        };
        return [plan];
    }

    private static int Rank(OnnxValue? v) => v switch { GraphValue g => g.Shape.Length, ConstantValue c => c.Data.Dims.Length, _ => 0 };
    private static long[] ShapeOf(OnnxValue? v) => v switch { GraphValue g => g.Shape, ConstantValue c => c.Data.Dims, _ => [] };
    private static long[] Spatial(Tensor x) => Enumerable.Range(2, x.dim() - 2).Select(i => (long)i).ToArray();

    private static Folded Constant(OnnxNode node, OnnxValue?[] inputs, int i, string what) => i < inputs.Length && inputs[i] is ConstantValue c ? c.Data
        : throw node.Refuse($"{what} (input {i}) must be a constant, not computed from the image");

    private static Folded? OptionalConstant(OnnxNode node, OnnxValue?[] inputs, int i, string what) =>
        i < inputs.Length && inputs[i] is not null ? Constant(node, inputs, i, what) : null;

    private static void Require2D(OnnxNode node, OnnxValue? x)
    {
        if (Rank(x) != 4) throw node.Refuse($"only 2-D images (N, C, H, W) are supported, got rank {Rank(x)}");
    }

    /// <summary>Begin/end padding per spatial axis from pads or auto_pad (SAME_UPPER puts the
    /// extra pixel at the end, SAME_LOWER at the start).</summary>
    private static (long[] Begin, long[] End) Padding(OnnxNode node, long[] input, long[] kernel, long[] stride, long[] dilation)
    {
        var n = kernel.Length;
        var autoPad = node.String("auto_pad", "NOTSET");
        if (autoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            var begin = new long[n];
            var end = new long[n];
            for (var i = 0; i < n; i++)
            {
                var size = input[2 + i];
                var output = (size + stride[i] - 1) / stride[i];
                var total = Math.Max(0, (output - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - size);
                (begin[i], end[i]) = autoPad == "SAME_UPPER" ? (total / 2, total - total / 2) : (total - total / 2, total / 2);
            }
            return (begin, end);
        }
        if (autoPad == "VALID") return (new long[n], new long[n]);
        var pads = node.Ints("pads") ?? new long[2 * n];
        return (pads[..n], pads[n..]);
    }

    private static OpPlan Conv(OnnxNode node, OnnxValue?[] inputs)
    {
        Require2D(node, inputs[0]);
        var w = ShapeOf(inputs[1]);
        var kernel = node.Ints("kernel_shape") ?? w[2..];
        var stride = node.Ints("strides") ?? [1, 1];
        var dilation = node.Ints("dilations") ?? [1, 1];
        var groups = node.Int("group", 1);
        var (begin, end) = Padding(node, ShapeOf(inputs[0]), kernel, stride, dilation);
        var hasBias = inputs.Length > 2 && inputs[2] is not null;
        // The receptive field sees the dilated kernel; output 0 sits after the leading padding.
        var geometry = new Geometry((int)((kernel[0] - 1) * dilation[0] + 1), (int)stride[0], (int)begin[0],
            KernelW: (int)((kernel[1] - 1) * dilation[1] + 1), StrideW: (int)stride[1], PaddingW: (int)begin[1]);
        return new(xs =>
        {
            var b = hasBias ? xs[2] : null;
            // Asymmetric padding (CNTK's 3/3/2/2, TensorFlow's SAME) is the convolution's too.
            return F.conv2d(xs[0], xs[1], b, (stride[0], stride[1]), (begin[0], begin[1]), (dilation[0], dilation[1]), groups,
                paddingAfter: (end[0], end[1]));
        }, hasBias ? [0, 1, 2] : [0, 1], geometry);
    }

    /// <summary>ONNX ConvTranspose (a GAN generator's upsampling): libtorch's
    /// conv_transpose2d where its symmetric padding and small output_padding express it; else
    /// the unpadded result is cropped by the begin/end pads and extended by output_padding
    /// (those positions get only the bias). Receptive fields treat it as global (conservative:
    /// a transposed convolution's field is not a kernel, stride and padding).</summary>
    private static OpPlan ConvTranspose(OnnxNode node, OnnxValue?[] inputs)
    {
        Require2D(node, inputs[0]);
        var x = ShapeOf(inputs[0]);
        var w = ShapeOf(inputs[1]);
        var kernel = node.Ints("kernel_shape") ?? w[2..];
        var stride = node.Ints("strides") ?? [1, 1];
        var dilation = node.Ints("dilations") ?? [1, 1];
        var extra = node.Ints("output_padding") ?? [0, 0];
        var groups = node.Int("group", 1);
        if (new[] { kernel, stride, dilation, extra }.Any(a => a.Length != 2)) throw node.Refuse("only 2-D transposed convolutions are supported");
        var (begin, end) = TransposedPadding(node, x, kernel, stride, dilation, extra);
        var hasBias = inputs.Length > 2 && inputs[2] is not null;
        // libtorch takes output_padding below the stride or the dilation only.
        var native = begin.SequenceEqual(end) && Enumerable.Range(0, 2).All(i => extra[i] < Math.Max(stride[i], dilation[i]));
        return new(xs =>
        {
            var b = hasBias ? xs[2] : null;
            if (native)
                return F.conv_transpose2d(xs[0], xs[1], b, (stride[0], stride[1]), (begin[0], begin[1]), (extra[0], extra[1]), groups, (dilation[0], dilation[1]));
            using var full = F.conv_transpose2d(xs[0], xs[1], null, (stride[0], stride[1]), (0, 0), (0, 0), groups, (dilation[0], dilation[1]));
            // Negative pads crop: output i is full[i + begin], zero past full's end.
            var cropped = F.pad(full, [-begin[1], extra[1] - end[1], -begin[0], extra[0] - end[0]]);
            if (b is null) return cropped;
            using (cropped)
            using (var column = b.reshape(1, -1, 1, 1))
                return cropped + column;
        }, hasBias ? [0, 1, 2] : [0, 1], Geometry.Global);
    }

    /// <summary>Begin/end padding of a transposed convolution: its pads, or from output_shape
    /// or auto_pad SAME_* (output = input x stride) the total padding split as the ONNX spec
    /// says (SAME_UPPER puts the odd pixel at the end).</summary>
    private static (long[] Begin, long[] End) TransposedPadding(OnnxNode node, long[] input, long[] kernel, long[] stride, long[] dilation, long[] extra)
    {
        var autoPad = node.String("auto_pad", "NOTSET");
        var outputShape = node.Ints("output_shape");
        if (outputShape is null && autoPad is not ("SAME_UPPER" or "SAME_LOWER"))
        {
            if (autoPad == "VALID") return ([0, 0], [0, 0]);
            var pads = node.Ints("pads") ?? new long[4];
            return (pads[..2], pads[2..]);
        }
        if (outputShape is not null && outputShape.Length is not (2 or 4)) throw node.Refuse($"output_shape [{string.Join(", ", outputShape)}] is not [H, W] or [N, C, H, W]");
        var (begin, end) = (new long[2], new long[2]);
        for (var i = 0; i < 2; i++)
        {
            var wanted = outputShape is null ? input[2 + i] * stride[i] : outputShape[outputShape.Length - 2 + i];
            var total = stride[i] * (input[2 + i] - 1) + extra[i] + (kernel[i] - 1) * dilation[i] + 1 - wanted;
            if (total < 0) throw node.Refuse($"output_shape {wanted} along axis {i} is larger than the transposed convolution makes");
            (begin[i], end[i]) = autoPad == "SAME_UPPER" ? (total / 2, total - total / 2) : (total - total / 2, total / 2);
        }
        return (begin, end);
    }

    private static OpPlan PRelu(OnnxNode node, OnnxValue?[] inputs)
    {
        var x = ShapeOf(inputs[0]);
        var slopes = ShapeOf(inputs[1]).Aggregate(1L, (a, b) => a * b);
        if (slopes != 1 && (x.Length < 2 || slopes != x[1])) throw node.Refuse("only one slope, or one per channel, is supported");
        return new(xs =>
        {
            using var slope = xs[1].reshape(-1);
            return LinearPath.PRelu(xs[0], slope);
        }, [0, 1]);
    }

    private static OpPlan HardSigmoid(float alpha, float beta) => new(xs =>
    {
        using var scaled = xs[0] * alpha;
        using var shifted = scaled + beta;
        return shifted.clamp(0, 1);
    }, [0]);

    private static OpPlan Clip(OnnxNode node, OnnxValue?[] inputs)
    {
        // Before opset 11 the bounds are attributes; after, optional constant inputs.
        var min = node.Has("min") ? node.Float("min", float.MinValue) : OptionalConstant(node, inputs, 1, "the minimum")?.Scalar ?? double.NegativeInfinity;
        var max = node.Has("max") ? node.Float("max", float.MaxValue) : OptionalConstant(node, inputs, 2, "the maximum")?.Scalar ?? double.PositiveInfinity;
        return new(xs => LinearPath.Clamp(xs[0], min, max), [0]);
    }

    private static OpPlan Softmax(OnnxNode node, OnnxValue?[] inputs)
    {
        var rank = Rank(inputs[0]);
        var log = node.OpType == "LogSoftmax";
        var axis = OnnxFolding.Axis(node.Int("axis", node.Opset >= 13 ? -1 : 1), rank);
        Tensor Along(Tensor x, long dim) => log ? F.log_softmax(x, dim) : F.softmax(x, dim);
        // Before opset 13 the input is seen as 2-D (axis splits it): normalise over every
        // dim from axis on.
        if (node.Opset >= 13 || axis == rank - 1) return new(xs => Along(xs[0], axis), [0]);
        return new(xs =>
        {
            var shape = xs[0].shape;
            using var flat = xs[0].flatten(axis);
            using var y = Along(flat, axis);
            return y.reshape(shape);
        }, [0]);
    }

    private static OpPlan Pool(OnnxNode node, OnnxValue?[] inputs)
    {
        Require2D(node, inputs[0]);
        var kernel = node.Ints("kernel_shape") ?? throw node.Refuse("no kernel_shape");
        var stride = node.Ints("strides") ?? [1, 1];
        var dilation = node.Ints("dilations") ?? [1, 1];
        if (dilation.Any(d => d != 1)) throw node.Refuse("dilated pooling is not supported");
        var (begin, end) = Padding(node, ShapeOf(inputs[0]), kernel, stride, dilation);
        var ceil = node.Int("ceil_mode", 0) != 0;
        var max = node.OpType == "MaxPool";
        var includePad = node.Int("count_include_pad", 0) != 0;
        var k = (kernel[0], kernel[1]);
        var s = (stride[0], stride[1]);
        var geometry = new Geometry((int)kernel[0], (int)stride[0], (int)begin[0], KernelW: (int)kernel[1], StrideW: (int)stride[1], PaddingW: (int)begin[1]);
        // libtorch pads symmetrically and at most half a kernel; anything else pads explicitly.
        var native = begin.SequenceEqual(end) && begin[0] <= kernel[0] / 2 && begin[1] <= kernel[1] / 2;
        if (max)
            return new(xs =>
            {
                if (native) return LinearPath.MaxPool2d(xs[0], k, s, (begin[0], begin[1]), ceil);
                // Linearised, the pool averages: its padding is zero, not -inf.
                using var padded = F.pad(xs[0], [begin[1], end[1], begin[0], end[0]], LinearPath.Active ? 0 : double.NegativeInfinity);
                return LinearPath.MaxPool2d(padded, k, s, (0, 0), ceil);
            }, [0], geometry);
        return new(xs =>
        {
            if (native) return F.avg_pool2d(xs[0], k, s, (begin[0], begin[1]), ceil, includePad);
            using var padded = F.pad(xs[0], [begin[1], end[1], begin[0], end[0]]);
            var sum = F.avg_pool2d(padded, k, s, (0, 0), ceil, true);
            if (includePad) return sum;
            // Exclude the padding: divide by the share of each window that is image.
            using var ones = torch.ones([1, 1, xs[0].size(2), xs[0].size(3)], device: xs[0].device);
            using var mask = F.pad(ones, [begin[1], end[1], begin[0], end[0]]);
            using var share = F.avg_pool2d(mask, k, s, (0, 0), ceil, true);
            using (sum) return sum / share;
        }, [0], geometry);
    }

    private static OpPlan Pow(OnnxNode node, OnnxValue?[] inputs)
    {
        if (inputs[1] is ConstantValue c && c.Data.Count == 1)
        {
            var e = c.Data.Scalar;
            return new(xs => xs[0].pow(e), [0]);
        }
        throw node.Refuse("only a constant scalar exponent is supported");
    }

    private static OpPlan Variadic(OnnxNode node, OnnxValue?[] inputs)
    {
        var indices = Enumerable.Range(0, inputs.Length).Where(i => inputs[i] is not null).ToArray();
        return new(xs =>
        {
            var acc = xs[0].clone();
            for (var i = 1; i < xs.Length; i++)
            {
                var next = node.OpType switch { "Max" => acc.maximum(xs[i]), "Min" => acc.minimum(xs[i]), _ => acc + xs[i] };
                acc.Dispose();
                acc = next;
            }
            return acc;
        }, indices);
    }

    private static OpPlan Concat(OnnxNode node, OnnxValue?[] inputs)
    {
        var axis = OnnxFolding.Axis(node.Int("axis", 1), Rank(inputs[0]));
        var indices = Enumerable.Range(0, inputs.Length).Where(i => inputs[i] is not null).ToArray();
        return new(xs => torch.cat(xs, axis), indices, BatchFirst: axis != 0);
    }

    private static OpPlan?[] Split(OnnxNode node, OnnxValue?[] inputs)
    {
        var shape = ShapeOf(inputs[0]);
        var axis = OnnxFolding.Axis(node.Int("axis", 0), shape.Length);
        var n = node.Outputs.Count;
        var sizes = node.Ints("split") ?? OptionalConstant(node, inputs, 1, "the split sizes")?.AsInts()
            ?? Enumerable.Range(0, n).Select(i => (shape[axis] + n - 1) / n).Select((s, i) => Math.Min(s, shape[axis] - i * s)).ToArray();
        var plans = new OpPlan?[n];
        long start = 0;
        for (var o = 0; o < n; o++)
        {
            var (from, length) = (start, sizes[o]);
            plans[o] = new(xs =>
            {
                using var part = xs[0].narrow(axis, from, length);
                return part.contiguous();
            }, [0], BatchFirst: axis != 0);
            start += length;
        }
        return plans;
    }

    private static OpPlan Flatten(OnnxNode node)
    {
        var axis = node.Int("axis", 1);
        return new(xs =>
        {
            var a = OnnxFolding.Axis(axis, xs[0].dim());
            return a == 0 ? xs[0].reshape(1, -1) : xs[0].reshape(OnnxShapes.Flattened(xs[0].shape, a));
        }, [0], BatchFirst: axis != 0);
    }

    /// <summary>Reshape to a folded shape; an element standing for the batch takes the input's
    /// batch at run time, so a model traced at batch 1 runs any batch.</summary>
    private static OpPlan Reshape(OnnxNode node, OnnxValue?[] inputs)
    {
        var target = Constant(node, inputs, 1, "the shape");
        var shape = target.AsInts();
        var allowZero = node.Int("allowzero", 0) != 0;
        var input = ShapeOf(inputs[0]);
        var batchFirst = shape.Length > 0 && (target.IsBatch(0) || (shape[0] == 0 && !allowZero)
            || (shape[0] == -1 && shape.Skip(1).Aggregate(1L, (a, b) => a * b) == input.Skip(1).Aggregate(1L, (a, b) => a * b)));
        return new(xs =>
        {
            var dims = xs[0].shape;
            var actual = shape.Select((s, i) => target.IsBatch(i) ? dims[0] : s).ToArray();
            return xs[0].reshape(OnnxShapes.Reshaped(dims, actual, allowZero));
        }, [0], BatchFirst: batchFirst);
    }

    private static OpPlan Transpose(OnnxNode node, OnnxValue?[] inputs)
    {
        var perm = node.Ints("perm") ?? Enumerable.Range(0, Rank(inputs[0])).Reverse().Select(i => (long)i).ToArray();
        return new(xs => xs[0].permute(perm), [0], BatchFirst: perm.Length > 0 && perm[0] == 0);
    }

    private static OpPlan Squeeze(OnnxNode node, OnnxValue?[] inputs)
    {
        var axes = OnnxFolding.Axes(node, inputs, 1);
        var rank = Rank(inputs[0]);
        // Without axes every size-1 dim goes, but never the batch (it is 1 only at load).
        axes ??= ShapeOf(inputs[0]).Select((d, i) => (d, i)).Where(t => t.d == 1 && t.i > 0).Select(t => (long)t.i).ToArray();
        var normalized = axes.Select(a => (long)OnnxFolding.Axis(a, rank)).ToArray();
        return new(xs => xs[0].reshape(OnnxShapes.Squeezed(xs[0].shape, normalized)), [0], BatchFirst: !normalized.Contains(0));
    }

    private static OpPlan Unsqueeze(OnnxNode node, OnnxValue?[] inputs)
    {
        var axes = OnnxFolding.Axes(node, inputs, 1) ?? throw node.Refuse("no axes given");
        var rank = Rank(inputs[0]) + axes.Length;
        var normalized = axes.Select(a => (long)OnnxFolding.Axis(a, rank)).ToArray();
        return new(xs => xs[0].reshape(OnnxShapes.Unsqueezed(xs[0].shape, normalized)), [0], BatchFirst: !normalized.Contains(0));
    }

    private static OpPlan Gemm(OnnxNode node, OnnxValue?[] inputs)
    {
        var alpha = node.Float("alpha", 1f);
        var beta = node.Float("beta", 1f);
        var transA = node.Int("transA", 0) != 0;
        var transB = node.Int("transB", 0) != 0;
        var hasC = inputs.Length > 2 && inputs[2] is not null;
        return new(xs =>
        {
            using var scope = torch.NewDisposeScope();
            var a = transA ? xs[0].transpose(0, 1) : xs[0];
            // PyTorch's Linear exports as Gemm with transB: y = x W^T + b.
            var y = transB ? F.linear(a, xs[1]) : a.matmul(xs[1]);
            if (alpha != 1f) y *= alpha;
            if (hasC) y += beta == 1f ? xs[2] : xs[2] * beta;
            return scope.MoveToOuter(y);
        }, hasC ? [0, 1, 2] : [0, 1], Geometry.Global);
    }

    private static OpPlan Pad(OnnxNode node, OnnxValue?[] inputs)
    {
        var mode = node.String("mode", "constant");
        if (mode != "constant") throw node.Refuse($"pad mode '{mode}' is not supported (constant only)");
        var rank = Rank(inputs[0]);
        var pads = node.Ints("pads") ?? node.Ints("paddings") ?? Constant(node, inputs, 1, "the pads").AsInts();
        var value = node.Has("value") ? node.Float("value", 0) : OptionalConstant(node, inputs, 2, "the pad value")?.Scalar ?? 0;
        var axes = OptionalConstant(node, inputs, 3, "the axes")?.AsInts().Select(a => OnnxFolding.Axis(a, rank)).ToArray()
            ?? Enumerable.Range(0, rank).ToArray();
        var begin = new long[rank];
        var end = new long[rank];
        for (var i = 0; i < axes.Length; i++) { begin[axes[i]] = pads[i]; end[axes[i]] = pads[axes.Length + i]; }
        if (begin[0] != 0 || end[0] != 0) throw node.Refuse("padding the batch dimension is not supported");
        // libtorch lists (begin, end) pairs from the last dim backwards.
        var torchPads = Enumerable.Range(1, rank - 1).Reverse().SelectMany(d => new[] { begin[d], end[d] }).ToArray();
        var geometry = rank == 4 ? new Geometry(1, 1, (int)begin[2], PaddingW: (int)begin[3]) : null;
        return new(xs => F.pad(xs[0], torchPads, value), [0], geometry);
    }

    private static OpPlan Resize(OnnxNode node, OnnxValue?[] inputs)
    {
        Require2D(node, inputs[0]);
        var shape = ShapeOf(inputs[0]);
        var mode = node.String("mode", "nearest");
        // Upsample (opset 7-9) and Resize (10+) give scales as an attribute or an input; Resize 11+ may give sizes.
        float[]? scales = node.Floats("scales");
        if (scales is null && node.OpType == "Upsample") scales = Constant(node, inputs, 1, "the scales").Floats;
        if (scales is null && node.OpType == "Resize")
        {
            var s = node.Opset < 11 ? OptionalConstant(node, inputs, 1, "the scales") : OptionalConstant(node, inputs, 2, "the scales");
            if (s is not null && s.Count > 0) scales = s.Floats ?? s.AsDoubles().Select(d => (float)d).ToArray();
        }
        long h, w;
        if (scales is not null)
        {
            if (scales.Length != 4 || scales[0] != 1 || scales[1] != 1) throw node.Refuse("only spatial scales are supported");
            (h, w) = ((long)Math.Floor(shape[2] * scales[2]), (long)Math.Floor(shape[3] * scales[3]));
        }
        else
        {
            var sizes = Constant(node, inputs, 3, "the sizes").AsInts();
            (h, w) = (sizes[^2], sizes[^1]);
        }
        var transform = node.String("coordinate_transformation_mode", node.OpType == "Upsample" || node.Opset < 11 ? "asymmetric" : "half_pixel");
        if (mode == "nearest")
        {
            // libtorch's nearest picks floor(out * in / out_size): ONNX's asymmetric + floor, and
            // the same pixels as half_pixel + round_prefer_floor at whole-number scales.
            var nearest = node.String("nearest_mode", "round_prefer_floor");
            var whole = h % shape[2] == 0 && w % shape[3] == 0;
            if (!(transform == "asymmetric" && (nearest == "floor" || node.Opset < 11 || whole)) && !(whole && transform is "half_pixel" or "pytorch_half_pixel" && nearest == "round_prefer_floor"))
                throw node.Refuse($"nearest resize with coordinate_transformation_mode '{transform}' and nearest_mode '{nearest}' is not supported at this scale");
            return new(xs => F.interpolate_nearest(xs[0], (h, w)), [0]);
        }
        if (mode is "linear" or "bilinear")
        {
            var alignCorners = transform == "align_corners";
            if (!alignCorners && transform is not ("half_pixel" or "pytorch_half_pixel"))
                throw node.Refuse($"linear resize with coordinate_transformation_mode '{transform}' is not supported (half_pixel, pytorch_half_pixel, align_corners)");
            return new(xs => F.interpolate(xs[0], (h, w), alignCorners), [0]);
        }
        throw node.Refuse($"resize mode '{mode}' is not supported (nearest, linear)");
    }

    private static OpPlan Slice(OnnxNode node, OnnxValue?[] inputs)
    {
        var (starts, ends, axes, steps) = OnnxShapes.SliceArguments(node, inputs);
        var rank = Rank(inputs[0]);
        if (steps.Any(s => s <= 0)) throw node.Refuse("only positive slice steps are supported on image data");
        var normalized = axes.Select(a => OnnxFolding.Axis(a, rank)).ToArray();
        return new(xs =>
        {
            var y = xs[0];
            for (var k = 0; k < normalized.Length; k++)
            {
                var dim = y.size(normalized[k]);
                var idx = OnnxShapes.SliceIndices(dim, starts[k], ends[k], steps[k]);
                var start = idx.Length > 0 ? idx[0] : 0;
                var next = y.slice(normalized[k], start, idx.Length > 0 ? idx[^1] + 1 : 0, steps[k]);
                if (!ReferenceEquals(y, xs[0])) y.Dispose();
                y = next;
            }
            return ReferenceEquals(y, xs[0]) ? y.clone() : y;
        }, [0], BatchFirst: !normalized.Contains(0));
    }

    private static OpPlan Gather(OnnxNode node, OnnxValue?[] inputs)
    {
        var indices = Constant(node, inputs, 1, "the indices");
        var rank = Rank(inputs[0]);
        var axis = OnnxFolding.Axis(node.Int("axis", 0), rank);
        var size = ShapeOf(inputs[0])[axis];
        var values = indices.AsInts().Select(i => i < 0 ? i + size : i).ToArray();
        if (indices.Dims.Length > 1) throw node.Refuse("only scalar or 1-D indices are supported on image data");
        var scalar = indices.Dims.Length == 0;
        return new(xs =>
        {
            if (scalar) return xs[0].select(axis, values[0]);
            using var index = torch.tensor(values, [values.Length], xs[0].device);
            return xs[0].index_select(axis, index);
        }, [0], BatchFirst: axis != 0);
    }

    private static OpPlan Cast(OnnxNode node)
    {
        var to = node.Int("to", 1);
        if (to is not (1 or 10 or 11)) throw node.Refuse($"casting image data to type {to} is not supported (float only)");
        return new(xs => xs[0].to(ScalarType.Float32), [0]);
    }

    private static OpPlan Reduce(OnnxNode node, OnnxValue?[] inputs)
    {
        var rank = Rank(inputs[0]);
        var keep = node.Int("keepdims", 1) != 0;
        var axes = (OnnxFolding.Axes(node, inputs, 1) ?? Enumerable.Range(0, rank).Select(i => (long)i).ToArray())
            .Select(a => (long)OnnxFolding.Axis(a, rank)).ToArray();
        var global = axes.Contains(2) && axes.Contains(3) && rank == 4 ? Geometry.Global : null;
        return new(xs => node.OpType switch
        {
            "ReduceMean" => xs[0].mean(axes, keep),
            "ReduceSum" => xs[0].sum(axes, keep),
            _ => xs[0].amax(axes, keep),
        }, [0], global, BatchFirst: !axes.Contains(0));
    }
}
