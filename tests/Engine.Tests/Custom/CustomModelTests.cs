using Microscope.Engine.Demo;
using Microscope.Engine.Models;
using Microscope.Engine.Models.Custom;
using Microscope.Engine.Tests.Zoo;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests.Custom;

/// <summary>Bring your own model: a user's PyTorch module exported by tools/export_model.py
/// runs in our engine with PyTorch's activations; the demo model written as a spec is the
/// demo model; bad specs are refused with the problem named.</summary>
public class CustomModelTests
{
    private static string Reference => Path.Combine(ZooConverterTests.Root(), "tests", "Engine.Tests", "Custom", "custom_reference.py");
    private static string Exporter => Path.Combine(ZooConverterTests.Root(), "tools", "export_model.py");

    [Theory]
    [InlineData("TinyNet", "stem.0,block.conv1,block.conv2,add,branch_a,branch_b.0,branch_b.2,cat,head.3")]
    [InlineData("ViewNet", "conv,fc")]
    public void An_exported_pytorch_model_gives_pytorchs_activations_at_every_op(string net, string ops)
    {
        var dir = Directory.CreateTempSubdirectory("ms-custom-").FullName;
        try
        {
            ZooConverterTests.Run(Reference, [net, "0", dir]);
            using var model = ModelZoo.Load(Path.Combine(dir, "net.model.json"), new WeightsSource.File(Path.Combine(dir, "net.safetensors")), Device.CPU);
            Assert.Equal(ops.Split(','), model.OpNames);
            var reference = Safetensors.Read(Path.Combine(dir, "activations.safetensors")).ToDictionary(a => a.Name);
            ZooParityTests.AssertOpsMatch(model, reference, 1e-5, net, "pytorch");
            if (net == "TinyNet")
            {
                var cat = model.Describe().Ops.Single(o => o.Name == "cat");
                Assert.Equal((16, 16, 16), (cat.Channels, cat.Height, cat.Width));
                Assert.Equal(["branch_a", "branch_b.2"], cat.Inputs);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void The_exporter_refuses_a_layer_it_cannot_run_and_names_it()
    {
        var dir = Directory.CreateTempSubdirectory("ms-custom-").FullName;
        try
        {
            var model = Path.Combine(ZooConverterTests.Root(), "tests", "Engine.Tests", "Custom", "user_model.py");
            var (code, output) = ZooConverterTests.Run(Exporter, [model + ":WithUnsupportedLayer", "--name", "bad", "--input-size", "32", "--out", dir], expectSuccess: false);
            Assert.NotEqual(0, code);
            Assert.Contains("act: GELU is not a layer Microscope runs", output);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>DemoNet's architecture as a spec (the layer names are its parameter names).</summary>
    private static string DemoSpec(int conv3Padding = 1) => $$"""
        {
          "format": "microscope-model/1", "name": "demo-as-spec", "dataset": "procedural shapes", "inputSize": 64,
          "preprocessing": { "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25] },
          "layers": [
            { "name": "conv1", "type": "conv", "input": "input", "out": 16, "kernel": 3, "padding": 1, "op": true },
            { "name": "relu1", "type": "relu", "input": "conv1" },
            { "name": "pool1", "type": "maxpool", "input": "relu1", "kernel": 2, "stride": 2 },
            { "name": "conv2", "type": "conv", "input": "pool1", "out": 32, "kernel": 3, "padding": 1, "op": true },
            { "name": "relu2", "type": "relu", "input": "conv2" },
            { "name": "pool2", "type": "maxpool", "input": "relu2", "kernel": 2, "stride": 2 },
            { "name": "conv3", "type": "conv", "input": "pool2", "out": 48, "kernel": 3, "padding": {{conv3Padding}}, "op": true },
            { "name": "relu3", "type": "relu", "input": "conv3" },
            { "name": "pool3", "type": "maxpool", "input": "relu3", "kernel": 2, "stride": 2 },
            { "name": "conv4", "type": "conv", "input": "pool3", "out": 64, "kernel": 3, "padding": 1, "op": true },
            { "name": "relu4", "type": "relu", "input": "conv4" },
            { "name": "conv5", "type": "conv", "input": "relu4", "out": 64, "kernel": 3, "padding": 1, "op": true },
            { "name": "relu5", "type": "relu", "input": "conv5" },
            { "name": "gap", "type": "globalavgpool", "input": "relu5" },
            { "name": "logits", "type": "linear", "input": "gap", "out": 10, "op": true }
          ]
        }
        """;

    [Fact]
    public void The_demo_model_written_as_a_spec_is_the_demo_model()
    {
        using var demo = ModelZoo.Load("demo", new WeightsSource.Shipped(), Device.CPU);
        var weights = Path.GetTempFileName();
        try
        {
            Safetensors.Write(weights, demo.Parameters.Export());
            using var mine = new CustomModel(ModelSpec.Parse(DemoSpec(), "test"));
            mine.LoadWeights(new WeightsSource.File(weights), Device.CPU);

            Assert.Equal(demo.OpNames, mine.OpNames);
            Assert.Equal(demo.Describe().Ops.Select(o => (o.Name, o.Channels, o.Height, o.Width)), mine.Describe().Ops.Select(o => (o.Name, o.Channels, o.Height, o.Width)));
            Assert.Equal(demo.Parameters.ParameterCount, mine.Parameters.ParameterCount);
            foreach (var op in demo.OpNames) Assert.Equal(demo.ReceptiveFieldOf(op), mine.ReceptiveFieldOf(op));

            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var pixels = new float[2 * 3 * 64 * 64];
            var rng = new Random(3);
            for (var i = 0; i < pixels.Length; i++) pixels[i] = rng.NextSingle();
            using var rgb = torch.tensor(pixels, [2, 3, 64, 64]);
            var a = demo.Forward(demo.Preprocessing.Apply(rgb), demo.OpNames);
            var b = mine.Forward(mine.Preprocessing.Apply(rgb), mine.OpNames);
            foreach (var op in demo.OpNames) Assert.Equal(a[op].data<float>(), b[op].data<float>());
            // Same weights, same layers: a version of its own (the spec is part of it), stable.
            Assert.NotEqual(demo.Version, mine.Version);
            using var again = new CustomModel(ModelSpec.Parse(DemoSpec(), "again"));
            again.LoadWeights(new WeightsSource.File(weights), Device.CPU);
            Assert.Equal(mine.Version, again.Version);
            using var edited = new CustomModel(ModelSpec.Parse(DemoSpec(conv3Padding: 0), "edited"));
            edited.LoadWeights(new WeightsSource.File(weights), Device.CPU);
            Assert.NotEqual(mine.Version, edited.Version);
            // Loading again replaces the weights and the version with them.
            again.LoadWeights(new WeightsSource.Random(1), Device.CPU);
            Assert.Equal((true, "random-1"), (again.RandomWeights, again.Version));
            again.LoadWeights(new WeightsSource.File(weights), Device.CPU);
            Assert.Equal((false, mine.Version), (again.RandomWeights, again.Version));
        }
        finally { File.Delete(weights); }
    }

    [Theory]
    [InlineData("model", "\"format\": \"microscope-model/2\"", "\"format\" is 'microscope-model/2'")]
    [InlineData("model", "\"name\": \"My Net\"", "\"name\" 'My Net' must be 1-64 lower-case letters")]
    [InlineData("layer x", "\"strid\": 2", "strid")]
    [InlineData("layer x", "\"type\": \"gelu\"", "layer 'x': unknown type 'gelu'; known: conv, linear")]
    [InlineData("layer x", "\"input\": \"conv9\"", "layer 'x': input 'conv9' is not an earlier layer")]
    [InlineData("layer x", "\"in\": 4", "layer 'x': \"in\" is 4 but its input 'conv1' has 16 channels")]
    [InlineData("layer x", "\"groups\": 3", "layer 'x': 3 groups do not divide 16 input and 8 output channels")]
    [InlineData("layer x", "\"name\": \"conv1\"", "layer 'conv1': the name is used twice")]
    [InlineData("layer x", "\"name\": \"a/b\"", "layer 'a/b': a name must be non-empty, without '/'")]
    public void A_bad_spec_is_refused_with_the_problem_named(string changed, string change, string message)
    {
        // A valid two-layer spec with one field of layer 'x' (or of the model) changed.
        var x = new Dictionary<string, string> { ["name"] = "\"x\"", ["type"] = "\"conv\"", ["input"] = "\"conv1\"", ["out"] = "8", ["kernel"] = "3", ["op"] = "true" };
        var top = new Dictionary<string, string> { ["format"] = "\"microscope-model/1\"", ["name"] = "\"mynet\"", ["inputSize"] = "32" };
        var (key, value) = (change[1..change.IndexOf('"', 1)], change[(change.IndexOf(':') + 1)..].Trim());
        (changed == "model" ? top : x)[key] = value;
        static string Obj(Dictionary<string, string> d) => "{" + string.Join(", ", d.Select(p => $"\"{p.Key}\": {p.Value}")) + "}";
        top["layers"] = $"[{{\"name\": \"conv1\", \"type\": \"conv\", \"input\": \"input\", \"out\": 16, \"kernel\": 3}}, {Obj(x)}]";
        var e = Assert.Throws<InvalidDataException>(() => ModelSpec.Parse(Obj(top), "mynet.model.json"));
        Assert.Contains("model spec 'mynet.model.json' is not valid", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_spec_are_refused_by_tensor_name()
    {
        using var demo = ModelZoo.Load("demo", new WeightsSource.Shipped(), Device.CPU);
        var weights = Path.GetTempFileName();
        try
        {
            Safetensors.Write(weights, demo.Parameters.Export().Where(a => a.Name != "conv4.bias"));
            using var mine = new CustomModel(ModelSpec.Parse(DemoSpec(), "test"));
            var e = Assert.Throws<InvalidDataException>(() => mine.LoadWeights(new WeightsSource.File(weights), Device.CPU));
            Assert.Contains("missing tensor(s): conv4.bias", e.Message);
        }
        finally { File.Delete(weights); }
    }

    [Fact]
    public void A_registered_spec_is_a_model_by_name_and_cannot_take_a_zoo_name()
    {
        ModelZoo.Register(ModelSpec.Parse(DemoSpec(), "test"));
        Assert.Contains("demo-as-spec", ModelZoo.Names);
        using (var model = ModelZoo.CreateArchitecture("demo-as-spec")) Assert.Equal(5 + 1, model.OpNames.Count);
        var e = Assert.Throws<InvalidDataException>(() => ModelZoo.Register(ModelSpec.Parse(DemoSpec().Replace("demo-as-spec", "vgg19", StringComparison.Ordinal), "zoo.model.json")));
        Assert.Contains("'vgg19' is a built-in model", e.Message);
    }
}
