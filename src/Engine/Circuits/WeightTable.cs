using Microscope.Engine.Models;

namespace Microscope.Engine.Circuits;

/// <summary>The expanded weights from every unit of op <see cref="FromOp"/> (A) to every unit
/// of op <see cref="Op"/> (B): for B's unit u at the centre of its map, a spatial kernel per A
/// unit a, <c>Kernels[u, a, y, x]</c>, over the window of A's map that reaches that centre
/// (rows <see cref="OriginY"/>.., columns <see cref="OriginX"/>.. of A). Where B is a
/// convolution of A the kernel is the convolution's own weight slice; the sum of a kernel
/// over space is the unit-to-unit weight.</summary>
public sealed record WeightTable(string Op, string FromOp, int Units, int FromUnits, int KernelHeight, int KernelWidth,
    int OriginY, int OriginX, float[] Kernels)
{
    private int KernelSize => KernelHeight * KernelWidth;

    public ReadOnlySpan<float> Kernel(int unit, int fromUnit) =>
        Kernels.AsSpan((unit * FromUnits + fromUnit) * KernelSize, KernelSize);

    /// <summary>The weight of A's unit on B's unit: its kernel summed over space.</summary>
    public double Weight(int unit, int fromUnit)
    {
        double sum = 0;
        foreach (var v in Kernel(unit, fromUnit)) sum += v;
        return sum;
    }

    /// <summary>Every A unit's weight on B's <paramref name="unit"/>.</summary>
    public double[] WeightsOn(int unit) => Enumerable.Range(0, FromUnits).Select(a => Weight(unit, a)).ToArray();

    /// <summary>Every B unit's weight from A's <paramref name="fromUnit"/> (its outputs).</summary>
    public double[] WeightsFrom(int fromUnit) => Enumerable.Range(0, Units).Select(u => Weight(u, fromUnit)).ToArray();

    /// <summary>Where the table of <paramref name="op"/> from <paramref name="fromOp"/> is stored,
    /// under its model version's root (ObjectKeys.InModel): the one name the farm's circuits
    /// lens writes and the viewer reads.</summary>
    public static string ObjectName(string op, string fromOp) => $"_circuits/{op}/{fromOp}.safetensors";

    // Stored as safetensors: the kernels and one small "window" tensor with the origin (the op
    // names are in the object's key).
    private const string KernelsName = "kernels", WindowName = "window";

    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        Safetensors.Write(stream, [
            new NamedArray(KernelsName, [Units, FromUnits, KernelHeight, KernelWidth], Kernels),
            new NamedArray(WindowName, [2], [OriginY, OriginX]),
        ]);
        return stream.ToArray();
    }

    public static WeightTable FromBytes(string op, string fromOp, byte[] data)
    {
        using var stream = new MemoryStream(data);
        var arrays = Safetensors.Read(stream).ToDictionary(a => a.Name);
        if (!arrays.TryGetValue(KernelsName, out var k) || k.Shape.Length != 4 || !arrays.TryGetValue(WindowName, out var w) || w.Data.Length != 2)
            throw new InvalidDataException($"not a weight table of {op} from {fromOp}");
        return new WeightTable(op, fromOp, (int)k.Shape[0], (int)k.Shape[1], (int)k.Shape[2], (int)k.Shape[3], (int)w.Data[0], (int)w.Data[1], k.Data);
    }
}
