using Microscope.Engine.Demo;
using Microscope.Engine.Imaging;
using Microscope.Engine.Lenses;
using Microscope.Engine.Techniques;

namespace Microscope.Engine.Tests;

/// <summary>Where a unit fires: spatial activation maps peak where a planted pattern sits, and
/// the dataset examples lens stores the maps of its examples as a heat-overlay sprite.</summary>
public class UnitFiringTests(DemoModelFixture demo) : IClassFixture<DemoModelFixture>
{
    private const int Size = 64, Patch = 16;

    /// <summary>A mid-grey 64 px image with a 16 px grating pasted with its corner at (x0, y0).</summary>
    private static RgbImage Planted(int x0, int y0)
    {
        var pixels = Enumerable.Repeat(0.5f, 3 * Size * Size).ToArray();
        var grating = ProceduralImages.Grating(Patch, 45, cyclesPerImage: 3);
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < Patch; y++)
                for (var x = 0; x < Patch; x++)
                    pixels[(c * Size + y0 + y) * Size + x0 + x] = grating[(c * Patch + y) * Patch + x];
        return new RgbImage(pixels, Size, Size);
    }

    [Theory]
    [InlineData("conv2")]
    [InlineData("conv3")]
    public void The_map_of_a_unit_that_likes_the_pattern_peaks_where_the_pattern_was_planted(string op)
    {
        var grey = new RgbImage(Enumerable.Repeat(0.5f, 3 * Size * Size).ToArray(), Size, Size);
        var channels = demo.Model.Describe().Ops.Single(o => o.Name == op).Channels;
        var all = Enumerable.Range(0, channels).ToList();
        // The unit the pattern excites most above a plain grey image, chosen on one placement.
        var probe = UnitFiring.Maps(demo.Model, op, [Planted(24, 24), grey], all);
        var unit = all.MaxBy(u => probe[0][u].Mean - probe[1][u].Mean);
        Assert.True(probe[0][unit].Max > probe[1][unit].Max, "the pattern does not excite the chosen unit above grey");

        // The field of one output position reaches a few pixels past the patch's border.
        var margin = (int)Math.Ceiling(demo.Model.ReceptiveFieldOf(op).Size / 4);
        foreach (var (x0, y0) in new[] { (2, 3), (44, 40), (40, 4), (6, 42) })
        {
            var map = UnitFiring.Map(demo.Model, op, Planted(x0, y0), unit);
            var (px, py) = map.PeakIn(Size, Size);
            Assert.True(px >= x0 - margin && px < x0 + Patch + margin && py >= y0 - margin && py < y0 + Patch + margin,
                $"{op} unit {unit}: the peak at ({px}, {py}) is not on the pattern at ({x0}, {y0})-({x0 + Patch}, {y0 + Patch}) (margin {margin})");
        }
    }

    [Fact]
    public void Dataset_examples_store_a_heat_overlay_sprite_of_the_examples_and_their_peaks()
    {
        var result = LensRunner.Run(demo.Model, "conv3", "dataset_examples", [9], new Render.RenderParameters(),
            new Dictionary<string, string> { ["top_k"] = "4", ["thumbnail"] = "32" }, new LensData { ProceduralImages = 64 }).Single();
        var channel = ImageFile.Decode(result.Files.Single(f => f.Suffix == ".channel.png").Content);
        var fires = ImageFile.Decode(result.Files.Single(f => f.Suffix == DatasetExamplesLens.FiresSuffix).Content);
        Assert.Equal((channel.Width, channel.Height), (fires.Width, fires.Height));
        // The overlay changes the thumbnails (dims where silent, heats where firing): many pixels differ.
        var differing = channel.Pixels.Zip(fires.Pixels).Count(p => Math.Abs(p.First - p.Second) > 0.05);
        Assert.True(differing > channel.Pixels.Length / 10, $"only {differing} of {channel.Pixels.Length} values differ");
        var peaks = result.Record.Details!["fires"]!.AsArray();
        Assert.Equal(4, peaks.Count);
        var examples = result.Record.Details!["channel"]!.AsArray();
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(examples[i]!["image_id"]!.GetValue<string>(), peaks[i]!["image_id"]!.GetValue<string>());
            // The map's mean is the channel score the example was ranked by.
            Assert.Equal(examples[i]!["score"]!.GetValue<double>(), peaks[i]!["mean"]!.GetValue<double>(), 3);
            var (x, y) = (peaks[i]!["x"]!.GetValue<int>(), peaks[i]!["y"]!.GetValue<int>());
            Assert.InRange(x, 0, Size - 1);
            Assert.InRange(y, 0, Size - 1);
        }
    }
}
