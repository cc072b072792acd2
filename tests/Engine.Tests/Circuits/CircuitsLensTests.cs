using Microscope.Engine.Circuits;
using Microscope.Engine.Lenses;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests.Circuits;

/// <summary>The farm's circuits lens: the tables it stores are the viewer's, under the viewer's names.</summary>
public class CircuitsLensTests
{
    [Fact]
    public void The_lens_stores_each_input_op_s_table_under_the_name_the_viewer_reads()
    {
        using var model = ModelZoo.Load("demo", new WeightsSource.Shipped(), Device.CPU);
        var result = LensRunner.Run(model, "conv3", CircuitsLens.LensName, [], new RenderParameters { Steps = 1, Size = 32 }).Single();
        var table = Assert.Single(result.Files);
        Assert.Equal("_circuits/conv3/conv2.safetensors", table.ModelKey);
        Assert.Equal(WeightTable.ObjectName("conv3", "conv2"), table.ModelKey);
        var expected = ExpandedWeights.Compute(model, "conv3", "conv2");
        var stored = WeightTable.FromBytes("conv3", "conv2", table.Content);
        Assert.Equal((expected.Units, expected.FromUnits, expected.KernelHeight, expected.KernelWidth), (stored.Units, stored.FromUnits, stored.KernelHeight, stored.KernelWidth));
        Assert.Equal(expected.Kernels, stored.Kernels);
        var listed = Assert.Single(result.Record.Details!["tables"]!.AsArray());
        Assert.Equal("conv2", (string?)listed!["from_op"]);

        // The first op reads the image: a record and no table.
        Assert.Empty(LensRunner.Run(model, "conv1", CircuitsLens.LensName, [], new RenderParameters { Steps = 1, Size = 32 }).Single().Files);
    }

    [Fact]
    public void One_tuple_per_op_covers_every_pair_the_viewer_shows()
    {
        using var model = ModelZoo.Load("demo", new WeightsSource.Shipped(), Device.CPU);
        var d = model.Describe();
        var swept = d.Ops.Where(o => o.InSweep).Select(o => o.Name).ToList();
        // The pairs the circuits tuples of a whole-model sweep store: (op, each op feeding it).
        var stored = swept.SelectMany(op => CircuitPairs.InputOps(d, op).Select(from => (op, from))).ToHashSet();
        Assert.Equal([("conv2", "conv1"), ("conv3", "conv2"), ("conv4", "conv3"), ("conv5", "conv4"), ("logits", "conv5")], stored.Order());
        // A unit page reads its inputs' tables and its outputs' (the next op's inputs): all stored.
        foreach (var op in swept)
            Assert.All(CircuitPairs.OutputOps(d, op), to => Assert.Contains((to, op), stored));
    }
}
