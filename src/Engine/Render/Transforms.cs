using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Render;

/// <summary>A random, differentiable image transform applied every optimisation step
/// (transformation robustness). Randomness comes from the render's seeded <see cref="Random"/>.</summary>
public abstract record ImageTransform
{
    public abstract Tensor Apply(Tensor images, Random rng);
}

/// <summary>Constant padding on every side.</summary>
public sealed record Pad(int Pixels, double Value) : ImageTransform
{
    public override Tensor Apply(Tensor images, Random rng) => F.pad(images, [Pixels, Pixels, Pixels, Pixels], Value);
}

/// <summary>Random integer translation in [0, Pixels), as a crop that is Pixels smaller.</summary>
public sealed record Jitter(int Pixels) : ImageTransform
{
    public override Tensor Apply(Tensor images, Random rng)
    {
        var dx = rng.Next(Pixels);
        var dy = rng.Next(Pixels);
        var s = images.shape;
        using var rows = images.narrow(2, dy, s[2] - Pixels);
        return rows.narrow(3, dx, s[3] - Pixels);
    }
}

/// <summary>Bilinear rescale by a factor drawn from a list.</summary>
public sealed record RandomScale(IReadOnlyList<double> Scales) : ImageTransform
{
    public override Tensor Apply(Tensor images, Random rng)
    {
        var scale = Scales[rng.Next(Scales.Count)];
        var s = images.shape;
        // F.interpolate(scale_factor=...) floors the output size.
        return F.interpolate(images, ((long)Math.Floor(s[2] * scale), (long)Math.Floor(s[3] * scale)));
    }
}

/// <summary>Rotation about the centre by an angle (degrees) drawn from a list; bilinear,
/// zeros outside (as kornia.rotate, which lucent uses).</summary>
public sealed record RandomRotate(IReadOnlyList<double> Degrees) : ImageTransform
{
    public override Tensor Apply(Tensor images, Random rng)
    {
        var radians = Degrees[rng.Next(Degrees.Count)] * Math.PI / 180;
        var s = images.shape;
        var (cos, sin) = ((float)Math.Cos(radians), (float)Math.Sin(radians));
        var theta = new float[s[0] * 6];
        for (var b = 0; b < s[0]; b++) new[] { cos, -sin, 0f, sin, cos, 0f }.CopyTo(theta, b * 6);
        using var t = torch.tensor(theta, [s[0], 2, 3], images.device);
        using var grid = F.affine_grid(t, s);
        return F.grid_sample(images, grid);
    }
}

public static class TransformStack
{
    /// <summary>lucid/lucent's standard_transforms: pad 12 (constant 0.5), jitter 8, scale
    /// 1 + (i-5)/50 for i in 0..10, rotate -10..10 degrees plus five extra 0s, jitter 4.</summary>
    public static IReadOnlyList<ImageTransform> Standard { get; } =
    [
        new Pad(12, 0.5),
        new Jitter(8),
        new RandomScale(Enumerable.Range(0, 11).Select(i => 1 + (i - 5) / 50.0).ToArray()),
        new RandomRotate(Enumerable.Range(-10, 21).Select(d => (double)d).Concat(Enumerable.Repeat(0.0, 5)).ToArray()),
        new Jitter(4),
    ];

    public static Tensor Apply(IReadOnlyList<ImageTransform> transforms, Tensor images, Random rng)
    {
        var x = images;
        foreach (var t in transforms)
        {
            var next = t.Apply(x, rng);
            if (!ReferenceEquals(x, images)) x.Dispose();
            x = next;
        }
        return ReferenceEquals(x, images) ? images.clone() : x;
    }
}
