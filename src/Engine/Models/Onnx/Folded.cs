using Google.Protobuf;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Models.Onnx;

/// <summary>A value known at load time: an initializer, a Constant, or shape arithmetic folded
/// at the declared input size. Float types are held as float32, integer and bool types as
/// int64. An int64 element can stand for the batch size (<see cref="Batch"/>), so a folded
/// <c>Reshape(x, [batch, -1])</c> keeps the batch dynamic.</summary>
internal sealed class Folded
{
    public long[] Dims { get; }
    public float[]? Floats { get; }
    public long[]? Ints { get; }
    /// <summary>Per int element: it is the (dynamic) batch size, not its value at load (1).</summary>
    public bool[]? Batch { get; }

    public Folded(long[] dims, float[] floats) { Dims = dims; Floats = floats; }
    public Folded(long[] dims, long[] ints, bool[]? batch = null)
    {
        Dims = dims;
        Ints = ints;
        Batch = batch is not null && batch.Any(b => b) ? batch : null;
    }

    public bool IsFloat => Floats is not null;
    public long Count => Dims.Aggregate(1L, (a, b) => a * b);
    public bool HasBatch => Batch is not null;
    public bool IsBatch(long i) => Batch is not null && Batch[i];

    /// <summary>Every element as int64 (float elements truncated).</summary>
    public long[] AsInts() => Ints ?? Floats!.Select(f => (long)f).ToArray();
    public double[] AsDoubles() => Floats is not null ? Floats.Select(f => (double)f).ToArray() : Ints!.Select(i => (double)i).ToArray();
    public double Scalar => Count == 1 ? AsDoubles()[0] : throw new InvalidDataException($"expected a single value, got shape [{string.Join(", ", Dims)}]");

    /// <summary>The same elements in another shape.</summary>
    public Folded WithDims(long[] dims) => Floats is not null ? new(dims, Floats) : new(dims, Ints!, Batch);

    /// <summary>The elements at the given flat indices, in a new shape (gathers, slices, transposes).</summary>
    public Folded Take(long[] dims, long[] flatIndices) => Floats is not null
        ? new(dims, flatIndices.Select(i => Floats[i]).ToArray())
        : new(dims, flatIndices.Select(i => Ints![i]).ToArray(), Batch is null ? null : flatIndices.Select(i => Batch[i]).ToArray());

    public static Folded Concat(IReadOnlyList<Folded> parts, int axis, long[] dims)
    {
        // Row-major: concatenating along axis interleaves blocks of (size along axis x inner).
        var outer = dims.Take(axis).Aggregate(1L, (a, b) => a * b);
        var index = new List<(int Part, long Flat)>();
        for (long o = 0; o < outer; o++)
            for (var p = 0; p < parts.Count; p++)
            {
                var block = parts[p].Dims.Skip(axis).Aggregate(1L, (a, b) => a * b);
                for (long i = 0; i < block; i++) index.Add((p, o * block + i));
            }
        if (parts.All(p => p.IsFloat)) return new(dims, index.Select(x => parts[x.Part].Floats![x.Flat]).ToArray());
        var ints = parts.Select(p => p.AsInts()).ToList();
        return new(dims, index.Select(x => ints[x.Part][x.Flat]).ToArray(), index.Select(x => parts[x.Part].IsBatch(x.Flat)).ToArray());
    }

    public Tensor ToTensor(Device? device = null) => Floats is not null ? torch.tensor(Floats, Dims, device) : torch.tensor(Ints!, Dims, device);

    /// <summary>Reads back a tensor computed while folding.</summary>
    public static Folded FromTensor(Tensor t)
    {
        var dims = t.shape;
        return t.dtype switch
        {
            ScalarType.Float32 => new(dims, t.data<float>()),
            ScalarType.Int64 => new(dims, t.data<long>()),
            _ => FromConverted(t),
        };
        static Folded FromConverted(Tensor t)
        {
            using var f = t.to(ScalarType.Float32);
            return new(t.shape, f.data<float>());
        }
    }

    /// <summary>An initializer or a Constant's tensor (data_type codes from onnx.proto).</summary>
    public static Folded From(global::Onnx.TensorProto t, string what)
    {
        if (t.DataLocation == global::Onnx.TensorProto.Types.DataLocation.External)
            throw new InvalidDataException($"{what} keeps its data in an external file; save the model with its weights inside (onnx.save(model, path, save_as_external_data=False)); models over 2 GB are not supported");
        var dims = t.Dims.ToArray();
        var count = dims.Aggregate(1L, (a, b) => a * b);
        var raw = t.RawData;
        var hasRaw = raw.Length > 0;
        Folded result = t.DataType switch
        {
            1 => new(dims, hasRaw ? Cast<float, float>(raw, f => f) : [.. t.FloatData]),
            11 => new(dims, hasRaw ? Cast<double, float>(raw, d => (float)d) : t.DoubleData.Select(d => (float)d).ToArray()),
            10 => new(dims, hasRaw ? Cast<Half, float>(raw, h => (float)h) : t.Int32Data.Select(i => (float)BitConverter.UInt16BitsToHalf((ushort)i)).ToArray()),
            7 => new(dims, hasRaw ? Cast<long, long>(raw, v => v) : [.. t.Int64Data]),
            6 => new(dims, hasRaw ? Cast<int, long>(raw, v => v) : t.Int32Data.Select(v => (long)v).ToArray()),
            5 => new(dims, hasRaw ? Cast<short, long>(raw, v => v) : t.Int32Data.Select(v => (long)v).ToArray()),
            4 => new(dims, hasRaw ? Cast<ushort, long>(raw, v => v) : t.Int32Data.Select(v => (long)v).ToArray()),
            3 => new(dims, hasRaw ? Cast<sbyte, long>(raw, v => v) : t.Int32Data.Select(v => (long)v).ToArray()),
            2 or 9 => new(dims, hasRaw ? Cast<byte, long>(raw, v => v) : t.Int32Data.Select(v => (long)v).ToArray()),
            12 or 13 => new(dims, hasRaw ? (t.DataType == 12 ? Cast<uint, long>(raw, v => v) : Cast<ulong, long>(raw, v => (long)v)) : t.Uint64Data.Select(v => (long)v).ToArray()),
            _ => throw new InvalidDataException($"{what} has data type {t.DataType}, which the importer does not read (numbers only)"),
        };
        var have = result.Floats?.Length ?? result.Ints!.Length;
        if (have != count) throw new InvalidDataException($"{what} has {have} values for shape [{string.Join(", ", dims)}] ({count})");
        return result;
    }

    private static TOut[] Cast<TIn, TOut>(ByteString raw, Func<TIn, TOut> convert) where TIn : unmanaged
    {
        var span = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, TIn>(raw.Span);
        var result = new TOut[span.Length];
        for (var i = 0; i < span.Length; i++) result[i] = convert(span[i]);
        return result;
    }
}
