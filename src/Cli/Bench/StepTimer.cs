using System.Diagnostics;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;

namespace Microscope.Cli.Bench;

/// <summary>Times whole render steps. Every measurement is a fresh render that runs its own
/// warm-up steps first (first-call setup, allocator growth), so no figure pays for another's.</summary>
public static class StepTimer
{
    /// <summary>One measurement: the timed steps' durations and the time spent inside the shim.</summary>
    public sealed record Sample(IReadOnlyList<double> StepMs, double NativeMs);

    public static Sample Measure(VisionModel model, Objective objective, int batch, int size, int warmup, int steps, Precision precision = Precision.Fp32)
    {
        var p = new RenderParameters { Steps = warmup + steps, Size = size, Seed = 0, Precision = precision };
        var times = new List<double>();
        var clock = Stopwatch.StartNew();
        var last = 0.0;
        var nativeNs = 0L;
        Renderer.Render(model, objective, batch, p, new SyncProgress<int>(step =>
        {
            if (model.Device.Type == DeviceType.CUDA) torch.cuda.synchronize(model.Device);
            var now = clock.Elapsed.TotalMilliseconds;
            if (step > warmup) times.Add(now - last);
            if (step == warmup)
            {
                torch.profiler.reset();
                torch.profiler.enable(true);
            }
            if (step == warmup + steps)
            {
                torch.profiler.enable(false);
                nativeNs = torch.profiler.read().Nanoseconds;
            }
            // The bookkeeping above is not part of the next step.
            last = clock.Elapsed.TotalMilliseconds;
        }));
        return new Sample(times, nativeNs / 1e6);
    }

    public static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToList();
        if (v.Count == 0) return double.NaN;
        return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
    }
}
