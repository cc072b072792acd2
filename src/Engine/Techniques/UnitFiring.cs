using Microscope.Engine.Imaging;
using Microscope.Engine.Models;
using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Techniques;

/// <summary>Where a unit fires on one image: its activation at every position of the op's
/// output (<see cref="Values"/>, <see cref="Height"/> x <see cref="Width"/>, row-major), the
/// channel activation (spatial mean, the channel objective's value) and the peak.</summary>
public sealed record FiringMap(int Unit, float[] Values, int Height, int Width, double Mean, double Max, int PeakY, int PeakX)
{
    /// <summary>The peak's centre in the pixels of an image of the given size.</summary>
    public (int X, int Y) PeakIn(int imageWidth, int imageHeight) =>
        ((int)((PeakX + 0.5) * imageWidth / Width), (int)((PeakY + 0.5) * imageHeight / Height));
}

/// <summary>Spatial activation maps of units on images (issue 12, "where a unit fires"): the
/// image resized to the model's input size, as dataset examples see it, one forward to the op;
/// and the map drawn as a heat overlay on the image.</summary>
public static class UnitFiring
{
    /// <summary>The maps of <paramref name="units"/> on each image (one forward for the batch):
    /// result[i][j] is unit units[j] on image i.</summary>
    public static FiringMap[][] Maps(VisionModel model, string op, IReadOnlyList<RgbImage> images, IReadOnlyList<int> units)
    {
        if (model.Latent is not null) throw new ArgumentException($"model '{model.Name}' is a generator whose input is a latent vector: it is not shown images");
        op = model.ResolveOp(op);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var s = model.InputSize;
        var resized = images.Select(img =>
        {
            var t = torch.tensor(img.Pixels, [1, 3, img.Height, img.Width], model.Device);
            return img.Width == s && img.Height == s ? t : F.interpolate(t, (s, s), align_corners: true);
        }).ToList();
        var act = model.Forward(model.Preprocessing.Apply(torch.cat(resized, 0)), op);
        var channels = (int)act.size(1);
        foreach (var u in units)
            if (u < 0 || u >= channels) throw new ArgumentException($"op '{op}' has units 0..{channels - 1}; {u} is out of range");
        var (h, w) = act.dim() == 4 ? ((int)act.size(2), (int)act.size(3)) : (1, 1);
        var all = act.cpu().data<float>();
        var plane = h * w;
        var maps = new FiringMap[images.Count][];
        for (var i = 0; i < images.Count; i++)
        {
            maps[i] = new FiringMap[units.Count];
            for (var j = 0; j < units.Count; j++)
            {
                var values = all.AsSpan((i * channels + units[j]) * plane, plane).ToArray();
                var peak = 0;
                for (var p = 1; p < plane; p++) if (values[p] > values[peak]) peak = p;
                maps[i][j] = new FiringMap(units[j], values, h, w, values.Average(v => (double)v), values[peak], peak / w, peak % w);
            }
        }
        return maps;
    }

    public static FiringMap Map(VisionModel model, string op, RgbImage image, int unit) => Maps(model, op, [image], [unit])[0][0];

    /// <summary>The image with the map laid over it: positive activation, scaled by
    /// <paramref name="scale"/> (the unit's largest value across the images shown together, so
    /// their heat compares), bilinearly upsampled, blended in as a red-to-yellow heat; where the
    /// unit is silent the image is dimmed, so the eye goes where it fires.</summary>
    public static RgbImage Overlay(RgbImage image, FiringMap map, double scale)
    {
        var (W, H) = (image.Width, image.Height);
        var result = new float[3 * W * H];
        var plane = W * H;
        for (var y = 0; y < H; y++)
            for (var x = 0; x < W; x++)
            {
                var heat = scale > 0 ? Math.Clamp(Sample(map, (y + 0.5) * map.Height / H - 0.5, (x + 0.5) * map.Width / W - 0.5) / scale, 0, 1) : 0;
                // Heat colour: red rising to yellow; alpha grows with heat.
                var (r, g, b) = (1.0, heat, 0.0);
                var alpha = 0.65 * heat;
                var dim = 0.45 + 0.55 * heat;
                var i = y * W + x;
                result[i] = (float)((1 - alpha) * image.Pixels[i] * dim + alpha * r);
                result[plane + i] = (float)((1 - alpha) * image.Pixels[plane + i] * dim + alpha * g);
                result[2 * plane + i] = (float)((1 - alpha) * image.Pixels[2 * plane + i] * dim + alpha * b);
            }
        return new RgbImage(result, W, H);
    }

    /// <summary>Bilinear sample of the map at fractional cell coordinates (clamped at the borders).</summary>
    private static double Sample(FiringMap m, double y, double x)
    {
        y = Math.Clamp(y, 0, m.Height - 1);
        x = Math.Clamp(x, 0, m.Width - 1);
        var (y0, x0) = ((int)y, (int)x);
        var (y1, x1) = (Math.Min(y0 + 1, m.Height - 1), Math.Min(x0 + 1, m.Width - 1));
        var (fy, fx) = (y - y0, x - x0);
        double V(int yy, int xx) => m.Values[yy * m.Width + xx];
        return (1 - fy) * ((1 - fx) * V(y0, x0) + fx * V(y0, x1)) + fy * ((1 - fx) * V(y1, x0) + fx * V(y1, x1));
    }
}
