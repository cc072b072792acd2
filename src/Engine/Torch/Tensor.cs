using System.Runtime.CompilerServices;

namespace Microscope.Engine.Torch;

/// <summary>An opaque handle to a libtorch tensor. Method names follow PyTorch and
/// TorchSharp (<c>x.mean(...)</c>, <c>x.relu()</c>) so the render code reads like the
/// reference libraries. Every result is a new tensor registered with the current
/// <see cref="DisposeScope"/>, if any.</summary>
public sealed class Tensor : IDisposable
{
    private readonly TensorHandle _handle;

    internal Tensor(IntPtr handle)
    {
        _handle = new TensorHandle(handle);
        DisposeScope.Current?.Register(this);
    }

    internal DisposeScope? Owner { get; set; }

    internal IntPtr Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle.DangerousGetHandle();
        }
    }

    public bool IsDisposed => _handle.IsClosed;

    public void Dispose() => _handle.Dispose();

    /// <summary>Checks a native return code and wraps its result. The <paramref name="keep"/>
    /// arguments keep the inputs reachable until the native call has returned, so a
    /// finaliser can never free an operand mid-call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Tensor New(int rc, IntPtr result, object? keep = null, object? keep2 = null)
    {
        Native.Check(rc);
        GC.KeepAlive(keep);
        GC.KeepAlive(keep2);
        return new Tensor(result);
    }

    // ---- metadata ---------------------------------------------------------------

    public unsafe long[] shape
    {
        get
        {
            Native.Check(Native.ms_ndim(Handle, out var n));
            var s = new long[n];
            fixed (long* p = s) Native.Check(Native.ms_shape(Handle, p));
            return s;
        }
    }

    public int dim() { Native.Check(Native.ms_ndim(Handle, out var n)); return n; }
    public long size(int dim) { var s = shape; return s[dim < 0 ? s.Length + dim : dim]; }
    public long numel() { long n = 1; foreach (var d in shape) n *= d; return n; }

    public ScalarType dtype { get { Native.Check(Native.ms_dtype(Handle, out var d)); return (ScalarType)d; } }

    public Device device
    {
        get { Native.Check(Native.ms_device(Handle, out var t, out var i)); return new Device((DeviceType)t, i); }
    }

    public override string ToString() => $"Tensor[{string.Join(", ", shape)}] {dtype} {device}";

    // ---- data -------------------------------------------------------------------

    /// <summary>Copies the tensor to a managed array (from any device).</summary>
    public unsafe T[] data<T>() where T : unmanaged
    {
        var n = numel();
        var result = new T[n];
        fixed (T* p = result) Native.Check(Native.ms_copy_to_host(Handle, p, n * sizeof(T)));
        return result;
    }

    public double item() { Native.Check(Native.ms_item(Handle, out var v)); return v; }

    public Tensor to(Device d) => New(Native.ms_to(Handle, (int)dtype, (int)d.Type, d.Index, out var r), r, this);
    public Tensor to(ScalarType t) { var d = device; return New(Native.ms_to(Handle, (int)t, (int)d.Type, d.Index, out var r), r, this); }
    public Tensor cpu() => to(Device.CPU);

    /// <summary>In-place copy (without autograd), used to load weights into parameters.</summary>
    public Tensor copy_(Tensor src) { Native.Check(Native.ms_copy_(Handle, src.Handle)); GC.KeepAlive(src); return this; }

    // ---- autograd ---------------------------------------------------------------

    public bool requires_grad
    {
        get { Native.Check(Native.ms_requires_grad(Handle, out var on)); return on != 0; }
        set => Native.Check(Native.ms_set_requires_grad(Handle, value ? 1 : 0));
    }

    public Tensor requires_grad_(bool on = true) { requires_grad = on; return this; }
    public void backward() => Native.Check(Native.ms_backward(Handle));

    /// <summary>The accumulated gradient, or null before any backward pass.</summary>
    public Tensor? grad
    {
        get
        {
            Native.Check(Native.ms_grad(Handle, out var g));
            return g == IntPtr.Zero ? null : new Tensor(g);
        }
    }

    public void zero_grad() => Native.Check(Native.ms_zero_grad(Handle));
    public Tensor detach() => New(Native.ms_detach(Handle, out var r), r, this);

    // ---- elementwise ------------------------------------------------------------

    public Tensor neg() => New(Native.ms_neg(Handle, out var r), r, this);
    public Tensor relu() => New(Native.ms_relu(Handle, out var r), r, this);
    public Tensor sigmoid() => New(Native.ms_sigmoid(Handle, out var r), r, this);
    public Tensor tanh() => New(Native.ms_tanh(Handle, out var r), r, this);
    public Tensor exp() => New(Native.ms_exp(Handle, out var r), r, this);
    public Tensor log() => New(Native.ms_log(Handle, out var r), r, this);
    public Tensor sqrt() => New(Native.ms_sqrt(Handle, out var r), r, this);
    public Tensor abs() => New(Native.ms_abs(Handle, out var r), r, this);
    public Tensor square() => New(Native.ms_square(Handle, out var r), r, this);
    public Tensor pow(double exponent) => New(Native.ms_pow_scalar(Handle, exponent, out var r), r, this);
    public Tensor clamp(double min, double max) => New(Native.ms_clamp(Handle, min, max, out var r), r, this);
    public Tensor leaky_relu(double slope) => New(Native.ms_leaky_relu(Handle, slope, out var r), r, this);
    public Tensor elu(double alpha = 1.0) => New(Native.ms_elu(Handle, alpha, out var r), r, this);
    /// <summary>PReLU with one slope per channel (dim 1), or one for all.</summary>
    public Tensor prelu(Tensor weight) => New(Native.ms_prelu(Handle, weight.Handle, out var r), r, this, weight);
    public Tensor hardswish() => New(Native.ms_hardswish(Handle, out var r), r, this);
    public Tensor minimum(Tensor other) => New(Native.ms_minimum(Handle, other.Handle, out var r), r, this, other);
    public Tensor contiguous() => New(Native.ms_contiguous(Handle, out var r), r, this);
    public Tensor clone() => New(Native.ms_clone(Handle, out var r), r, this);
    public Tensor matmul(Tensor other) => New(Native.ms_matmul(Handle, other.Handle, out var r), r, this, other);
    public Tensor maximum(Tensor other) => New(Native.ms_maximum(Handle, other.Handle, out var r), r, this, other);
    public Tensor eq(Tensor other) => New(Native.ms_eq(Handle, other.Handle, out var r), r, this, other);

    public static Tensor operator +(Tensor a, Tensor b) => New(Native.ms_add(a.Handle, b.Handle, out var r), r, a, b);
    public static Tensor operator -(Tensor a, Tensor b) => New(Native.ms_sub(a.Handle, b.Handle, out var r), r, a, b);
    public static Tensor operator *(Tensor a, Tensor b) => New(Native.ms_mul(a.Handle, b.Handle, out var r), r, a, b);
    public static Tensor operator /(Tensor a, Tensor b) => New(Native.ms_div(a.Handle, b.Handle, out var r), r, a, b);
    public static Tensor operator -(Tensor a) => a.neg();
    public static Tensor operator +(Tensor a, double s) => New(Native.ms_add_scalar(a.Handle, s, out var r), r, a);
    public static Tensor operator +(double s, Tensor a) => a + s;
    public static Tensor operator -(Tensor a, double s) => a + -s;
    public static Tensor operator -(double s, Tensor a) { using var n = a.neg(); return n + s; }
    public static Tensor operator *(Tensor a, double s) => New(Native.ms_mul_scalar(a.Handle, s, out var r), r, a);
    public static Tensor operator *(double s, Tensor a) => a * s;
    public static Tensor operator /(Tensor a, double s) => a * (1.0 / s);

    // ---- reductions -------------------------------------------------------------

    public Tensor sum() => New(Native.ms_sum(Handle, out var r), r, this);
    public Tensor mean() => New(Native.ms_mean(Handle, out var r), r, this);
    public unsafe Tensor sum(long[] dims, bool keepdim = false)
    {
        fixed (long* p = dims) return New(Native.ms_sum_dims(Handle, p, dims.Length, keepdim ? 1 : 0, out var r), r, this);
    }
    public unsafe Tensor mean(long[] dims, bool keepdim = false)
    {
        fixed (long* p = dims) return New(Native.ms_mean_dims(Handle, p, dims.Length, keepdim ? 1 : 0, out var r), r, this);
    }
    public unsafe Tensor amax(long[] dims, bool keepdim = false)
    {
        fixed (long* p = dims) return New(Native.ms_amax(Handle, p, dims.Length, keepdim ? 1 : 0, out var r), r, this);
    }
    public Tensor argmax(long dim, bool keepdim = false) => New(Native.ms_argmax(Handle, dim, keepdim ? 1 : 0, out var r), r, this);

    // ---- shape and indexing -----------------------------------------------------

    public unsafe Tensor reshape(params long[] shape)
    {
        fixed (long* p = shape) return New(Native.ms_reshape(Handle, p, shape.Length, out var r), r, this);
    }
    public unsafe Tensor permute(params long[] dims)
    {
        fixed (long* p = dims) return New(Native.ms_permute(Handle, p, dims.Length, out var r), r, this);
    }
    public Tensor transpose(long dim0, long dim1) => New(Native.ms_transpose(Handle, dim0, dim1, out var r), r, this);
    public Tensor narrow(long dim, long start, long length) => New(Native.ms_narrow(Handle, dim, start, length, out var r), r, this);
    /// <summary>Elements start, start+step, ... before end along a dim (bounds clamped, as x[start:end:step]).</summary>
    public Tensor slice(long dim, long start, long end, long step = 1) => New(Native.ms_slice(Handle, dim, start, end, step, out var r), r, this);
    public Tensor select(long dim, long index) => New(Native.ms_select(Handle, dim, index, out var r), r, this);
    public Tensor index_select(long dim, Tensor index) => New(Native.ms_index_select(Handle, dim, index.Handle, out var r), r, this, index);
    public Tensor gather(long dim, Tensor index) => New(Native.ms_gather(Handle, dim, index.Handle, out var r), r, this, index);
    public Tensor unsqueeze(long dim) => New(Native.ms_unsqueeze(Handle, dim, out var r), r, this);
    public Tensor flatten(long startDim = 0, long endDim = -1) => New(Native.ms_flatten(Handle, startDim, endDim, out var r), r, this);
}
