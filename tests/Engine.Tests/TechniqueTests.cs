using Microscope.Engine.Demo;
using Microscope.Engine.Imaging;
using Microscope.Engine.Lenses;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Techniques;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests;

public class TechniqueTests(DemoModelFixture demo) : IClassFixture<DemoModelFixture>
{
    private static readonly RenderParameters Quick = new() { Steps = 64, Size = 64, Seed = 0 };

    [Fact]
    public void DeepDream_raises_the_ops_squared_activation()
    {
        var r = Renderer.Render(demo.Model, new DeepDreamObjective("conv3"), 1, Quick);
        Assert.True(r.Images[0].ObjectiveEnd > 2 * r.Images[0].ObjectiveStart, $"{r.Images[0].ObjectiveStart:F3} -> {r.Images[0].ObjectiveEnd:F3}");
    }

    [Fact]
    public void Caricature_raises_the_agreement_with_its_real_image()
    {
        var inputs = new LensData().CaricatureInputs(2, 64);
        using var scope = torch.NewDisposeScope();
        var real = torch.cat(inputs.Select(i => torch.tensor(i.Image.Pixels, [1, 3, 64, 64])).ToList(), 0);
        var r = Renderer.Render(demo.Model, new CaricatureObjective("conv4", 1), 2, Quick, companions: real);
        foreach (var img in r.Images)
            Assert.True(img.ObjectiveEnd > 2 * Math.Max(img.ObjectiveStart, 1e-3), $"{img.ObjectiveStart:F3} -> {img.ObjectiveEnd:F3}");
    }

    [Fact]
    public void Diversity_raises_its_objective_and_its_images_differ_more_than_plain_renders_of_different_seeds()
    {
        const string op = "conv4";
        const int unit = 7, n = 4;
        var objective = new ChannelObjective(op, Enumerable.Repeat(unit, n).ToArray()) + 100 * new DiversityObjective(op, n);
        var diverse = Renderer.Render(demo.Model, objective, n, Quick with { Steps = 96 });
        Assert.True(diverse.Images.Sum(i => i.ObjectiveEnd) > diverse.Images.Sum(i => i.ObjectiveStart));

        var plain = Enumerable.Range(0, n)
            .Select(seed => Renderer.Render(demo.Model, new ChannelObjective(op, [unit]), 1, Quick with { Steps = 96, Seed = seed }).Images[0])
            .ToList();
        var diverseDistance = MeanPairwiseGramDistance(diverse.Images.Select(i => i.Pixels).ToList(), op);
        var plainDistance = MeanPairwiseGramDistance(plain.Select(i => i.Pixels).ToList(), op);
        Assert.True(diverseDistance > 1.2 * plainDistance, $"diversity {diverseDistance:F4}, plain seeds {plainDistance:F4}");
    }

    /// <summary>1 - cosine similarity of the images' Gram matrices at the op, averaged over pairs.</summary>
    private double MeanPairwiseGramDistance(IReadOnlyList<float[]> images, string op)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(images.SelectMany(i => i).ToArray(), [images.Count, 3, 64, 64]);
        var act = demo.Model.Forward(demo.Model.Preprocessing.Apply(x), op);
        var n = images.Count;
        var similarity = -new DiversityObjective(op, n).Evaluate(new Dictionary<string, Tensor> { [op] = act }).sum().item();
        return 1 - similarity / (n - 1);
    }

    [Fact]
    public void Dataset_examples_are_the_true_top_k_with_recomputable_scores_and_receptive_field_crops()
    {
        const string op = "conv3";
        var source = new ProceduralImageSource(seed: 5, count: 150);
        var result = DatasetExamples.Run(demo.Model, op, source, k: 5, batchSize: 32);
        Assert.Equal(150, result.ImagesSeen);

        // Brute force: every image's scores, one image at a time.
        var field = demo.Model.ReceptiveFieldOf(op);
        var all = source.Read().Select(img =>
        {
            var (channel, neuron, _, _) = DatasetExamples.Score(demo.Model, op, [img], field);
            return (img.Id, channel, neuron);
        }).ToList();
        foreach (var unit in new[] { 0, 11, 30, 47 })
        {
            var ex = result.Units[unit];
            Assert.Equal(5, ex.Channel.Count);
            var top = all.First(a => a.Id == ex.Channel[0].ImageId);
            Assert.Equal(top.channel[unit], ex.Channel[0].Score, 4);
            var kth = ex.Channel[^1].Score;
            var chosen = ex.Channel.Select(e => e.ImageId).ToHashSet();
            Assert.All(all.Where(a => !chosen.Contains(a.Id)), a => Assert.True(a.channel[unit] <= kth + 1e-4));
            var neuronTop = all.First(a => a.Id == ex.Neuron[0].ImageId);
            Assert.Equal(neuronTop.neuron[unit], ex.Neuron[0].Score, 4);
            Assert.Equal(all.Max(a => (double)a.neuron[unit]), ex.Neuron[0].Score, 4);
        }

        // conv3: 3x3 conv, pool, 3x3 conv, pool, 3x3 conv -> 18 px receptive field.
        Assert.Equal(18, result.ReceptiveFieldSize);
        foreach (var e in result.Units.SelectMany(u => u.Neuron))
        {
            var c = e.Crop!;
            Assert.True(c[0] >= 0 && c[1] >= 0 && c[2] <= 64 && c[3] <= 64, string.Join(",", c));
            Assert.Equal(18, c[2] - c[0]);
            Assert.Equal(18, c[3] - c[1]);
        }
        var sprite = DatasetExamples.Sprite(source, result.Units[0].Neuron, 32);
        Assert.Equal((5 * 32 + 6 * 2, 32 + 2 * 2), (sprite.Width, sprite.Height));
    }

    [Fact]
    public void Receptive_fields_follow_the_layers()
    {
        Assert.Equal([3.0, 8, 18, 38, 54], new[] { "conv1", "conv2", "conv3", "conv4", "conv5" }.Select(o => demo.Model.ReceptiveFieldOf(o).Size));
        Assert.Equal(8, demo.Model.ReceptiveFieldOf("conv4").Jump);
        Assert.True(double.IsPositiveInfinity(demo.Model.ReceptiveFieldOf("logits").Size));
    }

    [Fact]
    public void Orientation_curve_peaks_at_the_orientation_of_the_units_top_dataset_examples()
    {
        const string op = "conv3";
        var source = new ProceduralImageSource(LensData.ProceduralDatasetSeed, 600);
        var examples = DatasetExamples.Run(demo.Model, op, source, k: 16);
        var curves = TuningCurves.Run(demo.Model, op, [TuningFamily.Orientation]);
        var checkedUnits = 0;
        foreach (var unit in examples.Units)
        {
            // A unit whose top examples are (nearly all) gratings of one orientation class.
            var classes = unit.Channel.GroupBy(e => ProceduralImageSource.ClassOf(e.ImageId)).OrderByDescending(g => g.Count()).First();
            if (!classes.Key.StartsWith("grating_", StringComparison.Ordinal) || classes.Count() < 13) continue;
            var orientation = double.Parse(classes.Key["grating_".Length..], System.Globalization.CultureInfo.InvariantCulture);
            var peak = curves[unit.Unit][0].PeakValue;
            var distance = Math.Abs(peak - orientation) % 180;
            distance = Math.Min(distance, 180 - distance);
            Assert.True(distance <= 20, $"unit {unit.Unit}: top examples {classes.Key} ({classes.Count()}/16), curve peaks at {peak}");
            checkedUnits++;
        }
        Assert.True(checkedUnits >= 3, $"only {checkedUnits} grating-selective units found");
    }

    [Fact]
    public void Tuning_curve_plots_are_svg_with_labelled_axes()
    {
        var curves = TuningCurves.Run(demo.Model, "conv2", [TuningFamily.Hue]);
        Assert.Equal(32, curves.Count);
        Assert.Equal(36, curves[0][0].Values.Count);
        var svg = TuningCurves.Svg(curves[3][0], "demo conv2:3 hue");
        var doc = System.Xml.Linq.XDocument.Parse(svg);
        Assert.Equal("svg", doc.Root!.Name.LocalName);
        Assert.Contains("hue (degrees)", svg);
        Assert.Contains(">activation<", svg);
    }

    [Theory]
    [InlineData("channel", 2, 4)]
    [InlineData("neuron", 2, 4)]
    [InlineData("diversity", 1, 3)]
    [InlineData("deepdream", 0, 2)]
    [InlineData("caricature", 0, 3)]
    [InlineData("dataset_examples", 2, 8)]
    [InlineData("tuning_curves", 2, 10)]
    public void Every_technique_runs_through_the_shared_runner(string technique, int unitCount, int expectedFiles)
    {
        var before = LiveTensors.Settled();
        var lensParameters = new Dictionary<string, string> { ["images"] = "2", ["top_k"] = "4" }
            .Where(p => LensRegistry.Get(technique).Parameters.Any(x => x.Name == p.Key)).ToDictionary();
        var results = LensRunner.Run(demo.Model, "conv2", technique, Enumerable.Range(0, unitCount).ToArray(), Quick with { Steps = 8 },
            lensParameters, new LensData { ProceduralImages = 64 });
        var outputs = results.SelectMany(r => r.Outputs()).ToList();
        Assert.Equal(expectedFiles, outputs.Count);
        foreach (var o in outputs.Where(o => o.ContentType == "image/png")) Assert.True(ImageFile.Decode(o.Content).Width > 0);
        foreach (var o in outputs.Where(o => o.ContentType == "application/json")) System.Text.Json.JsonDocument.Parse(o.Content);
        Assert.Equal(before, torch.LiveTensorCount);
    }

    [Fact]
    public void Everything_expands_to_every_technique_and_unknown_names_are_refused()
    {
        Assert.Equal(LensRegistry.Sweepable.Select(l => l.Name), LensRegistry.Expand(["everything"]).Select(l => l.Name));
        Assert.Equal(["neuron", "channel"], LensRegistry.Expand(["neuron", "channel", "neuron"]).Select(l => l.Name));
        var e = Assert.Throws<UnknownNameException>(() => LensRegistry.Expand(["deep_dream"]));
        Assert.Contains("'deepdream'", e.Message);
        Assert.Throws<UnknownNameException>(() => LensRunner.Run(demo.Model, "conv2", "dance", [0], Quick));
    }
}
