using System.Runtime.InteropServices;

namespace Microscope.Engine.Torch;

/// <summary>Owns one native torch::Tensor. The finaliser is a safety net only: the
/// render loop frees deterministically through <see cref="DisposeScope"/>s, and tests
/// check <see cref="torch.LiveTensorCount"/> without forcing a collection.</summary>
internal sealed class TensorHandle : SafeHandle
{
    public TensorHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle()
    {
        Native.ms_free(handle);
        return true;
    }
}
