#pragma warning disable CS8981, IDE1006

namespace Microscope.Engine.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>The subset of torch.nn.functional the model zoo and the render loop use.</summary>
        public static class functional
        {
            public static Tensor relu(Tensor x) => x.relu();
            public static Tensor sigmoid(Tensor x) => x.sigmoid();

            /// <summary>2-D convolution; <paramref name="padding"/> is (top, left) and, where the
            /// bottom and right differ (TensorFlow's "SAME" padding), <paramref name="paddingAfter"/>
            /// is (bottom, right): the zeros are then the convolution's own, not a padded copy.</summary>
            public static unsafe Tensor conv2d(Tensor input, Tensor weight, Tensor? bias = null,
                (long, long)? stride = null, (long, long)? padding = null, (long, long)? dilation = null, long groups = 1,
                (long, long)? paddingAfter = null)
            {
                long* s = stackalloc long[2]; Pair(s, stride ?? (1, 1));
                long* p = stackalloc long[4]; Pair(p, padding ?? (0, 0)); Pair(p + 2, paddingAfter ?? padding ?? (0, 0));
                long* d = stackalloc long[2]; Pair(d, dilation ?? (1, 1));
                return Tensor.New(Native.ms_conv2d(input.Handle, weight.Handle, bias?.Handle ?? IntPtr.Zero, s, p, d, groups, out var r), r, input, (weight, bias));
            }

            /// <summary>Transposed convolution; <paramref name="weight"/> is (C_in, C_out / groups, kH, kW).</summary>
            public static unsafe Tensor conv_transpose2d(Tensor input, Tensor weight, Tensor? bias = null,
                (long, long)? stride = null, (long, long)? padding = null, (long, long)? output_padding = null, long groups = 1, (long, long)? dilation = null)
            {
                long* s = stackalloc long[2]; Pair(s, stride ?? (1, 1));
                long* p = stackalloc long[2]; Pair(p, padding ?? (0, 0));
                long* o = stackalloc long[2]; Pair(o, output_padding ?? (0, 0));
                long* d = stackalloc long[2]; Pair(d, dilation ?? (1, 1));
                return Tensor.New(Native.ms_conv_transpose2d(input.Handle, weight.Handle, bias?.Handle ?? IntPtr.Zero, s, p, o, d, groups, out var r), r, input, (weight, bias));
            }

            public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null) =>
                Tensor.New(Native.ms_linear(input.Handle, weight.Handle, bias?.Handle ?? IntPtr.Zero, out var r), r, input, (weight, bias));

            public static unsafe Tensor max_pool2d(Tensor input, (long, long) kernel, (long, long)? stride = null,
                (long, long)? padding = null, bool ceil_mode = false)
            {
                long* k = stackalloc long[2]; Pair(k, kernel);
                long* s = stackalloc long[2]; Pair(s, stride ?? kernel);
                long* p = stackalloc long[2]; Pair(p, padding ?? (0, 0));
                return Tensor.New(Native.ms_max_pool2d(input.Handle, k, s, p, ceil_mode ? 1 : 0, out var r), r, input);
            }

            public static unsafe Tensor avg_pool2d(Tensor input, (long, long) kernel, (long, long)? stride = null,
                (long, long)? padding = null, bool ceil_mode = false, bool count_include_pad = true)
            {
                long* k = stackalloc long[2]; Pair(k, kernel);
                long* s = stackalloc long[2]; Pair(s, stride ?? kernel);
                long* p = stackalloc long[2]; Pair(p, padding ?? (0, 0));
                return Tensor.New(Native.ms_avg_pool2d(input.Handle, k, s, p, ceil_mode ? 1 : 0, count_include_pad ? 1 : 0, out var r), r, input);
            }

            public static Tensor adaptive_avg_pool2d(Tensor input, (long H, long W) output) =>
                Tensor.New(Native.ms_adaptive_avg_pool2d(input.Handle, output.H, output.W, out var r), r, input);

            /// <summary>Inference-mode batch norm (running statistics) unless <paramref name="training"/>.</summary>
            public static Tensor batch_norm(Tensor input, Tensor? running_mean, Tensor? running_var, Tensor? weight = null,
                Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5) =>
                Tensor.New(Native.ms_batch_norm(input.Handle, weight?.Handle ?? IntPtr.Zero, bias?.Handle ?? IntPtr.Zero,
                    running_mean?.Handle ?? IntPtr.Zero, running_var?.Handle ?? IntPtr.Zero, training ? 1 : 0, momentum, eps, out var r),
                    r, input, (weight, bias, running_mean, running_var));

            public static Tensor local_response_norm(Tensor input, long size, double alpha = 1e-4, double beta = 0.75, double k = 1.0) =>
                Tensor.New(Native.ms_local_response_norm(input.Handle, size, alpha, beta, k, out var r), r, input);

            /// <summary>Constant padding; <paramref name="pad"/> as in PyTorch: (left, right, top, bottom) for the last two dims.</summary>
            public static unsafe Tensor pad(Tensor input, long[] pad, double value = 0)
            {
                fixed (long* p = pad) return Tensor.New(Native.ms_pad_constant(input.Handle, p, pad.Length, value, out var r), r, input);
            }

            /// <summary>Nearest-neighbour resize to (H, W), as F.interpolate(mode="nearest").</summary>
            public static Tensor interpolate_nearest(Tensor input, (long H, long W) size) =>
                Tensor.New(Native.ms_upsample_nearest2d(input.Handle, size.H, size.W, out var r), r, input);

            /// <summary>Bilinear resize to (H, W), as F.interpolate(mode="bilinear").</summary>
            public static Tensor interpolate(Tensor input, (long H, long W) size, bool align_corners = false) =>
                Tensor.New(Native.ms_upsample_bilinear2d(input.Handle, size.H, size.W, align_corners ? 1 : 0, out var r), r, input);

            public static unsafe Tensor affine_grid(Tensor theta, long[] size, bool align_corners = false)
            {
                fixed (long* p = size) return Tensor.New(Native.ms_affine_grid(theta.Handle, p, size.Length, align_corners ? 1 : 0, out var r), r, theta);
            }

            public enum GridSampleMode { Bilinear = 0, Nearest = 1 }
            public enum GridSamplePadding { Zeros = 0, Border = 1, Reflection = 2 }

            public static Tensor grid_sample(Tensor input, Tensor grid, GridSampleMode mode = GridSampleMode.Bilinear,
                GridSamplePadding padding_mode = GridSamplePadding.Zeros, bool align_corners = false) =>
                Tensor.New(Native.ms_grid_sample(input.Handle, grid.Handle, (int)mode, (int)padding_mode, align_corners ? 1 : 0, out var r), r, input, grid);

            public static Tensor softmax(Tensor input, long dim) => Tensor.New(Native.ms_softmax(input.Handle, dim, out var r), r, input);
            public static Tensor log_softmax(Tensor input, long dim) => Tensor.New(Native.ms_log_softmax(input.Handle, dim, out var r), r, input);

            /// <summary>Mean cross-entropy of logits (N, C) against int64 class indices (N).</summary>
            public static Tensor cross_entropy(Tensor logits, Tensor target) =>
                Tensor.New(Native.ms_cross_entropy(logits.Handle, target.Handle, out var r), r, logits, target);

            private static unsafe void Pair(long* p, (long, long) v) { p[0] = v.Item1; p[1] = v.Item2; }
        }
    }

    public static class fft
    {
        /// <summary>Orthonormal inverse real 2-D FFT of a spectrum stored as real pairs
        /// (..., H, W/2+1, 2), giving (..., h, w).</summary>
        public static Tensor irfft2(Tensor spectrum, long h, long w) =>
            Tensor.New(Native.ms_irfft2(spectrum.Handle, h, w, out var r), r, spectrum);
    }

    public static class optim
    {
        /// <summary>libtorch's own Adam (same update as torch.optim.Adam).</summary>
        public sealed class Adam : IDisposable
        {
            private IntPtr _optimizer;
            private readonly Tensor[] _parameters;

            public unsafe Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8, double weight_decay = 0)
            {
                _parameters = parameters.ToArray();
                var handles = _parameters.Select(p => p.Handle).ToArray();
                fixed (IntPtr* h = handles)
                    Native.Check(Native.ms_adam_new(h, handles.Length, lr, beta1, beta2, eps, weight_decay, out _optimizer));
            }

            public void step() => Native.Check(Native.ms_optim_step(Live()));
            public void zero_grad() => Native.Check(Native.ms_optim_zero_grad(Live()));

            private IntPtr Live()
            {
                ObjectDisposedException.ThrowIf(_optimizer == IntPtr.Zero, this);
                return _optimizer;
            }

            public void Dispose()
            {
                if (_optimizer == IntPtr.Zero) return;
                Native.ms_optim_free(_optimizer);
                _optimizer = IntPtr.Zero;
                GC.KeepAlive(_parameters);
            }
        }
    }
}
