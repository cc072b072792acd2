using System.Text.Json.Nodes;
using Microscope.Engine.Imaging;
using Microscope.Engine.Lenses;
using Microscope.Engine.Models;
using Microscope.Engine.Models.Onnx;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests.Onnx;

/// <summary>Generators (a latent vector in, an image out: tools/export_generators.py's seeded
/// DCGANs) and ConvTranspose: the imported graphs match ONNX Runtime and finite differences,
/// the input is recognised as a latent, and the lens optimises the latent under its prior.</summary>
public class GeneratorTests
{
    private const double Tolerance = 1e-4;
    private const string Relu = "net/net.5/Relu";   // dcgan: the second block's ReLU, 16 channels at 8 x 8

    /// <summary>A generator test model by name, or an .onnx path (with its sidecar beside it).</summary>
    private static OnnxModel Load(string name)
    {
        var model = new OnnxModel(name.EndsWith(".onnx", StringComparison.Ordinal) ? name : OnnxTestModels.Generator(name));
        model.LoadWeights(new WeightsSource.Shipped(), Device.CPU);
        return model;
    }

    /// <summary>Every op (each ConvTranspose variant; each generator layer from a latent drawn
    /// from the prior) against ONNX Runtime: max |ours - ORT| / max |ORT| under 1e-4.</summary>
    [Theory]
    [InlineData("convtranspose", 7)]
    [InlineData("dcgan", 11)]
    [InlineData("dcgan_fc", 9)]
    public void Every_op_matches_onnx_runtime(string name, int ops)
    {
        var path = OnnxTestModels.Generator(name);
        using var model = Load(name);
        Assert.Equal(ops, model.OpNames.Count);
        long[] shape = model.Latent is { } latent ? [1, .. latent.Shape] : [1, 3, model.InputSize, model.InputSize];
        var rng = new Random(4);
        var input = Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(rng.NextDouble() * 2 - 1) * 1.5f).ToArray();
        var values = model.OpNames.ToDictionary(op => op, model.OnnxValueOf);
        var reference = OnnxRuntimeOracle.Run(path, name == "convtranspose" ? "image" : "z", shape, input, values.Values.Distinct().ToList());

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ours = model.Forward(torch.tensor(input, shape), model.OpNames);
        foreach (var op in model.OpNames)
        {
            var (refShape, expected) = reference[values[op]];
            Assert.Equal(refShape, ours[op].shape);
            var actual = ours[op].data<float>();
            var maxDiff = actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max();
            var maxRef = expected.Max(Math.Abs);
            Assert.True(maxDiff <= Tolerance * maxRef, $"{name}/{op}: max |ours - ORT| = {maxDiff:G3}, max |ORT| = {maxRef:G3}");
        }
    }

    [Theory]
    [InlineData("convtranspose", "output_padding")]
    [InlineData("convtranspose", "groups_asymmetric")]
    [InlineData("convtranspose", "dilated")]
    [InlineData("convtranspose", "same_lower")]
    [InlineData("convtranspose", "output_shape")]
    [InlineData("dcgan", Relu)]
    public void Gradients_through_transposed_convolutions_match_finite_differences(string name, string op)
    {
        using var model = Load(name);
        model.Parameters.ConvertTo(ScalarType.Float64);
        long[] shape = model.Latent is { } latent ? [1, .. latent.Shape] : [1, 3, model.InputSize, model.InputSize];
        GradientCheck.Check(shape, x => model.Forward(x, op), seed: 5, sample: 64);
    }

    [Fact]
    public void A_latent_input_is_recognised_and_described_and_a_sidecar_can_declare_it()
    {
        using (var dcgan = Load("dcgan"))
        {
            var latent = dcgan.Latent!;
            Assert.Equal([16L, 1, 1], latent.Shape);
            Assert.Equal("net/net.10/Tanh", latent.ImageNode);
            Assert.Equal((-1.0, 1.0), (latent.Low, latent.High));
            Assert.Equal(32, dcgan.InputSize);
            // The default sweep: each activation after a transposed convolution, and the image.
            Assert.Equal(["net/net.2/Relu", "net/net.5/Relu", "net/net.8/Relu", "net/net.10/Tanh"], dcgan.SweptOps);
            Assert.Equal((16, 8, 8), dcgan.Describe().Ops.Single(o => o.Name == Relu) is var r ? (r.Channels, r.Height, r.Width) : default);
        }
        using (var flat = Load("dcgan_fc"))
        {
            Assert.Equal([24L], flat.Latent!.Shape);
            Assert.Equal(16, flat.InputSize);
            Assert.Equal(256, flat.Describe().Ops.Single(o => o.Name == "fc/Gemm").Channels);
        }

        var dir = Directory.CreateTempSubdirectory("ms-gen-").FullName;
        try
        {
            var path = Path.Combine(dir, "gen.onnx");
            File.Copy(OnnxTestModels.Generator("dcgan"), path);
            File.WriteAllText(OnnxSidecar.PathBeside(path), """{ "latent": { "priorWeight": 0.5, "output": "image", "range": [0, 4] } }""");
            using var declared = Load(path);
            Assert.Equal(("net/net.10/Tanh", 0.5, 4.0), (declared.Latent!.ImageNode, declared.Latent.PriorWeight, declared.Latent.High));
            File.WriteAllText(OnnxSidecar.PathBeside(path), """{ "latent": { "prior": "uniform" } }""");
            Assert.Contains("prior 'uniform' is not supported", Assert.Throws<InvalidDataException>(() => OnnxModel.Validate(path, OnnxSidecar.PathBeside(path))).Message);
            File.WriteAllText(OnnxSidecar.PathBeside(path), """{ "latent": { "output": "/net/net.0/ConvTranspose_output_0" } }""");
            Assert.Contains("is not a square image [N, 3, H, W]", Assert.Throws<InvalidDataException>(() => OnnxModel.Validate(path, OnnxSidecar.PathBeside(path))).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static readonly RenderParameters Quick = new() { Steps = 128, Size = 32, Seed = 3 };

    /// <summary>A unit's render drives its activation far above what latents drawn from the
    /// prior give it, keeps the latent near the prior's shell (|z| near sqrt(Z - 1)), and stores
    /// the generator's image of that latent.</summary>
    [Fact]
    public void Rendering_a_generator_unit_optimises_the_latent_under_its_prior()
    {
        using var model = Load("dcgan");
        // Each unit's activation (spatial mean) at 64 latents from the prior; the test takes
        // the first unit that any of them excites (random weights leave some ReLUs dead).
        float[] acts;
        using (torch.NewDisposeScope())
        using (torch.no_grad())
        {
            var z = torch.randn([64, 16, 1, 1], new Random(11));
            acts = model.Forward(z, Relu).mean([2, 3]).data<float>();
        }
        var unit = Enumerable.Range(0, 16).First(u => Enumerable.Range(0, 64).Any(i => acts[i * 16 + u] > 0));
        var prior = Enumerable.Range(0, 64).Select(i => (double)acts[i * 16 + unit]).ToArray();
        var result = Renderer.Render(model, new ChannelObjective(Relu, [unit]), 1, Quick, seeds: [(unit, 0)]);
        var image = result.Images.Single();
        var mean = prior.Average();
        var std = Math.Sqrt(prior.Average(v => (v - mean) * (v - mean)));
        // A linear unit peaks on the prior's shell at sqrt(Z) = 4 standard deviations.
        var norm = Math.Sqrt(image.Latent!.Sum(v => (double)v * v));
        Assert.True(image.ObjectiveEnd > mean + 3 * std && image.ObjectiveEnd > prior.Max(),
            $"unit {unit} rendered {image.ObjectiveEnd:F3} at |z| {norm:F2}; prior latents: mean {mean:F3}, std {std:F3}, max {prior.Max():F3}");
        Assert.True(image.ObjectiveEnd > image.ObjectiveStart);

        Assert.InRange(norm, 0.75 * Math.Sqrt(15), 1.3 * Math.Sqrt(15));

        // The stored picture is the generator's image of the latent, mapped from [-1, 1].
        using (torch.NewDisposeScope())
        using (torch.no_grad())
        {
            var generated = model.Generate(torch.tensor(image.Latent!, [1, 16, 1, 1])).data<float>();
            Assert.Equal(generated.Length, image.Pixels.Length);
            Assert.True(generated.Zip(image.Pixels, (a, b) => Math.Abs(a - b)).Max() < 1e-6);
            Assert.True(image.Pixels.Max() - image.Pixels.Min() > 0.2, "the image is flat");
        }
    }

    [Fact]
    public void A_generator_unit_renders_the_same_pixels_alone_and_packed()
    {
        using var model = Load("dcgan");
        var alone = LensRunner.Run(model, Relu, "channel", [6], Quick).Single();
        var packed = LensRunner.Run(model, Relu, "channel", [2, 6, 9], Quick)[1];
        Assert.Equal(6, packed.Unit);
        var a = ImageFile.Decode(alone.Files[0].Content).Pixels;
        var b = ImageFile.Decode(packed.Files[0].Content).Pixels;
        Assert.True(a.Zip(b, (x, y) => Math.Abs(x - y)).Max() <= 1.0 / 255 + 1e-6, "packing changed the pixels");
        Assert.Equal(alone.Record.ObjectiveEnd!.Value, packed.Record.ObjectiveEnd!.Value, 3);
        // The record keeps the optimised latent: the stored image is the generator's image of it.
        var latent = alone.Record.Images.Single().Latent!;
        Assert.Equal(16, latent.Count);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var regenerated = model.Generate(torch.tensor(latent.ToArray(), [1, 16, 1, 1])).data<float>();
        Assert.True(regenerated.Zip(a, (x, y) => Math.Abs(x - y)).Max() <= 1.0 / 255 + 1e-6, "the record's latent does not make the stored image");
    }

    /// <summary>The circuits' expanded weights through a transposed convolution (k 4, stride 2,
    /// pads 1): the centre output (4, 4) of net.3 reads inputs 1 and 2 of its 4 x 4 input along
    /// each axis, through kernel taps 3 and 1, so the table's 2 x 2 kernel is those taps of the
    /// ConvTranspose weight (C_in, C_out, kH, kW).</summary>
    [Fact]
    public void Expanded_weights_through_a_transposed_convolution_are_its_kernel_taps()
    {
        using var model = Load("dcgan");
        var table = Microscope.Engine.Circuits.ExpandedWeights.Compute(model, "net/net.3/ConvTranspose", "net/net.2/Relu");
        Assert.Equal((16, 32, 2, 2), (table.Units, table.FromUnits, table.KernelHeight, table.KernelWidth));
        var w = model.Parameters["net.3.weight"].data<float>();   // [32, 16, 4, 4]
        float Tap(int c, int u, int ky, int kx) => w[((c * 16 + u) * 4 + ky) * 4 + kx];
        foreach (var (u, c) in new[] { (0, 0), (5, 17), (15, 31) })
        {
            var k = table.Kernel(u, c).ToArray();
            Assert.Equal([Tap(c, u, 3, 3), Tap(c, u, 3, 1), Tap(c, u, 1, 3), Tap(c, u, 1, 1)], k, new FloatTolerance(1e-5f));
        }
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float v) => 0;
    }

    /// <summary>A generator's render applies no transforms, the prior's init std and no decay,
    /// whatever was given; its record (the JSON beside the image) shows those, under the same
    /// keys as an image model's record, which keeps the values given.</summary>
    [Fact]
    public void A_generator_render_records_the_settings_applied_not_those_given()
    {
        var given = Quick with { Steps = 4, LearningRate = 0.1, Transforms = true, InitStd = 0.3, Decay = 2, Thresholds = [2] };
        using var generator = Load("dcgan");
        var record = LensRunner.Run(generator, Relu, "channel", [6], given).Single().Record;
        Assert.Equal(given with { Transforms = false, InitStd = 1.0, Decay = 0 }, record.Parameters);
        var json = JsonNode.Parse(record.ToJson())!["parameters"]!.AsObject();
        Assert.False(json["transforms"]!.GetValue<bool>());
        Assert.Equal(1.0, json["init_std"]!.GetValue<double>());
        Assert.Equal(0.0, json["decay"]!.GetValue<double>());
        Assert.Equal(4, json["steps"]!.GetValue<int>());

        using var image = ModelZoo.Load("demo", new WeightsSource.Random(0), Device.CPU);
        var imageRecord = LensRunner.Run(image, "conv1", "channel", [0], given with { Size = 16 }).Single().Record;
        Assert.Equal(given with { Size = 16 }, imageRecord.Parameters);
        var imageJson = JsonNode.Parse(imageRecord.ToJson())!["parameters"]!.AsObject();
        Assert.Equal(json.Select(p => p.Key), imageJson.Select(p => p.Key));
    }

    [Theory]
    [InlineData("dataset_examples")]
    [InlineData("caricature")]
    [InlineData("tuning_curves")]
    public void Lenses_that_feed_images_are_refused_for_a_generator(string lens)
    {
        using var model = Load("dcgan");
        var e = Assert.Throws<ArgumentException>(() => LensRunner.Run(model, Relu, lens, [0], Quick));
        Assert.Contains($"{lens} feeds images to the model, but 'dcgan' is a generator whose input is a latent vector", e.Message);
        Assert.Contains("channel, neuron", e.Message);
    }
}
