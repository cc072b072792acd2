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

    /// <summary>A spectrum holding only channel k's constant term gives a flat image in the
    /// colour of column k of lucid's colour matrix (normalised by its largest column norm),
    /// scaled as lucid scales it (the lowest frequency's 1/f weight, /4, the orthonormal inverse
    /// FFT's 1/sqrt(HW)), through a sigmoid. Column 1 is not row 1: a transposed matrix fails.</summary>
    [Fact]
    public void A_constant_term_gives_a_flat_image_in_its_channels_colour()
    {
        const int H = 8, W = 10, K = 1;
        const double A = 3.0;
        using var image = new FourierImage(1, H, W, new Random(1), Device.CPU, decay: 1);
        var spectrum = new float[image.Spectrum.shape.Aggregate(1L, (a, b) => a * b)];
        spectrum[K * H * (W / 2 + 1) * 2] = (float)A;   // [0, K, 0, 0, real]
        using (var given = torch.tensor(spectrum, image.Spectrum.shape, Device.CPU)) image.Spectrum.copy_(given);
        using var scope = torch.NewDisposeScope();
        var pixels = image.Image().data<float>();
        double[,] m = { { 0.26, 0.09, 0.02 }, { 0.27, 0.00, -0.05 }, { 0.27, -0.09, 0.03 } };
        var largestColumn = Enumerable.Range(0, 3).Max(c => Math.Sqrt(m[0, c] * m[0, c] + m[1, c] * m[1, c] + m[2, c] * m[2, c]));
        var value = A * Math.Max(H, W) / 4 / Math.Sqrt(H * W);
        for (var c = 0; c < 3; c++)
        {
            var expected = 1 / (1 + Math.Exp(-m[c, K] / largestColumn * value));
            for (var p = 0; p < H * W; p++) Assert.Equal(expected, pixels[c * H * W + p], 5);
        }
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
