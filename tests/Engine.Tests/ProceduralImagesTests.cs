using Xunit;
using Microscope.Engine.Demo;

namespace Microscope.Engine.Tests;

public class ProceduralImagesTests
{
    private const int Size = 64;

    // ---- helpers -----------------------------------------------------------------------------------

    /// <summary>Luminance-ish plane: the mean of the three channels.</summary>
    private static float[] Grey(float[] img, int size)
    {
        int n = size * size;
        var g = new float[n];
        for (int i = 0; i < n; i++) g[i] = (img[i] + img[n + i] + img[2 * n + i]) / 3f;
        return g;
    }

    /// <summary>
    /// Mean squared difference between neighbours offset by (dx, dy) pixels, on the grey plane.
    /// (0,1) = vertical gradient energy (changes down the rows), (1,0) = horizontal.
    /// </summary>
    private static double GradientEnergy(float[] img, int size, int dx, int dy)
    {
        var g = Grey(img, size);
        double sum = 0;
        int count = 0;
        for (int y = Math.Max(0, -dy); y < size - Math.Max(0, dy); y++)
        {
            for (int x = Math.Max(0, -dx); x < size - Math.Max(0, dx); x++)
            {
                double d = g[(y + dy) * size + x + dx] - g[y * size + x];
                sum += d * d;
                count++;
            }
        }
        return sum / count;
    }

    private static (double Vertical, double Horizontal, double DiagDown, double DiagUp) Energies(float[] img, int size) =>
        (GradientEnergy(img, size, 0, 1), GradientEnergy(img, size, 1, 0),
         GradientEnergy(img, size, 1, 1), GradientEnergy(img, size, 1, -1));

    /// <summary>Mean gradient energies over many samples of one class.</summary>
    private static (double Vertical, double Horizontal, double DiagDown, double DiagUp) ClassEnergies(int classId, int count)
    {
        var rng = new Random(1234 + classId);
        double v = 0, h = 0, dd = 0, du = 0;
        for (int i = 0; i < count; i++)
        {
            var e = Energies(ProceduralImages.Render(classId, Size, rng), Size);
            v += e.Vertical; h += e.Horizontal; dd += e.DiagDown; du += e.DiagUp;
        }
        return (v / count, h / count, dd / count, du / count);
    }

    private static int ClassId(string name)
    {
        for (int i = 0; i < ProceduralImages.ClassCount; i++)
            if (ProceduralImages.ClassNames[i] == name) return i;
        throw new InvalidOperationException($"no class {name}");
    }

    private static void AssertValidImage(float[] img, int size)
    {
        Assert.Equal(3 * size * size, img.Length);
        foreach (float v in img)
        {
            Assert.False(float.IsNaN(v));
            Assert.InRange(v, 0f, 1f);
        }
    }

    // ---- class list and sampling -------------------------------------------------------------------

    [Fact]
    public void ClassNames_AreTheTenDocumentedClasses()
    {
        Assert.Equal(
            ["grating_0", "grating_45", "grating_90", "grating_135", "curve", "edge", "blob", "disk", "square", "triangle"],
            ProceduralImages.ClassNames);
        Assert.Equal(10, ProceduralImages.ClassCount);
    }

    [Fact]
    public void Sample_IsDeterministic()
    {
        for (long index = 0; index < 20; index++)
        {
            var a = ProceduralImages.Sample(7, index, Size, out int la);
            var b = ProceduralImages.Sample(7, index, Size, out int lb);
            Assert.Equal(la, lb);
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public void Sample_DependsOnIndexAndSeed()
    {
        var a = ProceduralImages.Sample(7, 3, Size, out _);
        var sameClassNextIndex = ProceduralImages.Sample(7, 3 + ProceduralImages.ClassCount, Size, out _);
        var otherSeed = ProceduralImages.Sample(8, 3, Size, out _);
        Assert.NotEqual(a, sameClassNextIndex);
        Assert.NotEqual(a, otherSeed);
        Assert.NotEqual(a, ProceduralImages.Sample(7, 4, Size, out _));
    }

    [Fact]
    public void Sample_SeedMixIsStableAcrossProcesses()
    {
        // Pins the exact bytes of one sample: a per-process randomised hash (HashCode.Combine) or a changed
        // generator would break this, and with it every data set index saved by an earlier run.
        var img = ProceduralImages.Sample(0, 0, 8, out int label);
        Assert.Equal(0, label);
        var again = ProceduralImages.Sample(0, 0, 8, out _);
        Assert.Equal(img, again);
        Assert.Equal(PinnedChecksum, Checksum(img), 3);
    }

    // Checksum of Sample(0, 0, 8). Change it only on purpose: a new value means every saved data set index now
    // names a different image.
    private const double PinnedChecksum = 361.17898;

    private static double Checksum(float[] img)
    {
        double s = 0;
        for (int i = 0; i < img.Length; i++) s += img[i] * (1 + i % 7);
        return s;
    }

    [Theory]
    [InlineData(64)]
    [InlineData(33)]
    [InlineData(7)]
    [InlineData(1)]
    public void Sample_HasCorrectLengthAndRange_IncludingOddSizes(int size)
    {
        for (long index = 0; index < 30; index++)
            AssertValidImage(ProceduralImages.Sample(3, index, size, out _), size);
    }

    [Fact]
    public void Sample_LabelsAreBalancedAndEqualIndexModClassCount()
    {
        var counts = new int[ProceduralImages.ClassCount];
        for (long index = 0; index < 100; index++)
        {
            ProceduralImages.Sample(11, index, 8, out int label);
            Assert.Equal((int)(index % ProceduralImages.ClassCount), label);
            counts[label]++;
        }
        Assert.All(counts, c => Assert.Equal(10, c));
    }

    [Fact]
    public void InvalidArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ProceduralImages.Sample(0, -1, Size, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProceduralImages.Sample(0, 0, 0, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProceduralImages.Render(ProceduralImages.ClassCount, Size, new Random(0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProceduralImages.Render(-1, Size, new Random(0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProceduralImages.Grating(0, 0));
    }

    [Fact]
    public void Render_WithSameRandomState_IsDeterministic()
    {
        for (int c = 0; c < ProceduralImages.ClassCount; c++)
        {
            var a = ProceduralImages.Render(c, Size, new Random(99));
            var b = ProceduralImages.Render(c, Size, new Random(99));
            Assert.Equal(a, b);
            AssertValidImage(a, Size);
        }
    }

    [Fact]
    public void EveryImage_CarriesPixelNoise()
    {
        // Rows of a disk image far from the shape are flat background plus noise: neighbours must differ.
        for (int c = 0; c < ProceduralImages.ClassCount; c++)
        {
            var img = ProceduralImages.Render(c, Size, new Random(5));
            int differing = 0;
            for (int i = 1; i < img.Length; i++)
                if (img[i] != img[i - 1]) differing++;
            Assert.True(differing > img.Length / 2, $"class {ProceduralImages.ClassNames[c]} looks noiseless");
        }
    }

    // ---- grating classes follow the documented orientation convention -------------------------------

    [Fact]
    public void GratingClass0_HorizontalStripes_VerticalGradientDominates()
    {
        var e = ClassEnergies(ClassId("grating_0"), 40);
        Assert.True(e.Vertical > 3 * e.Horizontal, $"vertical {e.Vertical} vs horizontal {e.Horizontal}");
    }

    [Fact]
    public void GratingClass90_VerticalStripes_HorizontalGradientDominates()
    {
        var e = ClassEnergies(ClassId("grating_90"), 40);
        Assert.True(e.Horizontal > 3 * e.Vertical, $"horizontal {e.Horizontal} vs vertical {e.Vertical}");
    }

    [Fact]
    public void GratingClass45_StripesRiseToTheRight()
    {
        // Stripes along (+x, -y) on screen: stepping (1,-1) stays on a stripe, stepping (1,1) crosses them.
        var e = ClassEnergies(ClassId("grating_45"), 40);
        Assert.True(e.DiagDown > 3 * e.DiagUp, $"down {e.DiagDown} vs up {e.DiagUp}");
    }

    [Fact]
    public void GratingClass135_StripesFallToTheRight()
    {
        var e = ClassEnergies(ClassId("grating_135"), 40);
        Assert.True(e.DiagUp > 3 * e.DiagDown, $"up {e.DiagUp} vs down {e.DiagDown}");
    }

    [Fact]
    public void NonGratingClasses_HaveNoStrongOrientationBias()
    {
        foreach (var name in new[] { "curve", "edge", "blob", "disk", "square", "triangle" })
        {
            var e = ClassEnergies(ClassId(name), 60);
            double ratio = e.Vertical / e.Horizontal;
            Assert.InRange(ratio, 0.7, 1.4);
        }
    }

    [Fact]
    public void GratingClasses_HaveMoreGradientEnergyThanSmoothClasses()
    {
        double Total(string name)
        {
            var e = ClassEnergies(ClassId(name), 40);
            return e.Vertical + e.Horizontal;
        }
        double grating = Total("grating_0");
        Assert.True(grating > 2 * Total("blob"));
        Assert.True(grating > 2 * Total("edge"));
    }

    // ---- synthetic families ------------------------------------------------------------------------

    [Fact]
    public void Grating0_VerticalGradientDominates_Grating90_HorizontalDominates()
    {
        var e0 = Energies(ProceduralImages.Grating(Size, 0), Size);
        var e90 = Energies(ProceduralImages.Grating(Size, 90), Size);
        Assert.True(e0.Vertical > 100 * e0.Horizontal + 1e-6);
        Assert.True(e90.Horizontal > 100 * e90.Vertical + 1e-6);

        var e45 = Energies(ProceduralImages.Grating(Size, 45), Size);
        var e135 = Energies(ProceduralImages.Grating(Size, 135), Size);
        Assert.True(e45.DiagDown > 100 * e45.DiagUp + 1e-6);
        Assert.True(e135.DiagUp > 100 * e135.DiagDown + 1e-6);
    }

    [Theory]
    [InlineData(32, 6.0, 0.0)]
    [InlineData(33, 4.5, 1.0)]
    public void Grating0And90_AreTransposes(int size, double cycles, double phase)
    {
        var a = ProceduralImages.Grating(size, 0, cycles, phase);
        var b = ProceduralImages.Grating(size, 90, cycles, phase);
        int n = size * size;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                    Assert.Equal(a[c * n + y * size + x], b[c * n + x * size + y], 1e-4f);
    }

    [Fact]
    public void Grating_IsFullContrastMidGreyAndGrey()
    {
        var img = ProceduralImages.Grating(Size, 30);
        AssertValidImage(img, Size);
        int n = Size * Size;
        double mean = 0;
        float min = 1, max = 0;
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(img[i], img[n + i]);
            Assert.Equal(img[i], img[2 * n + i]);
            mean += img[i];
            min = Math.Min(min, img[i]);
            max = Math.Max(max, img[i]);
        }
        Assert.InRange(mean / n, 0.45, 0.55);
        Assert.True(min < 0.05f && max > 0.95f, $"min {min} max {max}");
    }

    [Fact]
    public void Grating_PhaseShiftsTheStripes()
    {
        Assert.NotEqual(ProceduralImages.Grating(Size, 0, 6, 0), ProceduralImages.Grating(Size, 0, 6, Math.PI));
        // A full-cycle phase shift is the same image.
        var a = ProceduralImages.Grating(Size, 20, 6, 0);
        var b = ProceduralImages.Grating(Size, 20, 6, 2 * Math.PI);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-3f);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(12)]
    public void GratingFrequency_HasRequestedCyclesDownTheImage(int cycles)
    {
        var img = ProceduralImages.GratingFrequency(Size, cycles);
        // Count mean-crossings down one column: two per cycle.
        int crossings = 0;
        for (int y = 1; y < Size; y++)
            if ((img[y * Size] - 0.5f) * (img[(y - 1) * Size] - 0.5f) < 0) crossings++;
        Assert.InRange(crossings, 2 * cycles - 1, 2 * cycles + 1);
        // And no variation along a row (orientation 0 = horizontal stripes).
        for (int x = 1; x < Size; x++) Assert.Equal(img[5 * Size], img[5 * Size + x], 1e-5f);
    }

    [Fact]
    public void GratingFrequency_HigherFrequencyHasMoreGradientEnergy()
    {
        double low = Energies(ProceduralImages.GratingFrequency(Size, 3), Size).Vertical;
        double high = Energies(ProceduralImages.GratingFrequency(Size, 9), Size).Vertical;
        Assert.True(high > 4 * low);
    }

    /// <summary>Centroid of the stroke (pixels brighter than the mid-grey background), in pixels.</summary>
    private static (double X, double Y) InkCentroid(float[] img, int size)
    {
        var g = Grey(img, size);
        double sx = 0, sy = 0, sw = 0;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                double w = Math.Max(0, g[y * size + x] - 0.5);
                sx += w * x; sy += w * y; sw += w;
            }
        Assert.True(sw > 0, "no stroke drawn");
        return (sx / sw, sy / sw);
    }

    [Fact]
    public void Curve_0And180_Differ_AndAreMirrorImages()
    {
        var a = ProceduralImages.Curve(Size, 0);
        var b = ProceduralImages.Curve(Size, 180);
        AssertValidImage(a, Size);
        double diff = 0;
        for (int i = 0; i < a.Length; i++) diff += Math.Abs(a[i] - b[i]);
        Assert.True(diff > 50, $"total abs diff {diff}");
        // Opening right vs opening left: b is a mirrored left-right.
        for (int y = 0; y < Size; y++)
            for (int x = 0; x < Size; x++)
                Assert.Equal(a[y * Size + x], b[y * Size + (Size - 1 - x)], 2e-3f);
    }

    [Fact]
    public void Curve_OpeningFacesTheGivenOrientation()
    {
        // The stroke bulges away from its opening, so its mass sits on the far side of the centre.
        double c = (Size - 1) / 2.0;
        var right = InkCentroid(ProceduralImages.Curve(Size, 0), Size);    // "(" : ink left of centre
        var up = InkCentroid(ProceduralImages.Curve(Size, 90), Size);      // "U" : ink below centre
        var left = InkCentroid(ProceduralImages.Curve(Size, 180), Size);   // ")" : ink right of centre
        var down = InkCentroid(ProceduralImages.Curve(Size, 270), Size);   // "n" : ink above centre
        Assert.True(right.X < c - 0.5, $"{right}");
        Assert.True(up.Y > c + 0.5, $"{up}");
        Assert.True(left.X > c + 0.5, $"{left}");
        Assert.True(down.Y < c - 0.5, $"{down}");
    }

    [Fact]
    public void Curve_CurvatureChangesTheImage_AndZeroIsAStraightSegment()
    {
        var straight = ProceduralImages.Curve(Size, 0, 0);
        var bent = ProceduralImages.Curve(Size, 0, 1);
        Assert.NotEqual(straight, bent);
        // Opening right with no curvature: a vertical bar, so horizontal gradient energy dominates.
        var e = Energies(straight, Size);
        Assert.True(e.Horizontal > 5 * e.Vertical);
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(120.0, 1)]
    [InlineData(240.0, 2)]
    [InlineData(360.0, 0)]
    public void HueBlob_CentreHasTheHuesDominantChannel(double hue, int dominant)
    {
        var img = ProceduralImages.HueBlob(Size, hue);
        AssertValidImage(img, Size);
        int n = Size * Size;
        var mean = new double[3];
        for (int y = Size / 2 - 4; y < Size / 2 + 4; y++)
            for (int x = Size / 2 - 4; x < Size / 2 + 4; x++)
                for (int ch = 0; ch < 3; ch++)
                    mean[ch] += img[ch * n + y * Size + x];
        for (int ch = 0; ch < 3; ch++)
            if (ch != dominant) Assert.True(mean[dominant] > mean[ch] + 0.3 * 64, $"hue {hue}: {string.Join(",", mean)}");
        // Corners stay mid-grey.
        Assert.Equal(0.5f, img[0], 0.02f);
        Assert.Equal(0.5f, img[n], 0.02f);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(31)]
    public void Families_WorkAtOddSizes(int size)
    {
        AssertValidImage(ProceduralImages.Grating(size, 45), size);
        AssertValidImage(ProceduralImages.Curve(size, 200, 0.3), size);
        AssertValidImage(ProceduralImages.HueBlob(size, 300), size);
        AssertValidImage(ProceduralImages.GratingFrequency(size, 4), size);
    }
}
