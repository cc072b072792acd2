using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Tests;

public class TensorBindingTests
{
    [Fact]
    public void Data_round_trips_with_shape_and_dtype()
    {
        using var t = torch.tensor([1f, 2f, 3f, 4f, 5f, 6f], [2, 3]);
        Assert.Equal([2L, 3L], t.shape);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(Device.CPU, t.device);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], t.data<float>());
        using var s = t.sum();
        Assert.Equal(21.0, s.item(), 6);
    }

    [Fact]
    public void Arithmetic_matches_managed_results()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.tensor([1.0, -2.0, 3.0], [3]);
        var b = torch.tensor([4.0, 5.0, -6.0], [3]);
        Assert.Equal([5.0, 3.0, -3.0], (a + b).data<double>());
        Assert.Equal([-3.0, -7.0, 9.0], (a - b).data<double>());
        Assert.Equal([4.0, -10.0, -18.0], (a * b).data<double>());
        Assert.Equal([1.0, 4.0, -1.0], (2.0 - a).data<double>());
        Assert.Equal([3.0, -3.0, 7.0], (a * 2.0 + 1.0).data<double>());
        Assert.Equal([0.5, -1.0, 1.5], (a / 2.0).data<double>());
        Assert.Equal([-1.0, 2.0, -3.0], (-a).data<double>());
        Assert.Equal([1.0, 4.0, 9.0], a.square().data<double>());
        Assert.Equal(2.0 / 3.0, a.mean().item(), 12);
    }

    [Fact]
    public void Errors_carry_libtorchs_message_and_never_crash_the_process()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.zeros([2, 3]);
        var b = torch.zeros([4, 5]);
        var e = Assert.Throws<TorchException>(() => a.matmul(b));
        Assert.Contains("shapes cannot be multiplied", e.Message);
        var e2 = Assert.Throws<TorchException>(() => a.reshape(7));
        Assert.Contains("invalid for input of size 6", e2.Message);
    }

    [Fact]
    public void Disposed_tensor_cannot_be_used()
    {
        var t = torch.zeros([2]);
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.sum());
    }

    [Fact]
    public void Dispose_scope_frees_every_temporary_but_what_it_hands_out()
    {
        var before = LiveTensors.Settled();
        Tensor kept;
        using (var scope = torch.NewDisposeScope())
        {
            var x = torch.ones([4, 4]);
            var y = (x * 3.0).relu() + x;
            kept = scope.MoveToOuter(y.sum());
            Assert.True(torch.LiveTensorCount >= before + 5);
        }
        Assert.Equal(before + 1, torch.LiveTensorCount);
        Assert.Equal(64.0, kept.item());
        kept.Dispose();
        Assert.Equal(before, torch.LiveTensorCount);
    }

    [Fact]
    public void Thread_count_is_initialised_to_the_processor_count()
    {
        var expected = int.TryParse(Environment.GetEnvironmentVariable("MICROSCOPE_THREADS"), out var t) ? t : Environment.ProcessorCount;
        Assert.Equal(expected, torch.ThreadCount);
    }

    [Fact]
    public void Device_parsing_and_selection()
    {
        Assert.Equal(Device.CPU, Device.Parse("cpu"));
        Assert.Equal(Device.CUDA(1), Device.Parse("cuda:1"));
        Assert.Throws<ArgumentException>(() => Device.Parse("tpu"));
        Assert.Equal(torch.cuda.is_available() ? Device.CUDA() : Device.CPU, Device.Resolve("auto"));
    }

    [Fact]
    public void No_grad_stops_recording()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones([3]).requires_grad_();
        using (torch.no_grad()) Assert.False((x * 2.0).requires_grad);
        Assert.True((x * 2.0).requires_grad);
    }

    // ---- gradients of the shim's ops against central finite differences (float64) ----

    [Fact] public void Gradient_elementwise() => GradientCheck.Check([2, 5], x => ((x.sigmoid() * x.tanh()) + x.relu() * 0.5 - x.square() / 3.0).exp());
    [Fact] public void Gradient_pow_sqrt_log_abs() => GradientCheck.Check([6], x => (x.abs() + 0.5).sqrt().log() + x.pow(3));
    [Fact] public void Gradient_matmul() { using var w = GradientCheck.Constant([4, 3], 7); GradientCheck.Check([2, 4], x => x.matmul(w)); }
    [Fact] public void Gradient_reductions() => GradientCheck.Check([2, 3, 4], x => x.mean([2]) + x.sum([1], keepdim: true).mean([2]) * x.amax([2]));
    [Fact] public void Gradient_shape_ops() { using var idx = TestDevice.Moved(torch.tensor([2L, 0L], [2])); GradientCheck.Check([3, 4], x => torch.cat([x.permute(1, 0).reshape(2, 6), x.transpose(0, 1).narrow(0, 1, 2).flatten().unsqueeze(0).narrow(1, 0, 6)], 0).index_select(1, idx) * x.select(1, 1).narrow(0, 0, 2).unsqueeze(0)); }
    [Fact] public void Gradient_gather() { using var idx = TestDevice.Moved(torch.tensor([1L, 0L, 2L], [3, 1])); GradientCheck.Check([3, 4], x => x.gather(1, idx)); }

    [Fact]
    public void Gradient_conv2d_with_stride_padding_and_groups()
    {
        using var w = GradientCheck.Constant([4, 2, 3, 3], 3);
        using var b = GradientCheck.Constant([4], 4);
        GradientCheck.Check([1, 4, 5, 5], x => F.conv2d(x, w, b, (2, 2), (1, 1), groups: 2));
    }

    [Fact] public void Gradient_linear() { using var w = GradientCheck.Constant([3, 5], 5); using var b = GradientCheck.Constant([3], 6); GradientCheck.Check([2, 5], x => F.linear(x, w, b)); }
    [Fact] public void Gradient_max_pool() => GradientCheck.Check([1, 2, 5, 5], x => F.max_pool2d(x, (3, 3), (2, 2), (1, 1), ceil_mode: true));
    [Fact] public void Gradient_avg_pool() => GradientCheck.Check([1, 2, 5, 5], x => F.avg_pool2d(x, (3, 3), (2, 2), (1, 1), count_include_pad: false));
    [Fact] public void Gradient_adaptive_avg_pool() => GradientCheck.Check([1, 2, 4, 6], x => F.adaptive_avg_pool2d(x, (1, 1)));
    [Fact] public void Gradient_local_response_norm() => GradientCheck.Check([1, 6, 2, 2], x => F.local_response_norm(x, 5, 0.1, 0.75, 2.0));
    [Fact] public void Gradient_local_response_norm_wide_window() => GradientCheck.Check([2, 13, 3, 2], x => F.local_response_norm(x, 9, 0.2, 0.5, 1.0));
    [Fact] public void Gradient_local_response_norm_other_exponent() => GradientCheck.Check([2, 7, 3, 2], x => F.local_response_norm(x, 4, 0.3, 0.6, 1.5));

    [Fact]
    public void Gradient_batch_norm_inference()
    {
        using var mean = GradientCheck.Constant([3], 8);
        using var var = TestDevice.Moved(torch.tensor([0.5, 1.5, 2.0], [3]));
        using var g = GradientCheck.Constant([3], 9);
        using var b = GradientCheck.Constant([3], 10);
        GradientCheck.Check([2, 3, 2, 2], x => F.batch_norm(x, mean, var, g, b, eps: 1e-3));
    }

    [Fact] public void Gradient_pad() => GradientCheck.Check([1, 1, 3, 3], x => F.pad(x, [2, 1, 0, 3], 0.5) * F.pad(x, [2, 1, 0, 3], 0.5));
    [Fact] public void Gradient_bilinear_resize() => GradientCheck.Check([1, 2, 3, 4], x => F.interpolate(x, (5, 7), align_corners: true) + F.interpolate(x, (2, 3)).mean());
    [Fact] public void Gradient_log_softmax() => GradientCheck.Check([2, 5], x => F.log_softmax(x, 1) + F.softmax(x, 1));
    [Fact] public void Gradient_cross_entropy() { using var t = TestDevice.Moved(torch.tensor([3L, 0L], [2])); GradientCheck.Check([2, 5], x => F.cross_entropy(x, t)); }

    [Fact]
    public void Gradient_rotation_by_affine_grid_sample()
    {
        var (c, s) = (Math.Cos(0.3), Math.Sin(0.3));
        using var theta = TestDevice.Moved(torch.tensor([c, -s, 0.1, s, c, -0.05], [1, 2, 3]));
        GradientCheck.Check([1, 2, 5, 5], x =>
        {
            using var grid = F.affine_grid(theta, x.shape);
            return F.grid_sample(x, grid);
        });
    }

    [Fact] public void Gradient_inverse_real_fft_even() => GradientCheck.Check([1, 2, 4, 3, 2], x => torch.fft.irfft2(x, 4, 4));
    [Fact] public void Gradient_inverse_real_fft_odd() => GradientCheck.Check([1, 1, 5, 4, 2], x => torch.fft.irfft2(x, 5, 6).narrow(3, 0, 5));

    [Fact]
    public void Inverse_real_fft_of_a_constant_spectrum_is_a_constant_image()
    {
        // DC term only: orthonormal scaling gives value/sqrt(H*W) everywhere.
        var spectrum = new double[4 * 3 * 2];
        spectrum[0] = 8.0;
        using var s = torch.tensor(spectrum, [4, 3, 2]);
        using var img = torch.fft.irfft2(s, 4, 4);
        Assert.All(img.data<double>(), v => Assert.Equal(2.0, v, 10));
    }

    [Fact]
    public void Adam_minimises_a_quadratic()
    {
        using var x = torch.tensor([3.0f, -2.0f], [2]).requires_grad_();
        using var target = torch.tensor([1.0f, 1.0f], [2]);
        using (var adam = new torch.optim.Adam([x], lr: 0.1))
        {
            for (var i = 0; i < 300; i++)
            {
                using var scope = torch.NewDisposeScope();
                adam.zero_grad();
                (x - target).square().sum().backward();
                adam.step();
            }
        }
        Assert.All(x.data<float>(), v => Assert.Equal(1.0, v, 2));
        Assert.Equal(0, torch.LiveOptimizerCount);
    }
}
