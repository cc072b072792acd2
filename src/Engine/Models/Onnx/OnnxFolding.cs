namespace Microscope.Engine.Models.Onnx;

/// <summary>Shape arithmetic and constant ops evaluated at load, in managed code, on
/// <see cref="Folded"/> values (Shape of a graph value reads its batch-1 probe shape and marks
/// dim 0 as the batch). What folds here never becomes a graph node.</summary>
internal static class OnnxFolding
{
    private static readonly HashSet<string> ElementwiseBinary = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Less", "Greater"];
    private static readonly HashSet<string> ElementwiseUnary = ["Floor", "Ceil", "Sqrt", "Neg", "Abs", "Reciprocal", "Relu", "Not", "Round"];

    public static bool TryFold(OnnxNode node, OnnxValue?[] inputs, out Folded[] result)
    {
        result = [];
        if (node.OpType == "Constant") { result = [Constant(node)]; return true; }
        if (node.OpType is "Shape" or "Size")
        {
            var (dims, batchFirst) = inputs[0] switch
            {
                GraphValue g => (g.Shape, g.BatchFirst),
                ConstantValue c => (c.Data.Dims, false),
                _ => throw node.Refuse("its input is missing"),
            };
            if (node.OpType == "Size")
            {
                if (batchFirst) throw node.Refuse("the element count of a batch of images depends on the batch size; the importer folds shapes only where the batch stays a separate dimension");
                result = [new Folded([], [dims.Aggregate(1L, (a, b) => a * b)])];
                return true;
            }
            var rank = dims.Length;
            var start = Axis(node.Int("start", 0), rank, clamp: true);
            var end = Axis(node.Int("end", rank), rank, clamp: true);
            var shape = dims[start..Math.Max(start, end)];
            result = [new Folded([shape.Length], shape, shape.Select((_, i) => batchFirst && start + i == 0).ToArray())];
            return true;
        }
        if (inputs.Any(i => i is GraphValue)) return false;
        if (node.OpType == "ConstantOfShape")
        {
            var dims = C(inputs, 0).AsInts();
            var value = node.Tensor("value") is { } t ? Folded.From(t, $"{node}: value") : new Folded([1], new float[] { 0 });
            var n = dims.Aggregate(1L, (a, b) => a * b);
            result = [value.IsFloat ? new Folded(dims, Enumerable.Repeat(value.Floats![0], (int)n).ToArray()) : new Folded(dims, Enumerable.Repeat(value.Ints![0], (int)n).ToArray())];
            return true;
        }
        if (inputs.Length == 0 || inputs[0] is null) return false;
        var x = C(inputs, 0);
        Folded? r = node.OpType switch
        {
            "Gather" => Gather(x, C(inputs, 1), (int)node.Int("axis", 0)),
            "Unsqueeze" => x.WithDims(OnnxShapes.Unsqueezed(x.Dims, Axes(node, inputs, 1) ?? throw node.Refuse("no axes given"))),
            "Squeeze" => x.WithDims(OnnxShapes.Squeezed(x.Dims, Axes(node, inputs, 1))),
            "Flatten" => x.WithDims(OnnxShapes.Flattened(x.Dims, (int)node.Int("axis", 1))),
            "Reshape" => Reshape(node, x, C(inputs, 1)),
            "Concat" => Concat(node, inputs),
            "Slice" => Slice(node, x, inputs),
            "Transpose" => Transpose(x, node.Ints("perm")),
            "Cast" => Cast(x, node.Int("to", 1)),
            "Range" => Range(x, C(inputs, 1), C(inputs, 2)),
            _ when ElementwiseBinary.Contains(node.OpType) && inputs.Length == 2 && inputs[1] is ConstantValue => Binary(node, x, C(inputs, 1)),
            _ when ElementwiseUnary.Contains(node.OpType) => Unary(node, x),
            _ => null,
        };
        if (r is null) return false;
        result = [r];
        return true;
    }

    private static Folded C(OnnxValue?[] inputs, int i) =>
        i < inputs.Length && inputs[i] is ConstantValue c ? c.Data : throw new InvalidDataException($"input {i} is missing");

    public static int Axis(long axis, int rank, bool clamp = false)
    {
        var a = axis < 0 ? axis + rank : axis;
        return (int)(clamp ? Math.Clamp(a, 0, rank) : a);
    }

    /// <summary>Axes from the attribute (before opset 13) or from input <paramref name="index"/>.</summary>
    public static long[]? Axes(OnnxNode node, OnnxValue?[] inputs, int index) =>
        node.Ints("axes") ?? (index < inputs.Length && inputs[index] is ConstantValue c ? c.Data.AsInts() : null);

    private static Folded Constant(OnnxNode node)
    {
        if (node.Tensor("value") is { } t) return Folded.From(t, $"{node}: value");
        if (node.Has("value_float")) return new Folded([], [node.Float("value_float", 0)]);
        if (node.Floats("value_floats") is { } fs) return new Folded([fs.Length], fs);
        if (node.Has("value_int")) return new Folded([], [node.Int("value_int", 0)]);
        if (node.Ints("value_ints") is { } ints) return new Folded([ints.Length], ints);
        throw node.Refuse("only numeric tensor constants are supported");
    }

    private static long[] Strides(long[] dims)
    {
        var s = new long[dims.Length];
        long acc = 1;
        for (var i = dims.Length - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]; }
        return s;
    }

    /// <summary>Flat input indices for every output element, given per-axis input coordinates.</summary>
    private static long[] Gridded(long[] inputDims, long[][] coordinates)
    {
        var strides = Strides(inputDims);
        IEnumerable<long> flat = [0];
        for (var a = 0; a < coordinates.Length; a++)
        {
            var axis = a;
            flat = flat.SelectMany(f => coordinates[axis].Select(c => f + c * strides[axis]));
        }
        return flat.ToArray();
    }

    private static Folded Gather(Folded data, Folded indices, int axis)
    {
        axis = Axis(axis, data.Dims.Length);
        var idx = indices.AsInts().Select(i => i < 0 ? i + data.Dims[axis] : i).ToArray();
        var outer = data.Dims.Take(axis).Aggregate(1L, (a, b) => a * b);
        var inner = data.Dims.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
        var flat = new List<long>();
        for (long o = 0; o < outer; o++)
            foreach (var i in idx)
                for (long k = 0; k < inner; k++) flat.Add((o * data.Dims[axis] + i) * inner + k);
        return data.Take([.. data.Dims.Take(axis), .. indices.Dims, .. data.Dims.Skip(axis + 1)], [.. flat]);
    }

    private static Folded Reshape(OnnxNode node, Folded x, Folded shape)
    {
        if (shape.HasBatch) throw node.Refuse("reshaping a constant by the batch size is not supported");
        return x.WithDims(OnnxShapes.Reshaped(x.Dims, shape.AsInts(), node.Int("allowzero", 0) != 0));
    }

    private static Folded Concat(OnnxNode node, OnnxValue?[] inputs)
    {
        var parts = inputs.Select((_, i) => C(inputs, i)).Where(p => p.Count > 0 || p.Dims.Length > 0).ToList();
        var rank = parts[0].Dims.Length;
        var axis = Axis(node.Int("axis", 0), rank);
        var dims = (long[])parts[0].Dims.Clone();
        dims[axis] = parts.Sum(p => p.Dims[axis]);
        return Folded.Concat(parts, axis, dims);
    }

    private static Folded Slice(OnnxNode node, Folded x, OnnxValue?[] inputs)
    {
        var (starts, ends, axes, steps) = OnnxShapes.SliceArguments(node, inputs);
        var coordinates = x.Dims.Select(d => Enumerable.Range(0, (int)d).Select(i => (long)i).ToArray()).ToArray();
        for (var k = 0; k < axes.Length; k++)
        {
            var axis = Axis(axes[k], x.Dims.Length);
            coordinates[axis] = OnnxShapes.SliceIndices(x.Dims[axis], starts[k], ends[k], steps[k]);
        }
        return x.Take(coordinates.Select(c => (long)c.Length).ToArray(), Gridded(x.Dims, coordinates));
    }

    private static Folded Transpose(Folded x, long[]? perm)
    {
        perm ??= Enumerable.Range(0, x.Dims.Length).Reverse().Select(i => (long)i).ToArray();
        var dims = perm.Select(p => x.Dims[p]).ToArray();
        var inStrides = Strides(x.Dims);
        var flat = new long[x.Count];
        var outStrides = Strides(dims);
        for (long i = 0; i < flat.Length; i++)
        {
            long rest = i, f = 0;
            for (var a = 0; a < dims.Length; a++)
            {
                var c = rest / outStrides[a];
                rest %= outStrides[a];
                f += c * inStrides[perm[a]];
            }
            flat[i] = f;
        }
        return x.Take(dims, flat);
    }

    private static Folded Cast(Folded x, long to) => to is 1 or 10 or 11 or 16
        ? (x.IsFloat ? x : new Folded(x.Dims, x.Ints!.Select(i => (float)i).ToArray()))
        : (x.IsFloat ? new Folded(x.Dims, x.Floats!.Select(f => to == 9 ? (f != 0 ? 1L : 0L) : (long)f).ToArray()) : x);

    private static Folded Range(Folded start, Folded limit, Folded delta)
    {
        var (s, l, d) = (start.Scalar, limit.Scalar, delta.Scalar);
        var n = Math.Max(0, (long)Math.Ceiling((l - s) / d));
        return start.IsFloat
            ? new Folded([n], Enumerable.Range(0, (int)n).Select(i => (float)(s + i * d)).ToArray())
            : new Folded([n], Enumerable.Range(0, (int)n).Select(i => (long)(s + i * d)).ToArray());
    }

    private static Folded Unary(OnnxNode node, Folded x)
    {
        if (x.HasBatch && node.OpType is not ("Relu" or "Abs")) throw BatchArithmetic(node);
        Func<double, double> f = node.OpType switch
        {
            "Floor" => Math.Floor, "Ceil" => Math.Ceiling, "Sqrt" => Math.Sqrt, "Neg" => v => -v, "Abs" => Math.Abs,
            "Reciprocal" => v => 1 / v, "Relu" => v => Math.Max(0, v), "Not" => v => v == 0 ? 1 : 0, _ => Math.Round,
        };
        return x.IsFloat ? new Folded(x.Dims, x.Floats!.Select(v => (float)f(v)).ToArray())
            : new Folded(x.Dims, x.Ints!.Select(v => (long)f(v)).ToArray(), x.Batch);
    }

    /// <summary>Numpy-broadcast elementwise arithmetic; an element standing for the batch
    /// survives only adding 0 or multiplying / dividing by 1.</summary>
    private static Folded Binary(OnnxNode node, Folded a, Folded b)
    {
        var rank = Math.Max(a.Dims.Length, b.Dims.Length);
        long[] Padded(long[] d) => [.. Enumerable.Repeat(1L, rank - d.Length), .. d];
        var (da, db) = (Padded(a.Dims), Padded(b.Dims));
        var dims = da.Zip(db, (x, y) => x == 1 ? y : y == 1 ? x : x == y ? x : throw node.Refuse($"shapes [{string.Join(", ", a.Dims)}] and [{string.Join(", ", b.Dims)}] do not broadcast")).ToArray();
        long[] Index(long[] d)
        {
            var coordinates = dims.Select((n, axis) => Enumerable.Range(0, (int)n).Select(i => d[axis] == 1 ? 0L : i).ToArray()).ToArray();
            return Gridded(d, coordinates);
        }
        var (ia, ib) = (Index(da), Index(db));
        var (va, vb) = (a.AsDoubles(), b.AsDoubles());
        var op = node.OpType;
        var values = new double[ia.Length];
        var batch = new bool[ia.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var (x, y) = (va[ia[i]], vb[ib[i]]);
            values[i] = op switch
            {
                "Add" => x + y, "Sub" => x - y, "Mul" => x * y,
                "Div" => a.IsFloat || b.IsFloat ? x / y : Math.Floor(x / y) == x / y ? x / y : Math.Truncate(x / y),
                "Pow" => Math.Pow(x, y), "Max" => Math.Max(x, y), "Min" => Math.Min(x, y),
                "Equal" => x == y ? 1 : 0, "Less" => x < y ? 1 : 0, _ => x > y ? 1 : 0,
            };
            var (ba, bb) = (a.IsBatch(ia[i]), b.IsBatch(ib[i]));
            if (!ba && !bb) continue;
            var neutral = op switch { "Add" => ba ? y == 0 : x == 0, "Sub" => ba && y == 0, "Mul" => ba ? y == 1 : x == 1, "Div" => ba && y == 1, _ => false };
            if (!neutral || (ba && bb)) throw BatchArithmetic(node);
            batch[i] = true;
        }
        return a.IsFloat || b.IsFloat
            ? new Folded(dims, values.Select(v => (float)v).ToArray())
            : new Folded(dims, values.Select(v => (long)v).ToArray(), batch);
    }

    private static InvalidDataException BatchArithmetic(OnnxNode node) =>
        node.Refuse("arithmetic on the batch size is not supported (export with a fixed batch dimension, or let the batch stay dim 0 with Reshape [-1, ...])");
}
