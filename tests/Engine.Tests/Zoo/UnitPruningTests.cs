using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests.Zoo;

/// <summary>A unit objective's forward computes only the units it reads (ModelGraph.RunUnits):
/// it must give the same values and the same input gradients as the whole op with the units
/// picked, at every op of every model, while evaluating less of the graph.</summary>
public class UnitPruningTests
{
    private static VisionModel Random(string slug) => ModelZoo.Load(slug, new WeightsSource.Random(0), Device.CPU);

    /// <summary>Three images asking for the first, a middle and the last unit: in a concat, three
    /// different branches.</summary>
    private static int[] Spread(int channels) => [0, channels / 2, channels - 1];

    [Theory]
    [MemberData(nameof(Catalogue.Slugs), MemberType = typeof(Catalogue))]
    public void Own_units_equal_the_whole_op_picked_at_every_op(string slug)
    {
        var size = Catalogue.Get(slug).TestSize;
        using var model = Random(slug);
        var descriptor = model.Describe();
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([3, 3, size, size], new System.Random(2));
        var all = model.Forward(x, model.OpNames);
        foreach (var op in descriptor.Ops)
        {
            using var opScope = torch.NewDisposeScope();
            var units = Spread(op.Channels);
            var own = model.ForwardUnits(x, op.Name, units).data<float>();
            var picked = ModelGraph.PickUnits(all[op.Name], [.. units.Select(u => (long)u)]).data<float>();
            Assert.Equal(picked.Length, own.Length);
            AssertClose(picked, own, $"{slug}/{op.Name}");
        }
    }

    [Fact]
    public void InceptionV1_gradients_match_and_only_the_needed_branches_run()
    {
        using var model = Random("inceptionv1");
        using var scope = torch.NewDisposeScope();
        // 64 px keeps it cheap; mixed4a's branches hold channels 0-191, 192-395, 396-443, 444-507.
        foreach (var (op, units) in new[] { ("conv2d2", new[] { 5, 100, 191 }), ("mixed4a", [3, 250, 480]), ("mixed4a", [0, 1, 2]) })
        {
            var whole = Gradient(model, op, units, prune: false, out var wholeNodes);
            var own = Gradient(model, op, units, prune: true, out var ownNodes);
            AssertClose(whole, own, $"{op} input gradient");
            if (op == "mixed4a" && units.All(u => u < 192))
                Assert.True(ownNodes < wholeNodes, $"{op} units {string.Join(",", units)}: {ownNodes} nodes run whole, {wholeNodes} without pruning");
        }
    }

    [Fact]
    public void A_render_is_the_same_with_and_without_pruning()
    {
        using var model = Random("inceptionv1");
        var p = new RenderParameters { Steps = 4, Size = 48, Seed = 3 };
        var objective = new ChannelObjective("mixed3b", [7, 300]);
        model.PruneUnits = false;
        var whole = Renderer.Render(model, objective, 2, p);
        model.PruneUnits = true;
        var own = Renderer.Render(model, objective, 2, p);
        for (var b = 0; b < 2; b++)
        {
            AssertClose(whole.Images[b].Pixels, own.Images[b].Pixels, $"image {b}");
            Assert.Equal(whole.Images[b].ObjectiveEnd, own.Images[b].ObjectiveEnd, 1e-3 * Math.Max(1, Math.Abs(whole.Images[b].ObjectiveEnd)));
        }
    }

    /// <summary>Image i's value and input gradient depend on its own unit only, not on the other
    /// units of the batch (what makes a unit render the same pixels alone or packed).</summary>
    [Theory]
    [InlineData("demo", "conv3", 32)]
    [InlineData("inceptionv1", "mixed4a", 64)]
    public void An_images_unit_does_not_depend_on_the_rest_of_the_batch(string slug, string op, int size)
    {
        using var model = slug == "demo" ? ModelZoo.Load("demo", new WeightsSource.Shipped(), Device.CPU) : Random(slug);
        using var scope = torch.NewDisposeScope();
        var images = torch.randn([4, 3, size, size], new System.Random(6));
        (float[] Value, float[] Gradient) Run(Tensor x, int[] units, int index)
        {
            var input = x.clone().requires_grad_();
            var own = model.ForwardUnits(input, op, units);
            own.mean([1, 2, 3]).sum().backward();
            var value = own.mean([1, 2, 3]).data<float>()[index];
            var gradient = input.grad!.data<float>();
            var per = gradient.Length / units.Length;
            return ([value], gradient.AsSpan(index * per, per).ToArray());
        }
        var packed = Run(images, [4, 17, 9, 30], 2);
        using var third = images.narrow(0, 2, 1);
        var alone = Run(third, [9], 0);
        AssertClose(alone.Value, packed.Value, "value");
        AssertClose(alone.Gradient, packed.Gradient, "gradient");
    }

    [Fact]
    public void A_unit_outside_the_op_is_refused_by_name()
    {
        using var model = Random("inceptionv1");
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([1, 3, 64, 64], new System.Random(0));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.ForwardUnits(x, "mixed4a", [508]));
        Assert.Contains("op 'mixed4a' has units 0..507, not 508", e.Message, StringComparison.Ordinal);
    }

    private static float[] Gradient(VisionModel model, string op, int[] units, bool prune, out int nodesRunWhole)
    {
        model.PruneUnits = prune;
        try
        {
            using var scope = torch.NewDisposeScope();
            var x = torch.randn([units.Length, 3, 64, 64], new System.Random(4)).requires_grad_();
            var own = model.ForwardUnits(x, op, units);
            nodesRunWhole = ModelGraph.LastNodesEvaluated;
            own.mean([1, 2, 3]).sum().backward();
            return x.grad!.data<float>();
        }
        finally
        {
            model.PruneUnits = true;
        }
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        var scale = Math.Max(1e-6, expected.Max(v => Math.Abs(v)));
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() / scale;
        Assert.True(worst < 1e-4, $"{what}: largest difference {worst:E2} of the largest value");
    }
}
