using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests;

/// <summary>The live-tensor count a leak check starts from. A handle some earlier test dropped
/// without disposing is freed by its finalizer whenever a GC runs; collecting first keeps that
/// from landing between the two counts and reading as a check's own doing.</summary>
public static class LiveTensors
{
    public static long Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return torch.LiveTensorCount;
    }
}
