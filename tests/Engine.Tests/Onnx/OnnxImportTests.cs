using Google.Protobuf;
using Microscope.Engine.Models;
using Microscope.Engine.Models.Onnx;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests.Onnx;

/// <summary>The importer beyond parity: gradients reach the input, the batch stays dynamic
/// after shape folding, names and sidecars, versions, and clear refusals of bad files.</summary>
public class OnnxImportTests
{
    private static OnnxModel Load(string name, string? sidecar = null)
    {
        var model = new OnnxModel(OnnxTestModels.Get(name), sidecar);
        model.LoadWeights(new WeightsSource.Shipped(), Device.CPU);
        return model;
    }

    /// <summary>d(sum(w * op))/d(input) from autograd against central differences at every
    /// input element (every 16th of the larger model's), with the imported weights in float64.</summary>
    [Theory]
    [InlineData("tiny", "Sub")]
    [InlineData("tiny", "output")]
    [InlineData("legacy", "clip")]
    [InlineData("legacy", "output")]
    public void Gradients_through_the_imported_graph_match_finite_differences(string name, string op)
    {
        using var model = Load(name);
        model.Parameters.ConvertTo(ScalarType.Float64);
        GradientCheck.Check([1, 3, model.InputSize, model.InputSize], x => model.Forward(x, op), seed: 3, sample: 192);
    }

    /// <summary>Traced at batch 1 with torch's shape arithmetic (Shape, Gather, Concat, Reshape
    /// for the flatten; ConstantOfShape, Slice, Transpose for the pads): a batch of 3 gives
    /// what 3 batches of 1 give.</summary>
    [Fact]
    public void The_batch_stays_dynamic_after_shape_folding()
    {
        using var model = Load("tiny");
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var size = model.InputSize;
        var images = Enumerable.Range(0, 3).Select(s => GradientCheck.Random(3 * size * size, seed: 10 + s).Select(v => (float)v).ToArray()).ToList();
        var batch = model.Forward(torch.tensor(images.SelectMany(i => i).ToArray(), [3, 3, size, size]), "output").data<float>();
        var singles = images.SelectMany(i => model.Forward(torch.tensor(i, [1, 3, size, size]), "output").data<float>()).ToArray();
        Assert.Equal(singles.Length, batch.Length);
        for (var i = 0; i < batch.Length; i++) Assert.True(Math.Abs(batch[i] - singles[i]) < 1e-5, $"output {i}: batch {batch[i]}, single {singles[i]}");
    }

    [Fact]
    public void Ops_answer_to_their_onnx_node_and_output_names_and_the_sidecar_names_and_sweeps_them()
    {
        var dir = Directory.CreateTempSubdirectory("ms-onnx-").FullName;
        try
        {
            var path = Path.Combine(dir, "Tiny Net.onnx");
            File.Copy(OnnxTestModels.Get("tiny"), path);
            using (var plain = new OnnxModel(path))
            {
                Assert.Equal("tiny_net", plain.Name);
                // torch.onnx names nodes "/conv1/Conv"; links need no leading slash.
                Assert.Equal("conv1/Conv", plain.ResolveOp("/conv1/Conv_output_0"));
                Assert.Equal("conv1/Conv", plain.ResolveOp("/conv1/Conv"));
                Assert.Equal("Softmax", plain.ResolveOp("output"));
            }
            var sidecar = OnnxSidecar.PathBeside(path);
            File.WriteAllText(sidecar, """
                { "name": "tiny", "dataset": "noise", "ops": [
                    { "node": "/conv1/Conv", "name": "stem", "aliases": ["first"] },
                    { "node": "/Sub_output_0", "name": "mixed" } ] }
                """);
            using var named = new OnnxModel(path);
            Assert.Equal("tiny", named.Name);
            Assert.Equal("noise", named.Dataset);
            Assert.Equal(["stem", "mixed"], named.SweptOps);
            Assert.Equal("stem", named.ResolveOp("first"));
            Assert.Equal("stem", named.ResolveOp("/conv1/Conv"));
            named.LoadWeights(new WeightsSource.Shipped(), Device.CPU);
            var ops = named.Describe().Ops;
            Assert.True(ops.Single(o => o.Name == "stem").InSweep);
            Assert.False(ops.Single(o => o.Name == "prelu/PRelu").InSweep);
            Assert.Equal((8, 16, 16), ops.Single(o => o.Name == "stem") is var s ? (s.Channels, s.Height, s.Width) : default);

            // The version is the content of the file and its sidecar.
            var version = named.Version;
            File.WriteAllText(sidecar, File.ReadAllText(sidecar).Replace("noise", "static", StringComparison.Ordinal));
            Assert.NotEqual(version, OnnxModel.Validate(path).Version);
            Assert.Equal(OnnxModel.Validate(path).Version, OnnxModel.Validate(path).Version);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_registered_onnx_model_and_an_onnx_path_load_like_zoo_models()
    {
        var path = OnnxTestModels.Get("legacy");
        ModelZoo.Register("legacy-test", path);
        try
        {
            Assert.Contains("legacy-test", ModelZoo.Names);
            using var registered = ModelZoo.Load("legacy-test", new WeightsSource.Shipped(), Device.CPU);
            using var byPath = ModelZoo.Load(path, new WeightsSource.Shipped(), Device.CPU);
            Assert.Equal("legacy-test", registered.Name);
            Assert.Equal("legacy", byPath.Name);
            Assert.Equal(registered.Version, byPath.Version);
            Assert.Equal(registered.OpNames, byPath.OpNames);
            Assert.False(registered.RandomWeights);
            Assert.Throws<InvalidDataException>(() => ModelZoo.Register("resnet18", path));
        }
        finally { ModelZoo.Unregister("legacy-test"); }
        Assert.DoesNotContain("legacy-test", ModelZoo.Names);
    }

    [Theory]
    [InlineData("not-onnx", "is not an ONNX model")]
    [InlineData("truncated", "is truncated")]
    [InlineData("unsupported", "op 'Einsum' (node 'lrn'): the operator is not supported")]
    [InlineData("latent", "no usable image input")]
    [InlineData("two-inputs", "no usable image input")]
    [InlineData("too-large", "is too large")]
    [InlineData("external", "external file")]
    [InlineData("empty", "the file is empty")]
    public void Bad_files_are_refused_naming_the_problem(string kind, string message)
    {
        var dir = Directory.CreateTempSubdirectory("ms-onnx-").FullName;
        try
        {
            var good = OnnxTestModels.Get("legacy");
            var path = Path.Combine(dir, "bad.onnx");
            var model = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(good));
            long maxBytes = OnnxModel.DefaultMaxBytes;
            switch (kind)
            {
                case "not-onnx": File.WriteAllText(path, "name,value\nconv1,3\n"); break;
                case "truncated": File.WriteAllBytes(path, File.ReadAllBytes(good)[..(int)(new FileInfo(good).Length / 2)]); break;
                case "empty": File.WriteAllBytes(path, []); break;
                case "too-large": File.Copy(good, path); maxBytes = 1000; break;
                case "unsupported":
                    model.Graph.Node.Single(n => n.Name == "lrn").OpType = "Einsum";
                    File.WriteAllBytes(path, model.ToByteArray());
                    break;
                case "latent":
                    var dims = model.Graph.Input[0].Type.TensorType.Shape.Dim;
                    dims.Clear();
                    dims.Add(new global::Onnx.TensorShapeProto.Types.Dimension { DimValue = 1 });
                    dims.Add(new global::Onnx.TensorShapeProto.Types.Dimension { DimValue = 100 });
                    File.WriteAllBytes(path, model.ToByteArray());
                    break;
                case "two-inputs":
                    model.Graph.Input.Add(model.Graph.Input[0].Clone());
                    model.Graph.Input[1].Name = "image2";
                    File.WriteAllBytes(path, model.ToByteArray());
                    break;
                case "external":
                    var w = model.Graph.Initializer.Single(i => i.Name == "w");
                    w.DataLocation = global::Onnx.TensorProto.Types.DataLocation.External;
                    File.WriteAllBytes(path, model.ToByteArray());
                    break;
            }
            var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Validate(path, maxBytes: maxBytes));
            Assert.Contains(message, e.Message);
            if (kind == "latent") Assert.Contains("GAN generator", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
