using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Models.Zoo;

/// <summary>Layer helpers the zoo's published architectures need beyond <see cref="VisionModel"/>'s:
/// rectangular kernels, explicit asymmetric padding (TensorFlow "SAME"), and a convolution
/// fused with its batch norm and ReLU in one graph node whose parameter names follow the
/// checkpoint layout each model documents (docs/models.md).</summary>
public abstract class ZooModel : VisionModel
{
    /// <summary>Convolution, then optionally batch norm (inference statistics), then optionally
    /// ReLU, as one node. Parameters: "{convParams}.weight" [, "{convParams}.bias"] and, with
    /// <paramref name="bnParams"/>, "{bnParams}.weight|bias|running_mean|running_var"
    /// (no ".weight" when <paramref name="bnScale"/> is false, as TF-slim's scale=False).</summary>
    protected string ConvUnit(string node, string input, int inChannels, int outChannels, (int H, int W) kernel,
        (int H, int W)? stride = null, (int H, int W)? padding = null, int groups = 1,
        string? convParams = null, bool bias = false, string? bnParams = null, double bnEps = 1e-3,
        bool bnScale = true, bool relu = true, bool op = false, (int H, int W)? paddingAfter = null)
    {
        convParams ??= node;
        var w = Declare(convParams + ".weight", [outChannels, inChannels / groups, kernel.H, kernel.W]);
        var b = bias ? Declare(convParams + ".bias", [outChannels], ParameterStore.ParameterInit.Zeros) : null;
        string? gamma = null, beta = null, mean = null, variance = null;
        if (bnParams is not null)
        {
            gamma = bnScale ? Declare(bnParams + ".weight", [outChannels], ParameterStore.ParameterInit.Ones) : null;
            beta = Declare(bnParams + ".bias", [outChannels], ParameterStore.ParameterInit.Zeros);
            mean = Declare(bnParams + ".running_mean", [outChannels], ParameterStore.ParameterInit.Zeros);
            variance = Declare(bnParams + ".running_var", [outChannels], ParameterStore.ParameterInit.Ones);
        }
        var s = stride ?? (1, 1);
        var p = padding ?? (0, 0);
        // Bottom and right padding where they differ from top and left (TensorFlow "SAME").
        var after = paddingAfter ?? p;
        Tensor BeforeRelu(Tensor x)
        {
            var y = F.conv2d(x, Current(w), b is null ? null : Current(b), (s.H, s.W), (p.H, p.W), groups: groups, paddingAfter: (after.H, after.W));
            if (mean is null) return y;
            using (y) return F.batch_norm(y, Current(mean), Current(variance!), gamma is null ? null : Current(gamma), Current(beta!), eps: bnEps);
        }
        var name = Graph.Add(node, input, x =>
        {
            var y = BeforeRelu(x);
            if (!relu) return y;
            using (y) return Circuits.LinearPath.Relu(y);
        }, op, new Geometry(kernel.H, s.H, p.H, KernelW: kernel.W, StrideW: s.W, PaddingW: p.W),
        groups != 1 ? null : new UnitRule.Compute((xs, units) =>
        {
            var y = UnitRule.SelectedConv2d(xs[0], Current(w), b is null ? null : Current(b), units, (s.H, s.W), (p.H, p.W), (after.H, after.W));
            if (mean is not null)
            {
                var convolved = y;
                using (convolved) y = UnitRule.SelectedBatchNorm(convolved, units, Current(mean), Current(variance!), gamma is null ? null : Current(gamma), Current(beta!), bnEps);
            }
            if (!relu) return y;
            using (y) return Circuits.LinearPath.Relu(y);
        }), outChannels, (long)inChannels / groups * kernel.H * kernel.W);
        if (relu) Graph.EndsWithRelu(name, xs => BeforeRelu(xs[0]));
        return name;
    }

    /// <summary>Inference batch norm with explicit parameter names (ReLU optional).</summary>
    protected string Norm(string node, string input, int channels, string paramPrefix, double eps, bool relu, bool op = false)
    {
        var gamma = Declare(paramPrefix + ".weight", [channels], ParameterStore.ParameterInit.Ones);
        var beta = Declare(paramPrefix + ".bias", [channels], ParameterStore.ParameterInit.Zeros);
        var mean = Declare(paramPrefix + ".running_mean", [channels], ParameterStore.ParameterInit.Zeros);
        var variance = Declare(paramPrefix + ".running_var", [channels], ParameterStore.ParameterInit.Ones);
        return Graph.Add(node, input, x =>
        {
            var y = F.batch_norm(x, Current(mean), Current(variance), Current(gamma), Current(beta), eps: eps);
            if (!relu) return y;
            using (y) return Circuits.LinearPath.Relu(y);
        }, op, units: new UnitRule.PerChannel((x, units) =>
        {
            var y = UnitRule.SelectedBatchNorm(x, units, Current(mean), Current(variance), Current(gamma), Current(beta), eps);
            if (!relu) return y;
            using (y) return Circuits.LinearPath.Relu(y);
        }), channels: channels);
    }

    /// <summary>Constant padding (left, right, top, bottom); max pools after TensorFlow "SAME"
    /// padding pad with -inf so the padding never wins.</summary>
    protected string Pad(string node, string input, int left, int right, int top, int bottom, double value = 0) =>
        PerChannel(node, input, x => F.pad(x, [left, right, top, bottom], value),
            // Leading padding shifts where output 0 sits in the input (receptive fields).
            new Geometry(1, 1, top, PaddingW: left));

    /// <summary>Max pool after TensorFlow-style asymmetric padding (extra row/column at the end).</summary>
    protected string MaxPoolSame(string node, string input, int kernel, int stride, int left, int right, int top, int bottom)
    {
        // One extra -inf row and column at the end is what ceil_mode does for a 3x3 stride-2 pool
        // (same output size, same windows, the last one clipped at the edge), without copying
        // the whole activation into a padded buffer first.
        if ((kernel, stride, left, right, top, bottom) == (3, 2, 0, 1, 0, 1)) return MaxPool(node, input, kernel, stride, ceil: true);
        var padded = Pad(node + "_pad", input, left, right, top, bottom, double.NegativeInfinity);
        return MaxPool(node, padded, kernel, stride);
    }
}
