using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests;

/// <summary>The device the device-aware tests (render, determinism, gradient checks, device
/// parity) run on: <c>MICROSCOPE_TEST_DEVICE</c> = cpu (the default), cuda or cuda:N.
/// scripts/gpu/check.sh sets it to cuda on a GPU machine; CI leaves it unset.</summary>
public static class TestDevice
{
    public const string Variable = "MICROSCOPE_TEST_DEVICE";

    public static Device Current { get; } = Resolve();

    /// <summary>Creates on the CPU, then moves to the test device.</summary>
    public static Tensor Moved(Tensor cpu)
    {
        using (cpu) return cpu.to(Current);
    }

    private static Device Resolve()
    {
        var text = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(text)) return Device.CPU;
        var device = Device.Parse(text);
        if (device.Type == DeviceType.CUDA && torch.cuda.device_count() <= device.Index)
            throw new InvalidOperationException($"{Variable}={text}, but libtorch sees {torch.cuda.device_count()} CUDA device(s): a CPU-only libtorch, or no driver");
        return device;
    }
}
