using Microscope.Engine.Demo;
using Microscope.Engine.Imaging;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests;

/// <summary>The shipped demo model, loaded once for the render tests, on the test device
/// (<see cref="TestDevice"/>: the CPU unless MICROSCOPE_TEST_DEVICE says otherwise).</summary>
public sealed class DemoModelFixture : IDisposable
{
    public VisionModel Model { get; } = ModelZoo.Load("demo", new WeightsSource.Shipped(), TestDevice.Current);
    public void Dispose() => Model.Dispose();
}

public class RenderTests(DemoModelFixture demo) : IClassFixture<DemoModelFixture>
{
    private static readonly RenderParameters Quick = new() { Steps = 96, Size = 64, Seed = 0 };

    [Fact]
    public void Channel_render_raises_its_objective_and_beats_every_image_of_a_procedural_sample()
    {
        const string op = "conv3";
        var channels = demo.Model.Describe().Ops.Single(o => o.Name == op).Channels;
        var all = Enumerable.Range(0, channels).ToArray();

        // The best of 256 procedural images, per unit, by the same objective.
        var best = Enumerable.Repeat(double.MinValue, channels).ToArray();
        for (var first = 0; first < 256; first += 64)
        {
            using var scope = torch.NewDisposeScope();
            var (images, _) = DemoTrainer.Batch(seed: 42, firstIndex: first, count: 64, size: 64);
            images = images.to(demo.Model.Device);
            foreach (var u in all)
                best[u] = Math.Max(best[u], Renderer.Evaluate(demo.Model, new ChannelObjective(op, [u]), images).Max());
        }
        // Units the data set never excites (dead after training) have nothing to show.
        var live = all.Where(u => best[u] > 0).ToArray();
        Assert.True(live.Length >= channels / 4, $"only {live.Length} of {channels} units respond to the procedural images");

        var result = Renderer.Render(demo.Model, new ChannelObjective(op, live), live.Length, Quick with { Steps = 128 });
        for (var i = 0; i < live.Length; i++)
        {
            var img = result.Images[i];
            var u = live[i];
            Assert.True(img.ObjectiveEnd > img.ObjectiveStart + 0.5, $"unit {u}: {img.ObjectiveStart:F3} -> {img.ObjectiveEnd:F3}");
            Assert.True(img.ObjectiveEnd > best[u], $"unit {u}: rendered {img.ObjectiveEnd:F3}, best procedural image {best[u]:F3}");
            Assert.Equal(128, img.Trajectory.Length);
        }
    }

    [Fact]
    public void Bf16_convolutions_reach_the_objective_fp32_reaches_scored_in_fp32_and_leave_the_setting_as_it_was()
    {
        // The demo model is trained; its live conv3 units (the render test above finds them).
        int[] units = [0, 3, 5, 9];
        var objective = new ChannelObjective("conv3", units);
        var fp32 = Renderer.Render(demo.Model, objective, units.Length, Quick);
        var bf16 = Renderer.Render(demo.Model, objective, units.Length, Quick with { Precision = Precision.Bf16 });
        Assert.False(torch.precision.bf16Convolutions);

        double ScoreInFp32(RenderResult r)
        {
            using var scope = torch.NewDisposeScope();
            var images = torch.tensor(r.Images.SelectMany(i => i.Pixels).ToArray(), [r.Images.Count, 3, Quick.Size, Quick.Size]).to(demo.Model.Device);
            return Renderer.Evaluate(demo.Model, objective, images).Average();
        }
        var (a, b) = (ScoreInFp32(fp32), ScoreInFp32(bf16));
        // The switch took effect: other arithmetic, other pixels...
        Assert.NotEqual(fp32.Images[0].Pixels, bf16.Images[0].Pixels);
        Assert.True(a > 1, $"fp32 renders score only {a:F3}: pick live units");
        // ...and the same objective reached, judged by the float32 network.
        Assert.True(b >= 0.9 * a, $"bf16 renders score {b:F3} in fp32, fp32 renders {a:F3}");
    }

    [Fact]
    public void Neuron_render_raises_the_centre_activation()
    {
        var result = Renderer.Render(demo.Model, new NeuronObjective("conv4", [5]), 1, Quick);
        var img = result.Images[0];
        Assert.True(img.ObjectiveEnd > img.ObjectiveStart + 1.0, $"{img.ObjectiveStart:F3} -> {img.ObjectiveEnd:F3}");
    }

    [Fact]
    public void Same_seed_gives_the_same_bytes_and_a_different_seed_a_different_image()
    {
        var p = Quick with { Steps = 24 };
        var objective = new ChannelObjective("conv2", [4]);
        var a = Png(Renderer.Render(demo.Model, objective, 1, p));
        var b = Png(Renderer.Render(demo.Model, objective, 1, p));
        var c = Png(Renderer.Render(demo.Model, objective, 1, p with { Seed = 1 }));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Live_handle_count_returns_to_where_it_was_after_a_render()
    {
        var tensors = LiveTensors.Settled();
        var optimizers = torch.LiveOptimizerCount;
        Renderer.Render(demo.Model, new ChannelObjective("conv5", [0, 1, 2]) + 0.5 * new NeuronObjective("conv5", [3, 4, 5]), 3,
            Quick with { Steps = 8, Thresholds = [4] });
        Assert.Equal(tensors, torch.LiveTensorCount);
        Assert.Equal(optimizers, torch.LiveOptimizerCount);
    }

    [Fact]
    public void Objective_algebra_sums_weights_and_negates()
    {
        using var scope = torch.NewDisposeScope();
        var (images, _) = DemoTrainer.Batch(seed: 1, firstIndex: 0, count: 2, size: 64);
        images = images.to(demo.Model.Device);
        var ch = new ChannelObjective("conv2", [1, 2]);
        var ne = new NeuronObjective("conv3", [7]);
        var a = Renderer.Evaluate(demo.Model, ch, images);
        var b = Renderer.Evaluate(demo.Model, ne, images);
        var combined = Renderer.Evaluate(demo.Model, ch + 2.0 * ne - ch * 0.5 + -ne, images);
        for (var i = 0; i < 2; i++) Assert.Equal(0.5 * a[i] + b[i], combined[i], 4);
    }

    [Fact]
    public void Bad_parameters_and_units_are_refused_with_their_reason()
    {
        var e = Assert.Throws<ArgumentException>(() => Renderer.Render(demo.Model, new ChannelObjective("conv1", [0]), 1, Quick with { Steps = 0, LearningRate = -1 }));
        Assert.Contains("steps", e.Message);
        Assert.Contains("learning rate", e.Message);
        var u = Assert.Throws<ArgumentOutOfRangeException>(() => Renderer.Render(demo.Model, new ChannelObjective("conv1", [99]), 1, Quick with { Steps = 1 }));
        Assert.Contains("units 0..15", u.Message);
        Assert.Throws<UnknownNameException>(() => Renderer.Render(demo.Model, new ChannelObjective("conv9", [0]), 1, Quick with { Steps = 1 }));
    }

    private static byte[] Png(RenderResult r) => ImageFile.EncodePng(r.Images[0].Pixels, r.Images[0].Size, r.Images[0].Size);
}
