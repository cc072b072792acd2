using Microscope.Engine.Models;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests.Zoo;

/// <summary>Independent parity: torchvision (Debian's python3-torchvision 0.14 on
/// python3-torch 1.13, called as /usr/bin/python3) builds VGG19 and InceptionV3 with seeded
/// weights; tools/parity_reference.py converts them to our layout with the same code the
/// operators' converter uses, and saves a seeded input and the activation at every catalogue
/// op. We load the weights strictly, run the same input and compare every op: the largest
/// absolute difference over the largest reference magnitude stays under 1e-4.
/// The other six models have no independent implementation on the build machine
/// (inceptionv1 is lucid's variant, AlexNet Caffe's grouped layout, InceptionV4 and
/// ResNetV2 TF-slim's); docs/models.md says so.</summary>
public class ZooParityTests
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("vgg19")]
    [InlineData("inceptionv3")]
    public void Every_op_matches_torchvision(string slug)
    {
        var dir = Directory.CreateTempSubdirectory("ms-parity-").FullName;
        try
        {
            RunReference(slug, dir);
            using var model = ModelZoo.Load(slug, new WeightsSource.File(Path.Combine(dir, "weights.safetensors")), Device.CPU);
            var reference = Safetensors.Read(Path.Combine(dir, "activations.safetensors")).ToDictionary(a => a.Name);
            Assert.Equal(model.OpNames.Order(StringComparer.Ordinal), reference.Keys.Where(k => k != "input").Order(StringComparer.Ordinal));

            AssertOpsMatch(model, reference, Tolerance, slug, "torchvision");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>Runs the reference's "input" through the model and requires, at every op,
    /// max |ours - reference| / max |reference| below the tolerance.</summary>
    internal static void AssertOpsMatch(VisionModel model, IReadOnlyDictionary<string, NamedArray> reference, double tolerance, string label, string referenceName)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var input = reference["input"];
        var ours = model.Forward(torch.tensor(input.Data, input.Shape), model.OpNames);
        foreach (var op in model.OpNames)
        {
            var expected = reference[op];
            Assert.Equal(expected.Shape, ours[op].shape);
            var actual = ours[op].data<float>();
            double maxDiff = 0, maxRef = 0;
            for (var i = 0; i < actual.Length; i++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - expected.Data[i]));
                maxRef = Math.Max(maxRef, Math.Abs(expected.Data[i]));
            }
            Assert.True(maxRef > 0, $"{label}/{op}: the reference activation is all zeros (a useless comparison)");
            Assert.True(maxDiff / maxRef < tolerance, $"{label}/{op}: max |ours - {referenceName}| = {maxDiff:G3}, max |{referenceName}| = {maxRef:G3}");
        }
    }

    private static void RunReference(string slug, string dir)
    {
        Assert.True(File.Exists("/usr/bin/python3"), "/usr/bin/python3 is missing: scripts/install-deps.sh installs python3-torch and python3-torchvision");
        ZooConverterTests.Run(Path.Combine(ZooConverterTests.Root(), "tools", "parity_reference.py"), [slug, "0", dir]);
    }
}
