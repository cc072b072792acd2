using System.Text;
using System.Text.Json;
using Microscope.Engine.Imaging;
using Microscope.Engine.Lenses;
using Microscope.Engine.Render;

namespace Microscope.Engine.Tests;

/// <summary>The lens registry, the one record format and "same seed, same pixels".</summary>
public class LensTests(DemoModelFixture demo) : IClassFixture<DemoModelFixture>
{
    private static readonly RenderParameters Tiny = new() { Steps = 12, Size = 32, Seed = 5 };

    [Theory]
    [InlineData(Precision.Fp32)]
    [InlineData(Precision.Bf16)]
    public void A_unit_renders_the_same_pixels_alone_and_at_any_position_of_a_batch(Precision precision)
    {
        var tiny = Tiny with { Precision = precision };
        static byte[] Rgb(LensResult r) => ImageFile.ToRgb24(ImageFile.Decode(r.Files[0].Content).Pixels, 32, 32);
        var alone = Rgb(LensRunner.Run(demo.Model, "conv3", "channel", [9], tiny).Single());
        var batch = LensRunner.Run(demo.Model, "conv3", "channel", [4, 17, 9, 30], tiny);
        var packed = Rgb(batch[2]);
        var differing = alone.Zip(packed).Count(x => Math.Abs(x.First - x.Second) > 1);
        Assert.True(differing == 0, $"{differing} of {alone.Length} bytes differ by more than 1/255 between unit 9 alone and at position 2 of 4");
        // The other units are other images (the check above could fail), and neuron too is packing-invariant.
        Assert.True(alone.Zip(Rgb(batch[0])).Count(x => Math.Abs(x.First - x.Second) > 8) > alone.Length / 4);
        var neuronAlone = Rgb(LensRunner.Run(demo.Model, "conv3", "neuron", [9], tiny).Single());
        var neuronPacked = Rgb(LensRunner.Run(demo.Model, "conv3", "neuron", [9, 4], tiny)[0]);
        Assert.True(neuronAlone.Zip(neuronPacked).All(x => Math.Abs(x.First - x.Second) <= 1));
    }

    [Fact]
    public void Image_seeds_depend_on_seed_unit_and_image_only()
    {
        Assert.Equal(ImageSeeds.Of(0, 9, 0), ImageSeeds.Of(0, 9, 0));
        var seeds = new[] { ImageSeeds.Of(0, 9, 0), ImageSeeds.Of(1, 9, 0), ImageSeeds.Of(0, 10, 0), ImageSeeds.Of(0, 9, 1), ImageSeeds.Transforms(0) };
        Assert.Equal(seeds.Length, seeds.Distinct().Count());
        Assert.Equal(2030348894, ImageSeeds.Of(0, 9, 0));   // fixed: stored renders depend on it
    }

    [Fact]
    public void Every_lens_writes_one_record_schema_naming_its_files()
    {
        Assert.Equal(LensRegistry.Names.Count, LensRegistry.Names.Distinct().Count());
        foreach (var lens in LensRegistry.All)
        {
            var units = lens.Kind == LensKind.Unit ? new[] { 3 } : lens.OpLevel ? [] : new[] { 3 };
            var args = lens.Parameters.Any(p => p.Name == "images") ? new Dictionary<string, string> { ["images"] = "2" }
                : lens is ObjectiveExpressionLens ? new Dictionary<string, string> { ["expression"] = "conv2:3" } : null;
            var result = LensRunner.Run(demo.Model, "conv2", lens.Name, units, Tiny with { Steps = 4 }, args, new LensData { ProceduralImages = 32 }).Single();
            var json = result.Outputs().Single(o => o.Suffix == ".json");
            var root = JsonDocument.Parse(json.Content).RootElement;
            foreach (var key in new[] { "format", "model", "version", "random_weights", "op", "technique", "lens_parameters", "parameters", "render_scheme", "device", "trajectory", "images", "files" })
                Assert.True(root.TryGetProperty(key, out _), $"{lens.Name}'s record has no '{key}'");
            var record = LensRecord.Parse(json.Content)!;
            Assert.Equal((2, "demo", "conv2", lens.Name, lens.OpLevel ? null : (int?)3), (record.Format, record.Model, record.Op, record.Technique, record.Unit));
            // Files stored under their own name (circuits' weight tables) are not beside the record.
            Assert.Equal(result.Files.Where(f => f.ModelKey is null).Select(f => f.Suffix), record.Files);
            Assert.Equal(lens.Files(lens.Arguments(args)).Select(f => f.Suffix), record.Files.Where(f => !f.Contains(".step")));
            Assert.Equal(lens is ObjectiveLens, record.ObjectiveEnd is not null);
            Assert.Equal(args ?? [], record.LensParameters);
        }
    }

    [Fact]
    public void Threshold_snapshots_are_files_of_the_result()
    {
        var result = LensRunner.Run(demo.Model, "conv2", "channel", [1], Tiny with { Steps = 6, Thresholds = [3] }).Single();
        Assert.Equal([".png", ".step3.png"], result.Files.Select(f => f.Suffix));
    }

    [Fact]
    public void Lens_parameters_are_typed_checked_and_canonical()
    {
        var diversity = LensRegistry.Get("diversity");
        var args = diversity.Arguments(new Dictionary<string, string> { ["images"] = "6", ["weight"] = "100.0" });
        Assert.Equal(6, args.Int("images"));
        Assert.Equal(new Dictionary<string, string> { ["images"] = "6" }, args.Given);   // the default weight is left out
        Assert.Contains("has no parameter 'image'", Assert.Throws<ArgumentException>(() => { diversity.Arguments(new Dictionary<string, string> { ["image"] = "6" }); }).Message);
        Assert.Contains("must be in 2..16, not 1", Assert.Throws<ArgumentException>(() => { diversity.Arguments(new Dictionary<string, string> { ["images"] = "1" }); }).Message);
        Assert.Contains("must be an integer, not 'six'", Assert.Throws<ArgumentException>(() => { diversity.Arguments(new Dictionary<string, string> { ["images"] = "six" }); }).Message);
        var parsed = LensParameterText.Parse(["images=3", "dataset_examples.top_k=8"], LensRegistry.Expand(["diversity", "caricature", "dataset_examples"]));
        Assert.Equal(["caricature", "dataset_examples", "diversity"], parsed.Keys.Order());
        Assert.Contains("no chosen technique has a parameter 'top_k'", Assert.Throws<ArgumentException>(() => LensParameterText.Parse(["top_k=3"], LensRegistry.Expand(["channel"]))).Message);
        // A runner given a bad parameter refuses before rendering.
        Assert.Throws<ArgumentException>(() => LensRunner.Run(demo.Model, "conv2", "diversity", [0], Tiny, new Dictionary<string, string> { ["images"] = "99" }));
    }

    [Fact]
    public void Records_of_the_earlier_formats_read_as_the_current_one()
    {
        // The worker's channel/neuron record before the registry (camelCase, one image).
        var worker = """
            {"schemaVersion":1,"model":"demo","version":"789b3a3d4cf0","op":"conv3","unit":9,"technique":"channel","objective":"channel(conv3, 9)",
             "paramsHash":"bbe0e052fa89","parameters":{"steps":4,"size":32,"seed":0,"learningRate":0.05,"transforms":true,"decay":1,"initStd":0.01,"thresholds":[]},
             "device":"cpu","batch":2,"objectiveStart":0.5,"objectiveEnd":2.5,"msPerStep":3.5,"totalMs":14,"trajectory":[1,2,2.5,2.5],
             "packetId":"6f1c1f8e-1d7e-4a38-9b55-3b8f6f1d2c11","tupleId":"0a9b3c6e-5d4f-4e2a-8c1b-7d6e5f4a3b2c"}
            """;
        var a = LensRecord.Parse(Encoding.UTF8.GetBytes(worker))!;
        Assert.Equal((1, "channel", 9, 0.5, 2.5, 3.5, "bbe0e052fa89", 2), (a.Format, a.Technique, a.Unit, a.ObjectiveStart, a.ObjectiveEnd, a.MsPerStep, a.ParamsHash, a.Batch));
        Assert.Equal(0.05, a.Parameters!.LearningRate);
        Assert.Equal([1f, 2f, 2.5f, 2.5f], a.Trajectory);
        Assert.Equal(".png", a.Images.Single().File);

        // The runner's record (snake_case, one entry per image, lens results at the top level).
        var runner = """
            {"model":"demo","version":"789b3a3d4cf0","random_weights":false,"technique":"diversity","objective":"x",
             "parameters":{"steps":2,"size":32,"seed":0,"learning_rate":0.05,"transforms":true,"decay":1,"init_std":0.01,"thresholds":[]},
             "device":"cpu","ms_per_step":2,"total_ms":4,"objective_start":[1,3],"objective_end":[2,6],"trajectory":[[1,2],[3,6]]}
            """;
        Assert.Null(LensRecord.Parse(Encoding.UTF8.GetBytes("{\"model\":\"demo\"}")));   // no technique: not a result record
        var examples = """
            {"model":"demo","version":"v","random_weights":false,"op":"conv3","unit":2,"technique":"dataset_examples","source":"procedural",
             "images_seen":64,"k":2,"receptive_field":18,"channel":[{"image_id":"procedural/1","score":3.5,"crop":null}],"neuron":[]}
            """;
        var c = LensRecord.Parse(Encoding.UTF8.GetBytes(examples))!;
        Assert.Equal(("conv3", 2, "procedural", 64), (c.Op, c.Unit, c.Details!["source"]!.GetValue<string>(), c.Details["images_seen"]!.GetValue<int>()));
        Assert.Equal("procedural/1", c.Details["channel"]![0]!["image_id"]!.GetValue<string>());
        var diversity = LensRecord.Parse(Encoding.UTF8.GetBytes(runner.Replace("\"technique\"", "\"op\":\"conv3\",\"unit\":1,\"technique\"")))!;
        Assert.Equal((2.0, 4.0), (diversity.ObjectiveStart!.Value, diversity.ObjectiveEnd!.Value));
        Assert.Equal(["-0.png", "-1.png"], diversity.Images.Select(i => i.File));
        Assert.Equal([3f, 6f], diversity.Images[1].Trajectory);
        Assert.Null(LensRecord.Parse(Encoding.UTF8.GetBytes("[1,2]")));
    }
}

public class LensDocsTests
{
    [Fact]
    public void The_docs_table_of_techniques_is_the_registry()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "techniques.md"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var page = File.ReadAllText(Path.Combine(dir.FullName, "docs", "techniques.md"));
        var start = page.IndexOf(LensTable.Begin, StringComparison.Ordinal);
        var end = page.IndexOf(LensTable.End, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "docs/techniques.md has no lens-table markers");
        var table = page[(start + LensTable.Begin.Length)..end].Trim('\n');
        var expected = LensTable.Markdown(LensRegistry.All).Trim('\n');
        Assert.True(table == expected, "docs/techniques.md's table differs from the registry; replace it with:\n" + expected);
    }
}
