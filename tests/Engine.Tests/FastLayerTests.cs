using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Tests;

/// <summary>The layers computed the cheap way (issue 11) against their definitions.</summary>
public class FastLayerTests
{
    /// <summary>LRN from a cumulative sum over channels equals the definition
    /// x / (k + alpha/size * sum of x^2 over the channel window)^beta, computed here element by element.</summary>
    [Theory]
    [InlineData(9, 9.99999974738e-05, 0.5, 1.0)]
    [InlineData(5, 1e-4, 0.75, 2.0)]
    [InlineData(4, 0.01, 0.75, 1.0)]
    public void Local_response_norm_equals_its_definition(int size, double alpha, double beta, double k)
    {
        using var scope = torch.NewDisposeScope();
        const int B = 2, C = 13, H = 3, W = 4;
        // Large activations, as a random-weights network gives: the window sums must stay exact enough.
        var x = torch.randn([B, C, H, W], new Random(5), std: 40);
        var values = x.data<float>();
        var result = F.local_response_norm(x, size, alpha, beta, k).data<float>();
        var worst = 0.0;
        for (var b = 0; b < B; b++)
            for (var c = 0; c < C; c++)
                for (var p = 0; p < H * W; p++)
                {
                    double sum = 0;
                    for (var j = c - size / 2; j <= c + (size - 1) / 2; j++)
                        if (j >= 0 && j < C) sum += Math.Pow(values[(b * C + j) * H * W + p], 2);
                    var v = values[(b * C + c) * H * W + p];
                    var expected = v / Math.Pow(k + alpha / size * sum, beta);
                    worst = Math.Max(worst, Math.Abs(result[(b * C + c) * H * W + p] - expected) / Math.Max(1e-3, Math.Abs(expected)));
                }
        Assert.True(worst < 1e-5, $"largest relative difference {worst:E2}");
    }

    /// <summary>TensorFlow "SAME" 3x3 stride-2 max pooling as InceptionV1 pads it (one -inf row and
    /// column at the end) is ceil_mode pooling without the pad, for even and odd sizes.</summary>
    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(15)]
    [InlineData(112)]
    public void Ceil_mode_max_pool_equals_padding_with_minus_infinity(int n)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([2, 3, n, n], new Random(n));
        var padded = F.max_pool2d(F.pad(x, [0, 1, 0, 1], double.NegativeInfinity), (3, 3), (2, 2));
        var ceil = F.max_pool2d(x, (3, 3), (2, 2), ceil_mode: true);
        Assert.Equal(padded.shape, ceil.shape);
        Assert.Equal(padded.data<float>(), ceil.data<float>());
    }

    /// <summary>Max pooling (run on oneDNN for CPU float32) gives the same values and input
    /// gradients as the definition computed in float64 (libtorch's own kernel), including padded
    /// and ceil-mode windows and the zeros a ReLU leaves.</summary>
    [Theory]
    [InlineData(3, 2, 0, true, 15)]
    [InlineData(3, 1, 1, false, 14)]
    [InlineData(2, 2, 0, false, 8)]
    public void Max_pool_values_and_gradients_equal_the_float64_kernel(int kernel, int stride, int padding, bool ceil, int n)
    {
        using var scope = torch.NewDisposeScope();
        var input = torch.randn([2, 5, n, n], new Random(kernel * 10 + n)).relu();
        var x32 = input.clone().requires_grad_();
        var y32 = F.max_pool2d(x32, (kernel, kernel), (stride, stride), (padding, padding), ceil);
        var weights = torch.randn(y32.shape, new Random(1));
        (y32 * weights).sum().backward();
        var x64 = input.to(ScalarType.Float64).requires_grad_();
        var y64 = F.max_pool2d(x64, (kernel, kernel), (stride, stride), (padding, padding), ceil);
        (y64 * weights.to(ScalarType.Float64)).sum().backward();
        Assert.Equal(y64.to(ScalarType.Float32).data<float>(), y32.data<float>());
        var g32 = x32.grad!.data<float>();
        var g64 = x64.grad!.to(ScalarType.Float32).data<float>();
        // Windows of zeros may route their gradient to a different zero; a ReLU before the pool
        // stops it there, so compare the gradient where the input is not zero, and its total.
        var values = input.data<float>();
        for (var i = 0; i < values.Length; i++)
            if (values[i] > 0) Assert.Equal(g64[i], g32[i], 1e-5f);
        Assert.Equal(g64.Sum(), g32.Sum(), 1e-3f);
    }
}
