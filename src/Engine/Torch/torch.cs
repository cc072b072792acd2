// Lower-case type names mirror PyTorch/TorchSharp (torch.zeros, torch.nn.functional.conv2d)
// so the render code reads like the reference libraries.
#pragma warning disable CS8981, IDE1006

namespace Microscope.Engine.Torch;

public static partial class torch
{
    /// <summary>Handles to native tensors alive right now, counted by the shim itself:
    /// tests compare it before and after a render to prove nothing leaks.</summary>
    public static long LiveTensorCount => Native.ms_live_tensors();
    public static long LiveOptimizerCount => Native.ms_live_optimizers();
    public static int ThreadCount => Native.ms_num_threads();

    /// <summary>Opens a scope that frees every tensor created inside it when disposed.</summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Disables gradient recording on this thread until disposed.</summary>
    public static IDisposable no_grad()
    {
        Native.Check(Native.ms_no_grad_begin(out var guard));
        return new NoGradScope(guard);
    }

    private sealed class NoGradScope(IntPtr guard) : IDisposable
    {
        private IntPtr _guard = guard;
        public void Dispose()
        {
            if (_guard == IntPtr.Zero) return;
            Native.ms_no_grad_end(_guard);
            _guard = IntPtr.Zero;
        }
    }

    public static class cuda
    {
        public static int device_count() => Native.ms_cuda_device_count();
        public static bool is_available() => device_count() > 0;
        public static void synchronize(Device device) => Native.Check(Native.ms_synchronize((int)device.Type, device.Index));
    }

    // ---- creation ---------------------------------------------------------------

    public static unsafe Tensor tensor(float[] data, long[] shape, Device? device = null)
    {
        CheckLength(data.Length, shape);
        var d = device ?? Device.CPU;
        fixed (float* p = data)
        fixed (long* s = shape)
            return Tensor.New(Native.ms_from_data(p, (int)ScalarType.Float32, s, shape.Length, (int)d.Type, d.Index, out var r), r);
    }

    public static unsafe Tensor tensor(double[] data, long[] shape, Device? device = null)
    {
        CheckLength(data.Length, shape);
        var d = device ?? Device.CPU;
        fixed (double* p = data)
        fixed (long* s = shape)
            return Tensor.New(Native.ms_from_data(p, (int)ScalarType.Float64, s, shape.Length, (int)d.Type, d.Index, out var r), r);
    }

    public static unsafe Tensor tensor(long[] data, long[] shape, Device? device = null)
    {
        CheckLength(data.Length, shape);
        var d = device ?? Device.CPU;
        fixed (long* p = data)
        fixed (long* s = shape)
            return Tensor.New(Native.ms_from_data(p, (int)ScalarType.Int64, s, shape.Length, (int)d.Type, d.Index, out var r), r);
    }

    public static Tensor tensor(float value, Device? device = null) => tensor([value], [], device);

    public static unsafe Tensor zeros(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.CPU;
        fixed (long* s = shape)
            return Tensor.New(Native.ms_zeros(s, shape.Length, (int)dtype, (int)d.Type, d.Index, out var r), r);
    }

    public static unsafe Tensor full(long[] shape, double value, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.CPU;
        fixed (long* s = shape)
            return Tensor.New(Native.ms_full(s, shape.Length, value, (int)dtype, (int)d.Type, d.Index, out var r), r);
    }

    public static Tensor ones(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null) => full(shape, 1.0, dtype, device);

    /// <summary>Standard normal samples drawn in managed code from a seeded <see cref="Random"/>:
    /// the same seed gives the same tensor on every device and thread count.</summary>
    public static Tensor randn(long[] shape, Random rng, double std = 1.0, Device? device = null)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        var data = new float[n];
        for (long i = 0; i < n; i += 2)
        {
            // Box-Muller: two independent normals per pair of uniforms.
            var u1 = 1.0 - rng.NextDouble();
            var u2 = rng.NextDouble();
            var radius = Math.Sqrt(-2.0 * Math.Log(u1)) * std;
            data[i] = (float)(radius * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < n) data[i + 1] = (float)(radius * Math.Sin(2 * Math.PI * u2));
        }
        return tensor(data, shape, device);
    }

    public static unsafe Tensor cat(IReadOnlyList<Tensor> tensors, long dim)
    {
        var handles = new IntPtr[tensors.Count];
        for (var i = 0; i < handles.Length; i++) handles[i] = tensors[i].Handle;
        fixed (IntPtr* p = handles)
        {
            var result = Tensor.New(Native.ms_cat(p, handles.Length, dim, out var r), r);
            GC.KeepAlive(tensors);
            return result;
        }
    }

    private static void CheckLength(int length, long[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n != length) throw new ArgumentException($"data has {length} elements but shape [{string.Join(", ", shape)}] needs {n}");
    }

    // ---- precision -------------------------------------------------------------------

    public static class precision
    {
        /// <summary>Whether convolutions run in bfloat16 (process-wide; inputs and outputs stay
        /// float32). Off unless a render asks for it (<see cref="Render.Precision"/>).</summary>
        public static bool bf16Convolutions
        {
            get => Native.ms_get_conv_bf16() != 0;
            set => Native.ms_set_conv_bf16(value ? 1 : 0);
        }
    }

    // ---- profiling (the bench's binding-overhead measurement) ---------------------

    public static class profiler
    {
        public static void enable(bool on) => Native.ms_profile_enable(on ? 1 : 0);
        public static void reset() => Native.ms_profile_reset();
        /// <summary>Nanoseconds spent inside shim entry points, and how many calls.</summary>
        public static (long Nanoseconds, long Calls) read()
        {
            Native.ms_profile_read(out var ns, out var calls);
            return (ns, calls);
        }
    }
}
