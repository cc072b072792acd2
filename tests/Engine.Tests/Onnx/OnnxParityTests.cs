using Microscope.Engine.Models;
using Microscope.Engine.Models.Onnx;
using Microscope.Engine.Torch;
using Xunit.Abstractions;

namespace Microscope.Engine.Tests.Onnx;

/// <summary>The importer computes what ONNX Runtime computes, at every addressable op: for
/// torchvision classifiers exported by torch.onnx (opsets 9-17, seeded random weights, batch
/// norms with non-trivial statistics), hand-written older spellings, and NuGet's trained
/// ResNet-18 (CNTK, opset 8). max |ours - ORT| / max |ORT| at every op stays under 1e-4.
/// The swept-op counts pin the default rule: VGG16's 13 conv ReLUs, ResNet-50's 16 block
/// outputs, GoogLeNet's 9 and InceptionV3's 11 concats, DenseNet-121's 62 concats and final ReLU...</summary>
public class OnnxParityTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("tiny", 1)]
    [InlineData("legacy", 1)]
    [InlineData("squeezenet1_1", 9)]
    [InlineData("googlenet", 9)]
    [InlineData("mobilenet_v2", 11)]
    [InlineData("mobilenet_v3_small", 7)]
    [InlineData("efficientnet_b0", 10)]
    [InlineData("densenet121", 63)]
    [InlineData("resnet50", 16)]
    [InlineData("inception_v3", 11)]
    [InlineData("alexnet", 5)]
    [InlineData("vgg16", 13)]
    public void Every_op_matches_onnx_runtime(string name, int swept)
    {
        var path = OnnxTestModels.Get(name);
        using var model = new OnnxModel(path);
        model.LoadWeights(new WeightsSource.Shipped(), Device.CPU);
        AssertMatches(model, path, Input(model.InputSize, seed: 1, scale: 1, shift: 0));
        // The default swept set (docs/models.md): block outputs, else conv activations, plus the
        // last conv block's output.
        Assert.Equal(swept, model.SweptOps.Count);
    }

    [Fact]
    public void Every_op_of_the_trained_resnet18_matches_onnx_runtime()
    {
        using var model = (OnnxModel)ModelZoo.Load("resnet18", new WeightsSource.Shipped(), Device.CPU);
        // The graph's own input space: BGR 0-255 minus the mean image.
        AssertMatches(model, model.OnnxPath, Input(224, seed: 2, scale: 255, shift: -120));
    }

    private static float[] Input(int size, int seed, double scale, double shift)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, 3 * size * size).Select(_ => (float)(rng.NextDouble() * scale + shift)).ToArray();
    }

    private void AssertMatches(OnnxModel model, string path, float[] input)
    {
        long[] shape = [1, 3, model.InputSize, model.InputSize];
        var values = model.OpNames.ToDictionary(op => op, model.OnnxValueOf);
        var inputName = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Input
            .First(i => i.Type.TensorType.Shape.Dim.Count == 4).Name;
        var reference = OnnxRuntimeOracle.Run(path, inputName, shape, input, values.Values.Distinct().ToList());

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ours = model.Forward(torch.tensor(input, shape), model.OpNames);
        var worst = 0.0;
        foreach (var op in model.OpNames)
        {
            var (refShape, expected) = reference[values[op]];
            Assert.Equal(refShape, ours[op].shape);
            var actual = ours[op].data<float>();
            double maxDiff = 0, maxRef = 0;
            for (var i = 0; i < actual.Length; i++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - expected[i]));
                maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
            }
            var relative = maxRef > 0 ? maxDiff / maxRef : maxDiff;
            worst = Math.Max(worst, relative);
            Assert.True(relative < Tolerance, $"{model.Name}/{op}: max |ours - ORT| = {maxDiff:G3}, max |ORT| = {maxRef:G3}");
        }
        output.WriteLine($"{model.Name}: {model.OpNames.Count} ops ({model.SweptOps.Count} swept), worst relative difference {worst:G3}");
    }
}
