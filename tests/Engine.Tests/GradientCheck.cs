using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests;

/// <summary>Compares libtorch's autograd gradient (through the shim) with central finite
/// differences in float64, on the test device (<see cref="TestDevice"/>).</summary>
public static class GradientCheck
{
    public static double[] Random(int count, int seed, double min = -1, double max = 1)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var v = min + (max - min) * rng.NextDouble();
            // Keep clear of kinks (relu at 0) so the finite difference is meaningful.
            return Math.Abs(v) < 0.05 ? v + 0.1 : v;
        }).ToArray();
    }

    public static Tensor Constant(long[] shape, int seed) =>
        TestDevice.Moved(torch.tensor(Random((int)shape.Aggregate(1L, (a, b) => a * b), seed), shape));

    /// <summary>Asserts d(sum(f(x) * w))/dx matches finite differences for every element of x
    /// (or for <paramref name="sample"/> elements spread over x, where every one costs too much).</summary>
    public static void Check(long[] shape, Func<Tensor, Tensor> f, int seed = 1, double step = 1e-6, double tolerance = 1e-5, int? sample = null)
    {
        var before = LiveTensors.Settled();
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        var x0 = Random(count, seed);
        double[] analytic;
        Tensor weights;
        using (var scope = torch.NewDisposeScope())
        {
            var x = torch.tensor(x0, shape).to(TestDevice.Current).requires_grad_();
            var y = f(x);
            weights = torch.tensor(Random((int)y.numel(), seed + 1), y.shape).to(TestDevice.Current);
            weights = scope.MoveToOuter(weights);
            var loss = (y * weights).sum();
            loss.backward();
            analytic = x.grad!.data<double>();
        }
        using (weights)
        {
            var stride = sample is int n && n < count ? count / n : 1;
            for (var i = 0; i < count; i += stride)
            {
                var numeric = (Loss(x0, i, step, shape, f, weights) - Loss(x0, i, -step, shape, f, weights)) / (2 * step);
                Assert.True(Math.Abs(analytic[i] - numeric) <= tolerance * (1 + Math.Abs(numeric)),
                    $"element {i}: autograd {analytic[i]:G10}, finite difference {numeric:G10}");
            }
        }
        Assert.Equal(before, torch.LiveTensorCount);
    }

    private static double Loss(double[] x0, int i, double delta, long[] shape, Func<Tensor, Tensor> f, Tensor weights)
    {
        var x = (double[])x0.Clone();
        x[i] += delta;
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        return (f(torch.tensor(x, shape).to(TestDevice.Current)) * weights).sum().item();
    }
}
