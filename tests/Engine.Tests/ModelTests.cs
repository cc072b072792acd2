using Microscope.Engine.Demo;
using Microscope.Engine.Models;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests;

public class ModelTests
{
    private static VisionModel RandomDemo(int seed = 0) => ModelZoo.Load("demo", new WeightsSource.Random(seed), Device.CPU);

    [Fact]
    public void Truncated_forward_gives_the_same_activations_as_the_full_forward()
    {
        using var model = RandomDemo();
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([2, 3, 64, 64], new Random(0));
        var full = model.Forward(x, model.OpNames);
        var fullNodes = ModelGraph.LastNodesEvaluated;
        foreach (var op in new[] { "conv1", "conv3", "conv5" })
        {
            var truncated = model.Forward(x, op);
            Assert.True(ModelGraph.LastNodesEvaluated < fullNodes, $"{op}: {ModelGraph.LastNodesEvaluated} nodes evaluated, full forward {fullNodes}");
            Assert.Equal(full[op].data<float>(), truncated.data<float>());
        }
    }

    [Fact]
    public void Descriptor_lists_ops_channels_sizes_and_edges()
    {
        using var model = RandomDemo();
        var d = model.Describe();
        Assert.Equal(["conv1", "conv2", "conv3", "conv4", "conv5", "logits"], d.Ops.Select(o => o.Name));
        Assert.Equal([16, 32, 48, 64, 64, ProceduralImages.ClassCount], d.Ops.Select(o => o.Channels));
        Assert.Equal([64, 32, 16, 8, 8, 1], d.Ops.Select(o => o.Height));
        Assert.Equal(["input"], d.Ops[0].Inputs);
        Assert.Equal(["conv4"], d.Ops[4].Inputs);
        Assert.Equal(16 + 32 + 48 + 64 + 64 + 10, d.UnitCount);
        Assert.Equal(3 * 16 * 9 + 16 + 16 * 32 * 9 + 32 + 32 * 48 * 9 + 48 + 48 * 64 * 9 + 64 + 64 * 64 * 9 + 64 + 64 * 10 + 10, d.ParameterCount);
        Assert.True(d.RandomWeights);
    }

    [Fact]
    public void Ops_resolve_by_alias_and_unknown_ops_suggest_near_names()
    {
        using var model = RandomDemo();
        Assert.Equal("conv3", model.ResolveOp("conv3_0"));
        var e = Assert.Throws<UnknownNameException>(() => model.ResolveOp("conv33"));
        Assert.Contains("no op 'conv33'", e.Message);
        Assert.Contains("'conv3'", e.Message);
        var m = Assert.Throws<UnknownNameException>(() => ModelZoo.CreateArchitecture("dmeo"));
        Assert.Contains("'demo'", m.Message);
    }

    [Fact]
    public void Weights_round_trip_through_safetensors_and_the_version_is_their_content_hash()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ms-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var a = RandomDemo(1);
            Safetensors.Write(path, a.Parameters.Export());
            using var b = ModelZoo.Load("demo", new WeightsSource.File(path), Device.CPU);
            using var c = RandomDemo(2);
            Assert.Equal(a.Parameters.ContentHash(), b.Version);
            Assert.Matches("^[0-9a-f]{12}$", b.Version!);
            Assert.NotEqual(a.Parameters.ContentHash(), c.Parameters.ContentHash());
            Assert.False(b.RandomWeights);
            Assert.Equal(a.Parameters["conv2.weight"].data<float>(), b.Parameters["conv2.weight"].data<float>());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Strict_loading_names_missing_extra_and_misshaped_tensors()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ms-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var a = RandomDemo();
            var arrays = a.Parameters.Export().Where(t => t.Name != "conv4.bias")
                .Select(t => t.Name == "conv2.weight" ? t with { Shape = [32, 16, 9], } : t)
                .Append(new NamedArray("fc9.weight", [2], [1f, 2f]))
                .ToList();
            Safetensors.Write(path, arrays);
            var e = Assert.Throws<InvalidDataException>(() => ModelZoo.Load("demo", new WeightsSource.File(path), Device.CPU));
            Assert.Contains("missing tensor(s): conv4.bias", e.Message);
            Assert.Contains("unexpected tensor(s): fc9.weight", e.Message);
            Assert.Contains("'conv2.weight' has shape [32, 16, 9], expected [32, 16, 3, 3]", e.Message);

            File.WriteAllText(path, "this is not a safetensors file");
            Assert.Throws<InvalidDataException>(() => ModelZoo.Load("demo", new WeightsSource.File(path), Device.CPU));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Shipped_demo_weights_classify_held_out_procedural_images()
    {
        using var model = ModelZoo.Load("demo", new WeightsSource.Shipped(), Device.CPU);
        Assert.False(model.RandomWeights);
        var accuracy = DemoTrainer.Accuracy(model, DemoTrainer.HeldOutSeedOffset, 500);
        Assert.True(accuracy > 0.85, $"held-out accuracy {accuracy:P1}");
    }

    [Fact]
    public void Preprocessing_matches_its_formula()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor([0.1f, 0.5f, 0.9f], [1, 3, 1, 1]);
        AssertClose([25.5 - 117, 127.5 - 117, 229.5 - 117], Preprocessing.Lucid.Apply(x).data<float>());
        AssertClose([229.5 - 103.939, 127.5 - 116.779, 25.5 - 123.68], Preprocessing.CaffeBgr.Apply(x).data<float>());
        AssertClose([-0.8, 0.0, 0.8], Preprocessing.SignedUnit.Apply(x).data<float>());
    }

    private static void AssertClose(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 3);
    }
}

public class DemoTrainingTests
{
    [Fact]
    public void Training_is_reproducible_from_its_seed()
    {
        var options = new DemoTrainingOptions { Seed = 7, Steps = 12, BatchSize = 16, HeldOutImages = 50 };
        var (a, ra) = DemoTrainer.Train(options);
        var (b, rb) = DemoTrainer.Train(options);
        var (c, rc) = DemoTrainer.Train(options with { Seed = 8 });
        using (a) using (b) using (c)
        {
            Assert.Equal(ra.Version, rb.Version);
            Assert.NotEqual(ra.Version, rc.Version);
            Assert.False(a.RandomWeights);
        }
    }
}
