using Microscope.Engine.Render;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests;

public class FourierImageTests
{
    [Theory]
    [InlineData(128, 128)]
    [InlineData(64, 65)]
    [InlineData(33, 47)]
    public void Initial_image_is_grey_with_a_small_spread_at_odd_and_even_sizes(int height, int width)
    {
        using var image = new FourierImage(4, height, width, new Random(0), Device.CPU);
        Assert.Equal([4L, 3, height, width / 2 + 1 + width % 2, 2], image.Spectrum.shape);
        using var scope = torch.NewDisposeScope();
        var pixels = image.Image();
        Assert.Equal([4L, 3, height, width], pixels.shape);
        var v = pixels.data<float>();
        var mean = v.Average();
        var std = Math.Sqrt(v.Average(x => (x - mean) * (x - mean)));
        // N(0, 0.01²) spectrum, 1/f scaling, /4, sigmoid: a mid-grey image with little variation.
        Assert.InRange(mean, 0.48, 0.52);
        Assert.InRange(std, 0.002, 0.05);
        Assert.All(v, x => Assert.InRange(x, 0.3f, 0.7f));
    }

    [Fact]
    public void Low_frequencies_dominate_the_initial_image()
    {
        // The 1/f scaling gives a smooth image: neighbouring pixels are strongly correlated.
        using var image = new FourierImage(1, 64, 64, new Random(1), Device.CPU);
        using var scope = torch.NewDisposeScope();
        var v = image.Image().select(1, 0).data<float>();
        double mean = v.Average(), cov = 0, var = 0;
        for (var y = 0; y < 64; y++)
            for (var x = 0; x < 63; x++)
            {
                cov += (v[y * 64 + x] - mean) * (v[y * 64 + x + 1] - mean);
                var += (v[y * 64 + x] - mean) * (v[y * 64 + x] - mean);
            }
        Assert.True(cov / var > 0.5, $"neighbour correlation {cov / var:F2}");
    }

    [Fact]
    public void Same_seed_gives_the_same_spectrum()
    {
        using var a = new FourierImage(2, 16, 16, new Random(5), Device.CPU);
        using var b = new FourierImage(2, 16, 16, new Random(5), Device.CPU);
        using var c = new FourierImage(2, 16, 16, new Random(6), Device.CPU);
        Assert.Equal(a.Spectrum.data<float>(), b.Spectrum.data<float>());
        Assert.NotEqual(a.Spectrum.data<float>(), c.Spectrum.data<float>());
    }

    [Fact]
    public void Standard_transforms_keep_the_batch_and_change_the_size_as_published()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.full([2, 3, 128, 128], 0.5);
        var y = TransformStack.Apply(TransformStack.Standard, x, new Random(3));
        var s = y.shape;
        Assert.Equal(2, s[0]);
        // pad 12 each side (152), jitter 8 (144), scale 0.9..1.1, jitter 4.
        Assert.InRange(s[2], (long)Math.Floor(144 * 0.9) - 4, (long)Math.Floor(144 * 1.1) - 4);
        Assert.Equal(s[2], s[3]);
    }
}
