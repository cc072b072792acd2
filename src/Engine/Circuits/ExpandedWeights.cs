using Microscope.Engine.Models;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Circuits;

/// <summary>Computes the <see cref="WeightTable"/> between two ops by autograd on the
/// linearised graph (<see cref="LinearPath"/>): B's unit at the centre of its map is
/// differentiated with respect to A's whole map, given as the graph's value at A. Because the
/// linearised path is affine, that gradient is the same at every point: it is the expanded
/// weight, and where B is a plain convolution of A it is the kernel itself. One backward pass
/// per B unit, batched.</summary>
public static class ExpandedWeights
{
    /// <param name="fromSize">A's spatial size (default: at the model's input size; a smaller
    /// map is enough when B's window fits in it, which the tests use to stay fast).</param>
    public static WeightTable Compute(VisionModel model, string op, string fromOp, (int H, int W)? fromSize = null, int batch = 16)
    {
        op = model.ResolveOp(op);
        fromOp = model.ResolveOp(fromOp);
        var descriptor = model.Describe();
        var from = descriptor.Ops.Single(o => o.Name == fromOp);
        var (h, w) = fromSize ?? (from.Height, from.Width);
        long[] fromShape(int n) => [n, from.Channels, h, w];

        using var linear = LinearPath.Enter();
        using var scope = torch.NewDisposeScope();

        // One pass with every B unit at the centre: the positions of A it reads bound the window.
        var probe = torch.zeros(fromShape(1), device: model.Device).requires_grad_();
        var (units, atCentre) = Centre(model, op, fromOp, probe, descriptor.InputSize);
        using (var all = atCentre.sum()) all.backward();
        var (y0, x0, y1, x1) = Reached(probe, h, w);
        int kh = y1 - y0, kw = x1 - x0;

        var kernels = new float[(long)units * from.Channels * kh * kw];
        for (var first = 0; first < units; first += batch)
        {
            using var chunkScope = torch.NewDisposeScope();
            var n = Math.Min(batch, units - first);
            var a = torch.zeros(fromShape(n), device: model.Device).requires_grad_();
            var (_, centre) = Centre(model, op, fromOp, a, descriptor.InputSize);
            // Sample k differentiates unit first + k.
            var pick = new float[n * units];
            for (var k = 0; k < n; k++) pick[k * units + first + k] = 1;
            using var mask = torch.tensor(pick, [n, units], model.Device);
            using var picked = centre * mask;
            using var objective = picked.sum();
            objective.backward();
            using var grad = a.grad ?? throw new InvalidOperationException($"{op} does not depend on {fromOp}");
            using var window = grad.narrow(2, y0, kh).narrow(3, x0, kw).contiguous();
            using var onCpu = window.cpu();
            onCpu.data<float>().CopyTo(kernels, (long)first * from.Channels * kh * kw);
        }
        return new WeightTable(op, fromOp, units, from.Channels, kh, kw, y0, x0, kernels);
    }

    /// <summary>B's units at the centre of its map, [n, units], from A's value <paramref name="a"/>.
    /// Paths to B that bypass A read a zero image (they add a constant, not a gradient).</summary>
    private static (int Units, Tensor AtCentre) Centre(VisionModel model, string op, string fromOp, Tensor a, int inputSize)
    {
        var n = a.size(0);
        var input = torch.zeros([n, 3, inputSize, inputSize], device: model.Device);
        var output = model.ForwardFrom(new Dictionary<string, Tensor> { [fromOp] = a }, [op], input)[op];
        var shape = output.shape;
        if (shape.Length == 2) return ((int)shape[1], output);
        if (shape.Length != 4) throw new InvalidOperationException($"{op}'s output has rank {shape.Length}; weights need [n, channels(, h, w)]");
        using var row = output.select(2, shape[2] / 2);
        return ((int)shape[1], row.select(2, shape[3] / 2));
    }

    /// <summary>The bounding box [y0, y1) x [x0, x1) of the non-zero gradient on A.</summary>
    private static (int Y0, int X0, int Y1, int X1) Reached(Tensor probe, int h, int w)
    {
        using var grad = probe.grad ?? throw new InvalidOperationException("the op does not depend on the op given as its input");
        using var cpu = grad.cpu();
        var g = cpu.data<float>();
        var channels = g.Length / (h * w);
        int y0 = h, x0 = w, y1 = 0, x1 = 0;
        for (var c = 0; c < channels; c++)
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                    if (g[(c * h + y) * w + x] != 0)
                    {
                        y0 = Math.Min(y0, y); y1 = Math.Max(y1, y + 1);
                        x0 = Math.Min(x0, x); x1 = Math.Max(x1, x + 1);
                    }
        if (y1 == 0) throw new InvalidOperationException("the op's centre does not depend on the op given as its input");
        return (y0, x0, y1, x1);
    }
}
