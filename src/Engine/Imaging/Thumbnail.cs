namespace Microscope.Engine.Imaging;

/// <summary>Small copies of rendered images for grids and strips (the worker stores one beside
/// every PNG; the viewer makes one for results stored before that). Downscaling averages the
/// source pixels each thumbnail pixel covers (area / box filter, fractional edges weighted),
/// so a 2x reduction is exactly the mean of 2x2 blocks and fine patterns do not alias; an image
/// already within the size is kept as it is (no upscaling: the browser does that for free).</summary>
public static class Thumbnail
{
    /// <summary>The image scaled to fit <paramref name="maxSide"/> on its longer side, aspect kept.</summary>
    public static RgbImage Fit(RgbImage image, int maxSide)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSide, 1);
        var longer = Math.Max(image.Width, image.Height);
        if (longer <= maxSide) return image;
        var scale = (double)maxSide / longer;
        var w = Math.Max(1, (int)Math.Round(image.Width * scale));
        var h = Math.Max(1, (int)Math.Round(image.Height * scale));
        return Area(image, w, h);
    }

    /// <summary>PNG in, PNG out (<see cref="Fit"/>); the same bytes back when nothing changes.</summary>
    public static byte[] FitPng(byte[] png, int maxSide, string name = "image")
    {
        var image = ImageFile.Decode(png, name);
        var small = Fit(image, maxSide);
        return ReferenceEquals(small, image) ? png : ImageFile.EncodePng(small.Pixels, small.Width, small.Height);
    }

    private static RgbImage Area(RgbImage src, int w, int h)
    {
        var xs = Spans(src.Width, w, (double)src.Width / w);
        var ys = Spans(src.Height, h, (double)src.Height / h);
        var plane = w * h;
        var dst = new float[3 * plane];
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    double sum = 0, weights = 0;
                    foreach (var (row, wy) in ys[y])
                        foreach (var (col, wx) in xs[x])
                        {
                            sum += wy * wx * src[c, row, col];
                            weights += wy * wx;
                        }
                    dst[c * plane + y * w + x] = (float)(sum / weights);
                }
        return new RgbImage(dst, w, h);
    }

    /// <summary>For each output index, the source indices it covers and by how much (0-1].</summary>
    private static List<(int Index, double Weight)>[] Spans(int from, int to, double scale)
    {
        var spans = new List<(int, double)>[to];
        for (var i = 0; i < to; i++)
        {
            spans[i] = [];
            var start = i * scale;
            var end = Math.Min(from, (i + 1) * scale);
            for (var s = (int)Math.Floor(start); s < end; s++)
            {
                var weight = Math.Min(end, s + 1) - Math.Max(start, s);
                if (weight > 1e-9) spans[i].Add((s, weight));
            }
        }
        return spans;
    }
}
