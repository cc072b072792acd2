using Microscope.Engine.Render;
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

    /// <summary>A CPU network runs channels-last (the shim's convolutions return that layout), and
    /// LRN then runs on its channels-last kernel: the same values and input gradients as the
    /// NCHW kernel on the same numbers, for InceptionV1's, AlexNet's and another exponent.</summary>
    [Theory]
    [InlineData(9, 9.99999974738e-05, 0.5, 1.0, 64)]
    [InlineData(5, 1e-4, 0.75, 2.0, 13)]
    [InlineData(4, 0.01, 0.6, 1.5, 7)]
    public void Channels_last_local_response_norm_equals_the_nchw_kernel(int size, double alpha, double beta, double k, int channels)
    {
        using var scope = torch.NewDisposeScope();
        const int B = 2, H = 5, W = 6;
        // (B, H, W, C) values viewed as (B, C, H, W): channels-last memory, as a convolution leaves it.
        var values = torch.randn([B, H, W, channels], new Random(channels), std: 40);
        var upstream = torch.randn([B, channels, H, W], new Random(3));
        (float[] Values, float[] Gradient) Run(Tensor input)
        {
            var x = input.requires_grad_();
            var y = F.local_response_norm(x, size, alpha, beta, k);
            (y * upstream).sum().backward();
            return (y.data<float>(), x.grad!.data<float>());
        }
        var nchw = Run(values.permute(0, 3, 1, 2).contiguous());
        var channelsLast = Run(values.clone().permute(0, 3, 1, 2));
        static double Worst(float[] expected, float[] actual) =>
            expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second) / Math.Max(1e-3, Math.Abs(p.First)));
        Assert.True(Worst(nchw.Values, channelsLast.Values) < 1e-6, $"values: {Worst(nchw.Values, channelsLast.Values):E2}");
        var scale = nchw.Gradient.Max(Math.Abs);
        var worstGradient = nchw.Gradient.Zip(channelsLast.Gradient).Max(p => Math.Abs(p.First - p.Second)) / scale;
        Assert.True(worstGradient < 1e-6, $"gradients: {worstGradient:E2} of the largest");
    }

    /// <summary>The channels-last LRN's gradient against float64 finite differences: narrow and wide
    /// windows, the square-root exponents and a pow one (the NCHW kernel's checks are in
    /// TensorBindingTests).</summary>
    [Theory]
    [InlineData(5, 0.1, 0.75, 2.0, 6)]
    [InlineData(9, 0.2, 0.5, 1.0, 13)]
    [InlineData(4, 0.3, 0.6, 1.5, 7)]
    public void Channels_last_local_response_norm_gradient_equals_finite_differences(int size, double alpha, double beta, double k, int channels) =>
        GradientCheck.Check([2, 3, 2, channels], x => F.local_response_norm(x.permute(0, 3, 1, 2), size, alpha, beta, k));

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
    /// <summary>A strided convolution on a few input channels (a first layer: InceptionV1's
    /// conv2d0 is 7x7/2 on 3) computes its input gradient by space-to-depth; it equals libtorch's
    /// own gradient in float64 for kernels that are and are not multiples of the stride, odd
    /// sizes, padding and rows the kernel never reaches.</summary>
    [Theory]
    [InlineData(3, 7, 2, 0, 229)]
    [InlineData(3, 3, 2, 1, 33)]
    [InlineData(3, 11, 4, 2, 67)]
    [InlineData(4, 5, 3, 2, 20)]
    [InlineData(1, 2, 2, 0, 17)]
    public void Strided_convolution_input_gradient_equals_the_float64_gradient(int channels, int kernel, int stride, int padding, int n)
    {
        using var scope = torch.NewDisposeScope();
        var input = torch.randn([3, channels, n, n], new Random(kernel * 100 + n));
        var weight = torch.randn([6, channels, kernel, kernel], new Random(kernel), std: 0.2);
        var bias = torch.randn([6], new Random(2));
        var x32 = input.clone().requires_grad_();
        var y32 = F.conv2d(x32, weight, bias, (stride, stride), (padding, padding));
        var upstream = torch.randn(y32.shape, new Random(1));
        (y32 * upstream).sum().backward();
        var x64 = input.to(ScalarType.Float64).requires_grad_();
        var y64 = F.conv2d(x64, weight.to(ScalarType.Float64), bias.to(ScalarType.Float64), (stride, stride), (padding, padding));
        (y64 * upstream.to(ScalarType.Float64)).sum().backward();
        Assert.Equal(y64.shape, y32.shape);
        var expected = x64.grad!.data<double>();
        var actual = x32.grad!.data<float>();
        Assert.Equal(expected.Length, actual.Length);
        var scale = expected.Max(Math.Abs);
        var worst = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)) / scale;
        Assert.True(worst < 1e-5, $"largest difference {worst:E2} of the largest gradient");
    }

    /// <summary>Bilinear resizing (the render's random scale and its upsample to the model's
    /// input, on the shim's kernel for CPU float32) gives libtorch's float64 values and input
    /// gradients: up, down and same size, both corner conventions, and a crop (a strided view).</summary>
    [Theory]
    [InlineData(144, 155, false, false)]
    [InlineData(144, 129, false, true)]
    [InlineData(151, 224, true, true)]
    [InlineData(7, 7, false, false)]
    [InlineData(5, 13, true, false)]
    [InlineData(9, 4, true, false)]
    public void Bilinear_resize_equals_the_float64_kernel(int size, int target, bool alignCorners, bool crop)
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.randn([2, 3, size + 5, size + 6], new Random(size));
        Tensor Input(Tensor t) => crop ? t.narrow(2, 3, size).narrow(3, 2, size + 1) : t.narrow(2, 0, size).narrow(3, 0, size + 1).contiguous();
        var x32 = image.clone().requires_grad_();
        var y32 = F.interpolate(Input(x32), (target, target + 2), alignCorners);
        var upstream = torch.randn(y32.shape, new Random(1));
        (y32 * upstream).sum().backward();
        var x64 = image.to(ScalarType.Float64).requires_grad_();
        var y64 = F.interpolate(Input(x64), (target, target + 2), alignCorners);
        (y64 * upstream.to(ScalarType.Float64)).sum().backward();
        Assert.Equal(y64.shape, y32.shape);
        Assert.True(RelativeDifference(y64.data<double>(), y32.data<float>()) < 5e-5, "values");
        Assert.True(RelativeDifference(x64.grad!.data<double>(), x32.grad!.data<float>()) < 5e-5, "input gradients");
    }

    /// <summary>Grid sampling on an affine grid (the render's random rotation, on the shim's kernel
    /// for CPU float32) gives libtorch's float64 values and input gradients, with samples falling
    /// outside the image (zeros), at 0 and 90 degrees, and in both corner conventions.</summary>
    [Theory]
    [InlineData(10, false)]
    [InlineData(-7, true)]
    [InlineData(0, false)]
    [InlineData(90, true)]
    public void Rotation_grid_sample_equals_the_float64_kernel(double degrees, bool alignCorners)
    {
        using var scope = torch.NewDisposeScope();
        var (cos, sin) = ((float)Math.Cos(degrees * Math.PI / 180), (float)Math.Sin(degrees * Math.PI / 180));
        // A shift of a tenth of the image puts some samples outside it.
        var theta = torch.tensor([cos, -sin, 0.1f, sin, cos, -0.05f, cos, sin, 0f, -sin, cos, 0.2f], [2, 2, 3]);
        var image = torch.randn([2, 3, 37, 41], new Random(7));
        var grid = F.affine_grid(theta, [2, 3, 33, 39], alignCorners);
        var x32 = image.clone().requires_grad_();
        var y32 = F.grid_sample(x32, grid, align_corners: alignCorners);
        var upstream = torch.randn(y32.shape, new Random(2));
        (y32 * upstream).sum().backward();
        var x64 = image.to(ScalarType.Float64).requires_grad_();
        var y64 = F.grid_sample(x64, grid.to(ScalarType.Float64), align_corners: alignCorners);
        (y64 * upstream.to(ScalarType.Float64)).sum().backward();
        Assert.True(RelativeDifference(y64.data<double>(), y32.data<float>()) < 1e-5, "values");
        Assert.True(RelativeDifference(x64.grad!.data<double>(), x32.grad!.data<float>()) < 1e-5, "input gradients");
        Assert.Contains(y32.data<float>(), v => v == 0);   // some samples fell outside
    }

    /// <summary>The largest difference relative to the largest expected magnitude.</summary>
    private static double RelativeDifference(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        return expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)) / expected.Max(Math.Abs);
    }

    /// <summary>Padding that differs before and after (TensorFlow "SAME": InceptionV1's conv2d0
    /// pads 2 before and 3 after) is the convolution's own: values and input gradients equal an
    /// explicit zero pad and a float64 convolution, on the first layer's path (few channels,
    /// strided) and on the general one, in float32 and (to bfloat16's precision) in bf16.</summary>
    [Theory]
    [InlineData(3, 7, 2, 2, 3, 1, 2, 37, false)]
    [InlineData(3, 7, 2, 2, 3, 2, 3, 224, false)]
    [InlineData(3, 7, 2, 2, 3, 2, 3, 64, true)]
    [InlineData(4, 3, 2, 0, 1, 1, 0, 16, false)]
    [InlineData(8, 3, 1, 1, 2, 0, 1, 12, false)]
    [InlineData(8, 3, 1, 1, 2, 0, 1, 12, true)]
    public void Asymmetric_padding_equals_an_explicit_pad(int channels, int kernel, int stride, int top, int bottom, int left, int right, int n,
        bool bf16)
    {
        using var scope = torch.NewDisposeScope();
        using var precision = (bf16 ? Precision.Bf16 : Precision.Fp32).Use();
        var tolerance = bf16 ? 2e-2 : 1e-5;
        var input = torch.randn([2, channels, n, n + 1], new Random(n));
        var weight = torch.randn([6, channels, kernel, kernel], new Random(kernel), std: 0.2);
        var bias = torch.randn([6], new Random(3));
        var x32 = input.clone().requires_grad_();
        var y32 = F.conv2d(x32, weight, bias, (stride, stride), (top, left), paddingAfter: (bottom, right));
        var upstream = torch.randn(y32.shape, new Random(1));
        (y32 * upstream).sum().backward();
        var x64 = input.to(ScalarType.Float64).requires_grad_();
        var y64 = F.conv2d(F.pad(x64, [left, right, top, bottom]), weight.to(ScalarType.Float64), bias.to(ScalarType.Float64), (stride, stride));
        (y64 * upstream.to(ScalarType.Float64)).sum().backward();
        Assert.Equal(y64.shape, y32.shape);
        var values = RelativeDifference(y64.data<double>(), y32.data<float>());
        var gradients = RelativeDifference(x64.grad!.data<double>(), x32.grad!.data<float>());
        Assert.True(values < tolerance, $"values {values:E2}");
        Assert.True(gradients < tolerance, $"input gradients {gradients:E2}");
    }

    /// <summary>A first layer's output is channels-last and its max pool runs on the shim's
    /// channels-last kernel: conv, pool and ReLU give the float64 values and input gradients
    /// (libtorch's kernels), for overlapping, padded, ceil-mode and disjoint windows.</summary>
    [Theory]
    [InlineData(3, 2, 0, true)]
    [InlineData(3, 1, 1, false)]
    [InlineData(2, 2, 0, false)]
    [InlineData(3, 2, 1, true)]
    [InlineData(3, 2, 1, false)]
    public void A_first_layer_with_its_max_pool_equals_the_float64_computation(int kernel, int stride, int padding, bool ceil)
    {
        using var scope = torch.NewDisposeScope();
        var input = torch.randn([2, 3, 45, 45], new Random(9));
        var weight = torch.randn([16, 3, 7, 7], new Random(8), std: 0.1);
        var bias = torch.randn([16], new Random(7), std: 0.1);
        (double[] Values, double[] Gradient) Run(ScalarType type)
        {
            var x = input.to(type).requires_grad_();
            var pooled = F.max_pool2d(F.conv2d(x, weight.to(type), bias.to(type), (2, 2)), (kernel, kernel), (stride, stride),
                (padding, padding), ceil).relu();
            var upstream = torch.randn(pooled.shape, new Random(6)).to(type);
            (pooled * upstream).sum().backward();
            return (pooled.to(ScalarType.Float64).data<double>(), x.grad!.to(ScalarType.Float64).data<double>());
        }
        var expected = Run(ScalarType.Float64);
        var actual = Run(ScalarType.Float32);
        Assert.Equal(expected.Values.Length, actual.Values.Length);
        Assert.Contains(actual.Values, v => v == 0);
        Assert.True(expected.Values.Zip(actual.Values).All(p => Math.Abs(p.First - p.Second) < 1e-5), "values");
        var scale = expected.Gradient.Max(Math.Abs);
        Assert.True(expected.Gradient.Zip(actual.Gradient).All(p => Math.Abs(p.First - p.Second) < 1e-5 * scale), "gradients");
    }

    /// <summary>Every max pool of a channels-last CPU network runs on the shim's channels-last kernel:
    /// the mixed blocks' pool branches (3x3/1, padding 1) and the "SAME" 3x3/2 ceil-mode pools
    /// between blocks give libtorch's float64 values and input gradients, on ReLU outputs as in
    /// the network.</summary>
    [Theory]
    [InlineData(3, 1, 1, false, 14, 48)]
    [InlineData(3, 1, 1, false, 7, 19)]
    [InlineData(3, 2, 0, true, 28, 32)]
    [InlineData(3, 2, 0, true, 13, 8)]
    public void Channels_last_max_pool_equals_the_float64_kernel(int kernel, int stride, int padding, bool ceil, int n, int channels)
    {
        using var scope = torch.NewDisposeScope();
        var values = torch.randn([2, n, n, channels], new Random(n + channels)).relu();
        (double[] Values, double[] Gradient) Run(Tensor input)
        {
            var x = input.requires_grad_();
            var y = F.max_pool2d(x, (kernel, kernel), (stride, stride), (padding, padding), ceil);
            var weights = torch.randn(y.shape, new Random(2)).to(x.dtype);
            (y * weights).sum().backward();
            return (y.to(ScalarType.Float64).data<double>(), x.grad!.to(ScalarType.Float64).data<double>());
        }
        var expected = Run(values.permute(0, 3, 1, 2).contiguous().to(ScalarType.Float64));
        var actual = Run(values.clone().permute(0, 3, 1, 2));
        Assert.Equal(expected.Values, actual.Values);
        // Windows of zeros may route their gradient to another zero: compare where the input is
        // not zero, and the totals.
        var input = values.permute(0, 3, 1, 2).contiguous().data<float>();
        for (var i = 0; i < input.Length; i++)
            if (input[i] > 0) Assert.Equal(expected.Gradient[i], actual.Gradient[i], 1e-6);
        Assert.Equal(expected.Gradient.Sum(), actual.Gradient.Sum(), 1e-3);
    }

    /// <summary>A channels-last CPU network gives an image the same bits alone or in a batch, values
    /// and input gradients, through convolutions, LRN, max pool and a concatenation: layers that
    /// libtorch would give its own kernel at batch 1 (few values) run on oneDNN as a pair with a
    /// zero image, larger ones on oneDNN directly.</summary>
    [Theory]
    [InlineData(16, 12)]
    [InlineData(48, 24)]
    public void A_channels_last_block_gives_an_image_the_same_bits_alone_or_in_a_batch(int channels, int size)
    {
        using var scope = torch.NewDisposeScope();
        var images = torch.randn([4, channels, size, size], new Random(channels));
        var w3 = torch.randn([32, channels, 3, 3], new Random(1), std: 0.1);
        var w1 = torch.randn([16, channels, 1, 1], new Random(2), std: 0.1);
        var wOut = torch.randn([24, 48, 3, 3], new Random(3), std: 0.1);
        var upstream = torch.randn([4, 24, size, size], new Random(4));
        (float[] Values, float[] Gradient) Run(Tensor input, Tensor g)
        {
            var x = input.clone().requires_grad_();
            var branch = F.max_pool2d(F.local_response_norm(F.conv2d(x, w3, padding: (1, 1)).relu(), 5), (3, 3), (1, 1), (1, 1));
            var y = F.conv2d(torch.cat([branch, F.conv2d(x, w1).relu()], 1), wOut, padding: (1, 1));
            (y * g).sum().backward();
            return (y.data<float>(), x.grad!.data<float>());
        }
        var packed = Run(images, upstream);
        var alone = Run(images.narrow(0, 2, 1), upstream.narrow(0, 2, 1));
        Assert.Equal(alone.Values, packed.Values.Skip(2 * alone.Values.Length).Take(alone.Values.Length).ToArray());
        Assert.Equal(alone.Gradient, packed.Gradient.Skip(2 * alone.Gradient.Length).Take(alone.Gradient.Length).ToArray());
    }

    /// <summary>That gradient is computed image by image: an image's input gradient is the same
    /// bits alone or in a batch (what keeps a unit's render independent of its batch).</summary>
    [Fact]
    public void Strided_convolution_input_gradient_does_not_depend_on_the_batch()
    {
        using var scope = torch.NewDisposeScope();
        var weight = torch.randn([64, 3, 7, 7], new Random(7), std: 0.1);
        var images = torch.randn([4, 3, 61, 61], new Random(3));
        var upstream = torch.randn([4, 64, 28, 28], new Random(4));
        float[] Gradient(Tensor x, Tensor g)
        {
            var leaf = x.clone().requires_grad_();
            (F.conv2d(leaf, weight, null, (2, 2)) * g).sum().backward();
            return leaf.grad!.data<float>();
        }
        var packed = Gradient(images, upstream);
        var alone = Gradient(images.narrow(0, 2, 1), upstream.narrow(0, 2, 1));
        Assert.Equal(alone, packed.Skip(2 * alone.Length).Take(alone.Length).ToArray());
    }
}
