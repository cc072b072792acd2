using System.Runtime.InteropServices;

namespace Microscope.Engine.Torch;

/// <summary>P/Invoke declarations of the libtorch shim (src/Engine/native/shim.cpp).
/// Every call that can fail returns 0 or 1; <see cref="Check"/> turns 1 into a
/// <see cref="TorchException"/> carrying libtorch's message.</summary>
internal static partial class Native
{
    private const string Lib = "microscope_torch";

    /// <summary>Once per process, before the first tensor: thread count (libtorch defaults to
    /// one here; MICROSCOPE_THREADS overrides the processor count) and malloc tuning.</summary>
    static Native()
    {
        var threads = int.TryParse(Environment.GetEnvironmentVariable("MICROSCOPE_THREADS"), out var t) && t > 0
            ? t : Environment.ProcessorCount;
        Check(ms_init(threads));
    }

    internal static void Check(int rc)
    {
        if (rc != 0) throw new TorchException(Marshal.PtrToStringUTF8(ms_last_error()) ?? "unknown native error");
    }

    [LibraryImport(Lib)] internal static partial IntPtr ms_last_error();
    [LibraryImport(Lib)] internal static partial long ms_live_tensors();
    [LibraryImport(Lib)] internal static partial long ms_live_optimizers();
    [LibraryImport(Lib)] internal static partial int ms_init(int threads);
    [LibraryImport(Lib)] internal static partial int ms_num_threads();
    [LibraryImport(Lib)] internal static partial int ms_cuda_device_count();
    [LibraryImport(Lib)] internal static partial void ms_profile_enable(int on);
    [LibraryImport(Lib)] internal static partial void ms_set_conv_bf16(int on);
    [LibraryImport(Lib)] internal static partial int ms_get_conv_bf16();
    [LibraryImport(Lib)] internal static partial void ms_profile_reset();
    [LibraryImport(Lib)] internal static partial void ms_profile_read(out long ns, out long calls);
    [LibraryImport(Lib)] internal static partial int ms_synchronize(int deviceType, int deviceIndex);

    [LibraryImport(Lib)] internal static partial void ms_free(IntPtr t);
    [LibraryImport(Lib)] internal static unsafe partial int ms_from_data(void* data, int dtype, long* shape, int ndim, int devType, int devIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int ms_zeros(long* shape, int ndim, int dtype, int devType, int devIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int ms_full(long* shape, int ndim, double value, int dtype, int devType, int devIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_ndim(IntPtr t, out int ndim);
    [LibraryImport(Lib)] internal static unsafe partial int ms_shape(IntPtr t, long* shape);
    [LibraryImport(Lib)] internal static partial int ms_dtype(IntPtr t, out int dtype);
    [LibraryImport(Lib)] internal static partial int ms_device(IntPtr t, out int type, out int index);
    [LibraryImport(Lib)] internal static unsafe partial int ms_copy_to_host(IntPtr t, void* buffer, long nbytes);
    [LibraryImport(Lib)] internal static partial int ms_to(IntPtr t, int dtype, int devType, int devIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_item(IntPtr t, out double value);
    [LibraryImport(Lib)] internal static partial int ms_copy_(IntPtr dst, IntPtr src);

    [LibraryImport(Lib)] internal static partial int ms_set_requires_grad(IntPtr t, int on);
    [LibraryImport(Lib)] internal static partial int ms_requires_grad(IntPtr t, out int on);
    [LibraryImport(Lib)] internal static partial int ms_backward(IntPtr t);
    [LibraryImport(Lib)] internal static partial int ms_grad(IntPtr t, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_zero_grad(IntPtr t);
    [LibraryImport(Lib)] internal static partial int ms_detach(IntPtr t, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_no_grad_begin(out IntPtr guard);
    [LibraryImport(Lib)] internal static partial void ms_no_grad_end(IntPtr guard);

    [LibraryImport(Lib)] internal static partial int ms_neg(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_relu(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_sigmoid(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_tanh(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_exp(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_log(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_sqrt(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_abs(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_square(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_contiguous(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_clone(IntPtr a, out IntPtr result);

    [LibraryImport(Lib)] internal static partial int ms_add(IntPtr a, IntPtr b, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_sub(IntPtr a, IntPtr b, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_mul(IntPtr a, IntPtr b, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_div(IntPtr a, IntPtr b, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_matmul(IntPtr a, IntPtr b, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_maximum(IntPtr a, IntPtr b, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_eq(IntPtr a, IntPtr b, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_add_scalar(IntPtr a, double s, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_mul_scalar(IntPtr a, double s, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_pow_scalar(IntPtr a, double s, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_clamp(IntPtr a, double lo, double hi, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_leaky_relu(IntPtr a, double slope, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_elu(IntPtr a, double alpha, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_prelu(IntPtr a, IntPtr weight, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_hardswish(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_minimum(IntPtr a, IntPtr b, out IntPtr result);

    [LibraryImport(Lib)] internal static partial int ms_sum(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_mean(IntPtr a, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int ms_sum_dims(IntPtr a, long* dims, int n, int keepdim, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int ms_mean_dims(IntPtr a, long* dims, int n, int keepdim, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int ms_amax(IntPtr a, long* dims, int n, int keepdim, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_argmax(IntPtr a, long dim, int keepdim, out IntPtr result);

    [LibraryImport(Lib)] internal static unsafe partial int ms_reshape(IntPtr a, long* shape, int n, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int ms_permute(IntPtr a, long* dims, int n, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_transpose(IntPtr a, long d0, long d1, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_narrow(IntPtr a, long dim, long start, long length, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_slice(IntPtr a, long dim, long start, long end, long step, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_select(IntPtr a, long dim, long index, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_index_select(IntPtr a, long dim, IntPtr index, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_gather(IntPtr a, long dim, IntPtr index, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_unsqueeze(IntPtr a, long dim, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_flatten(IntPtr a, long start, long end, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int ms_cat(IntPtr* tensors, int n, long dim, out IntPtr result);

    [LibraryImport(Lib)] internal static unsafe partial int ms_conv2d(IntPtr x, IntPtr w, IntPtr b, long* stride, long* padding /* top, left, bottom, right */, long* dilation, long groups, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int ms_conv_transpose2d(IntPtr x, IntPtr w, IntPtr b, long* stride, long* padding, long* outputPadding, long* dilation, long groups, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_linear(IntPtr x, IntPtr w, IntPtr b, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int ms_max_pool2d(IntPtr x, long* kernel, long* stride, long* padding, int ceilMode, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int ms_avg_pool2d(IntPtr x, long* kernel, long* stride, long* padding, int ceilMode, int countIncludePad, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_adaptive_avg_pool2d(IntPtr x, long h, long w, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_batch_norm(IntPtr x, IntPtr w, IntPtr b, IntPtr mean, IntPtr var, int training, double momentum, double eps, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_local_response_norm(IntPtr x, long size, double alpha, double beta, double k, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int ms_pad_constant(IntPtr x, long* pads, int n, double value, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_upsample_nearest2d(IntPtr x, long h, long w, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_upsample_bilinear2d(IntPtr x, long h, long w, int alignCorners, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int ms_affine_grid(IntPtr theta, long* size, int n, int alignCorners, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_grid_sample(IntPtr x, IntPtr grid, int mode, int padding, int alignCorners, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_softmax(IntPtr x, long dim, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_log_softmax(IntPtr x, long dim, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_cross_entropy(IntPtr logits, IntPtr target, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int ms_irfft2(IntPtr spectrum, long h, long w, out IntPtr result);

    [LibraryImport(Lib)] internal static unsafe partial int ms_adam_new(IntPtr* parameters, int n, double lr, double beta1, double beta2, double eps, double weightDecay, out IntPtr optimizer);
    [LibraryImport(Lib)] internal static partial int ms_optim_step(IntPtr optimizer);
    [LibraryImport(Lib)] internal static partial int ms_optim_zero_grad(IntPtr optimizer);
    [LibraryImport(Lib)] internal static partial void ms_optim_free(IntPtr optimizer);
}
