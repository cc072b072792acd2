using System.Diagnostics;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Render;

/// <summary>Where a render step's time goes, phase by phase (parameterisation, transforms,
/// forward, backward, optimiser, host copy), for `microscope bench --profile`. Off unless a
/// profile is collecting on this thread; then each mark waits for the device (CUDA) so a phase
/// is charged its own kernels.</summary>
public sealed class StepPhases
{
    [ThreadStatic] private static StepPhases? _current;
    private readonly Dictionary<string, List<double>> _ms = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly Stopwatch _clock = new();
    private Device _device = Device.CPU;

    /// <summary>Phase name → milliseconds of every profiled step, in the order phases run.</summary>
    public IReadOnlyList<(string Phase, IReadOnlyList<double> Ms)> Phases => [.. _order.Select(p => (p, (IReadOnlyList<double>)_ms[p]))];

    /// <summary>Collects phases on this thread until disposed.</summary>
    public static IDisposable Collect(StepPhases into)
    {
        var previous = _current;
        _current = into;
        return new Restore(() => _current = previous);
    }

    public static void Begin(Device device)
    {
        if (_current is not { } p) return;
        p._device = device;
        Sync(device);
        p._clock.Restart();
    }

    public static void Mark(string phase)
    {
        if (_current is not { } p) return;
        Sync(p._device);
        if (!p._ms.TryGetValue(phase, out var list))
        {
            p._ms[phase] = list = [];
            p._order.Add(phase);
        }
        list.Add(p._clock.Elapsed.TotalMilliseconds);
        p._clock.Restart();
    }

    private static void Sync(Device device)
    {
        if (device.Type == DeviceType.CUDA) torch.cuda.synchronize(device);
    }
}
