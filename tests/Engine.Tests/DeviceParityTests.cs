using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests;

/// <summary>The test device (<see cref="TestDevice"/>) against the CPU: the same seeded render
/// and the same InceptionV1 activations and input gradients. On the CPU (CI) both sides are the
/// CPU and must agree exactly; on CUDA (scripts/gpu/check.sh) within fp32 noise, which fails
/// when TF32 or a wrong kernel creeps in. Each test prints what it measured.</summary>
public class DeviceParityTests(DemoModelFixture demo) : IClassFixture<DemoModelFixture>
{
    private static bool SameDevice => TestDevice.Current == Device.CPU;

    [Fact]
    public void A_render_on_the_test_device_matches_the_CPU_render()
    {
        using var cpu = ModelZoo.Load("demo", new WeightsSource.Shipped(), Device.CPU);
        var objective = new ChannelObjective("conv3", [1, 2]);
        var p = new RenderParameters { Steps = 32, Size = 64, Seed = 0 };
        var onCpu = Renderer.Render(cpu, objective, 2, p);
        var onDevice = Renderer.Render(demo.Model, objective, 2, p);
        for (var i = 0; i < 2; i++)
        {
            var (a, b) = (onCpu.Images[i], onDevice.Images[i]);
            var diffs = a.Pixels.Zip(b.Pixels, (x, y) => Math.Abs(x - y)).ToArray();
            var (max, mean) = (diffs.Max(), diffs.Average());
            Console.Error.WriteLine($"[device parity] render {TestDevice.Current} vs cpu, image {i}: pixels max |diff| {max * 255:F3}/255, mean {mean * 255:F4}/255; objective {b.ObjectiveEnd:F4} vs {a.ObjectiveEnd:F4}");
            if (SameDevice) Assert.Equal(a.Pixels, b.Pixels);
            Assert.True(mean <= 1 / 255.0 && max <= 8 / 255.0, $"image {i}: pixels differ by up to {max * 255:F2}/255 (mean {mean * 255:F3}/255)");
            Assert.True(Math.Abs(a.ObjectiveEnd - b.ObjectiveEnd) <= 0.01 * (1 + Math.Abs(a.ObjectiveEnd)), $"image {i}: objective {b.ObjectiveEnd} on {TestDevice.Current}, {a.ObjectiveEnd} on the CPU");
        }
    }

    [Fact]
    public void InceptionV1_activations_and_input_gradients_on_the_test_device_match_the_CPU()
    {
        using var cpu = ModelZoo.Load("inceptionv1", new WeightsSource.Random(0), Device.CPU);
        using var device = ModelZoo.Load("inceptionv1", new WeightsSource.Random(0), TestDevice.Current);
        var pixels = GradientCheck.Random(2 * 3 * 224 * 224, seed: 3, min: 0, max: 1).Select(v => (float)v).ToArray();
        var (actsCpu, gradCpu) = ForwardBackward(cpu, pixels);
        var (actsDevice, gradDevice) = ForwardBackward(device, pixels);
        foreach (var op in Ops)
        {
            var error = RelativeError(actsCpu[op], actsDevice[op]);
            Console.Error.WriteLine($"[device parity] inceptionv1 {op} activations {TestDevice.Current} vs cpu: max |diff| / max |value| = {error:E2}");
            if (SameDevice) Assert.Equal(actsCpu[op], actsDevice[op]);
            Assert.True(error <= 1e-3, $"{op}: activations differ by {error:E2} of their largest value");
        }
        var gradError = RelativeError(gradCpu, gradDevice);
        Console.Error.WriteLine($"[device parity] inceptionv1 input gradient of mixed4a unit 0 {TestDevice.Current} vs cpu: {gradError:E2}");
        Assert.True(gradError <= 5e-3, $"input gradients differ by {gradError:E2} of their largest value");
    }

    private static readonly string[] Ops = ["conv2d2", "mixed4a", "mixed5b"];

    private static (Dictionary<string, float[]> Acts, float[] Grad) ForwardBackward(VisionModel model, float[] pixels)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(pixels, [2, 3, 224, 224]).to(model.Device).requires_grad_();
        var acts = model.Forward(Renderer.ModelInput(model, x), Ops);
        acts["mixed4a"].narrow(1, 0, 1).mean().backward();
        return (Ops.ToDictionary(op => op, op => acts[op].data<float>()), x.grad!.data<float>());
    }

    private static double RelativeError(float[] expected, float[] actual)
    {
        var scale = expected.Max(v => Math.Abs(v));
        return expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() / Math.Max(scale, 1e-12);
    }
}
