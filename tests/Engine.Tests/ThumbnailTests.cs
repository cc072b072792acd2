using Microscope.Engine.Imaging;

namespace Microscope.Engine.Tests;

/// <summary>The small copies stored beside rendered images (grids, graph strips).</summary>
public class ThumbnailTests
{
    private static RgbImage Noise(int w, int h, int seed)
    {
        var random = new Random(seed);
        return new RgbImage(Enumerable.Range(0, 3 * w * h).Select(_ => random.NextSingle()).ToArray(), w, h);
    }

    [Fact]
    public void Halving_is_the_mean_of_each_2x2_block()
    {
        var full = Noise(192, 192, 1);
        var small = Thumbnail.Fit(full, 96);
        Assert.Equal((96, 96), (small.Width, small.Height));
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < 96; y++)
                for (var x = 0; x < 96; x++)
                {
                    var mean = (full[c, 2 * y, 2 * x] + full[c, 2 * y, 2 * x + 1] + full[c, 2 * y + 1, 2 * x] + full[c, 2 * y + 1, 2 * x + 1]) / 4;
                    Assert.True(Math.Abs(small[c, y, x] - mean) < 1e-5, $"({c}, {y}, {x}): {small[c, y, x]} vs {mean}");
                }
    }

    [Fact]
    public void A_fractional_reduction_keeps_the_mean_and_a_ramp_stays_a_ramp()
    {
        // 128 -> 96: each thumbnail pixel covers 4/3 source pixels.
        var ramp = new float[3 * 128 * 128];
        for (var y = 0; y < 128; y++)
            for (var x = 0; x < 128; x++)
                for (var c = 0; c < 3; c++) ramp[(c * 128 + y) * 128 + x] = x / 127f;
        var small = Thumbnail.Fit(new RgbImage(ramp, 128, 128), 96);
        Assert.Equal((96, 96), (small.Width, small.Height));
        Assert.Equal(ramp.Average(), small.Pixels.Average(), 3);
        for (var x = 0; x < 96; x++)
        {
            // The mean over source columns [x*4/3, (x+1)*4/3) of the ramp: its centre's value
            // within half a source step (the columns are steps, not a line).
            var expected = ((x + 0.5) * 128 / 96 - 0.5) / 127;
            Assert.True(Math.Abs(expected - small[0, 40, x]) < 0.5 / 127, $"column {x}: {small[0, 40, x]} vs {expected}");
            if (x > 0) Assert.True(small[0, 40, x] > small[0, 40, x - 1]);
        }
    }

    [Fact]
    public void Small_images_are_kept_and_wide_ones_keep_their_aspect()
    {
        var png = ImageFile.EncodePng(Noise(64, 64, 2).Pixels, 64, 64);
        Assert.Same(png, Thumbnail.FitPng(png, 96));
        var wide = Thumbnail.Fit(Noise(320, 64, 3), 96);
        Assert.Equal((96, 19), (wide.Width, wide.Height));
        var back = ImageFile.Decode(Thumbnail.FitPng(ImageFile.EncodePng(Noise(200, 100, 4).Pixels, 200, 100), 96));
        Assert.Equal((96, 48), (back.Width, back.Height));
    }
}
