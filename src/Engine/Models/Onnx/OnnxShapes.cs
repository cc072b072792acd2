namespace Microscope.Engine.Models.Onnx;

/// <summary>ONNX's shape rules (Reshape's 0 and -1, Squeeze/Unsqueeze axes, Flatten, Slice's
/// clamping), shared by folding at load and by graph nodes at run time.</summary>
internal static class OnnxShapes
{
    public static long[] Unsqueezed(long[] dims, long[] axes)
    {
        var rank = dims.Length + axes.Length;
        var at = axes.Select(a => (long)OnnxFolding.Axis(a, rank)).ToHashSet();
        var result = new long[rank];
        for (int i = 0, j = 0; i < rank; i++) result[i] = at.Contains(i) ? 1 : dims[j++];
        return result;
    }

    public static long[] Squeezed(long[] dims, long[]? axes)
    {
        var at = axes?.Select(a => (long)OnnxFolding.Axis(a, dims.Length)).ToHashSet();
        return dims.Where((d, i) => at is null ? d != 1 : !at.Contains(i)).ToArray();
    }

    public static long[] Flattened(long[] dims, int axis)
    {
        axis = OnnxFolding.Axis(axis, dims.Length);
        return [dims.Take(axis).Aggregate(1L, (a, b) => a * b), dims.Skip(axis).Aggregate(1L, (a, b) => a * b)];
    }

    /// <summary>Reshape's target: 0 copies the input's dim (unless allowzero), one -1 is inferred.</summary>
    public static long[] Reshaped(long[] dims, long[] shape, bool allowZero)
    {
        var result = shape.Select((s, i) => s == 0 && !allowZero ? dims[i] : s).ToArray();
        var known = result.Where(s => s != -1).Aggregate(1L, (a, b) => a * b);
        var total = dims.Aggregate(1L, (a, b) => a * b);
        for (var i = 0; i < result.Length; i++)
            if (result[i] == -1) result[i] = known == 0 ? 0 : total / known;
        if (result.Aggregate(1L, (a, b) => a * b) != total)
            throw new InvalidDataException($"cannot reshape [{string.Join(", ", dims)}] to [{string.Join(", ", shape)}]");
        return result;
    }

    /// <summary>Slice's starts, ends, axes and steps: attributes before opset 10, inputs after.</summary>
    public static (long[] Starts, long[] Ends, long[] Axes, long[] Steps) SliceArguments(OnnxNode node, OnnxValue?[] inputs)
    {
        long[]? Input(int i) => i < inputs.Length && inputs[i] is ConstantValue c ? c.Data.AsInts()
            : i < inputs.Length && inputs[i] is GraphValue ? throw node.Refuse($"input {i} is computed from the image; slice bounds must be constants")
            : null;
        var starts = node.Ints("starts") ?? Input(1) ?? throw node.Refuse("no starts");
        var ends = node.Ints("ends") ?? Input(2) ?? throw node.Refuse("no ends");
        var axes = node.Ints("axes") ?? Input(3) ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        var steps = Input(4) ?? Enumerable.Repeat(1L, starts.Length).ToArray();
        return (starts, ends, axes, steps);
    }

    /// <summary>The indices Slice takes along one axis of size <paramref name="dim"/>.</summary>
    public static long[] SliceIndices(long dim, long start, long end, long step)
    {
        if (step == 0) throw new InvalidDataException("Slice with step 0");
        start = start < 0 ? start + dim : start;
        end = end < 0 ? end + dim : end;
        var result = new List<long>();
        if (step > 0)
        {
            start = Math.Clamp(start, 0, dim);
            end = Math.Clamp(end, 0, dim);
            for (var i = start; i < end; i += step) result.Add(i);
        }
        else
        {
            start = Math.Clamp(start, 0, dim - 1);
            end = Math.Clamp(end, -1, dim - 1);
            for (var i = start; i > end; i += step) result.Add(i);
        }
        return [.. result];
    }
}
