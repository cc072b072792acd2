using System.Collections.ObjectModel;

namespace Microscope.Engine.Demo;

/// <summary>
/// Procedural image data set for the demo "model organism" CNN, plus clean one-parameter
/// stimulus families for synthetic tuning curves. Everything is generated on the fly so the
/// demo needs no downloaded data, and every sample is reproducible from (seed, index, size)
/// so training runs, dataset-example searches and tests agree on what image N is.
/// </summary>
/// <remarks>
/// <para>Images are <c>float[]</c> in CHW layout (3 x size x size, RGB), values in [0, 1].</para>
/// <para>Geometry convention shared by every method: normalised coordinates u = (x + 0.5) / size - 0.5
/// (rightwards) and v = (y + 0.5) / size - 0.5 (downwards, row order), so the image spans
/// [-0.5, 0.5]^2 whatever its size. Angles are in degrees, counter-clockwise <em>as seen on screen</em>
/// (0 = pointing right, 90 = pointing up).</para>
/// <para>Grating orientation is the direction the stripes run: 0 = horizontal stripes (bars along x,
/// intensity varies down the rows), 90 = vertical stripes, 45 = stripes rising from bottom-left to
/// top-right. The training classes <c>grating_0/45/90/135</c> use exactly this convention.</para>
/// </remarks>
public static class ProceduralImages
{
    private const float TwoPi = MathF.PI * 2f;

    private static readonly string[] Names =
    [
        "grating_0", "grating_45", "grating_90", "grating_135",
        "curve", "edge", "blob", "disk", "square", "triangle",
    ];

    private const int CurveClass = 4, EdgeClass = 5, BlobClass = 6, DiskClass = 7, SquareClass = 8, TriangleClass = 9;

    /// <summary>Class names indexed by label; the first four are gratings named by their orientation in degrees.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = new ReadOnlyCollection<string>(Names);

    /// <summary>Number of classes (the demo model's output width).</summary>
    public static int ClassCount => ClassNames.Count;

    /// <summary>
    /// One labelled training sample, fully determined by (<paramref name="seed"/>, <paramref name="index"/>,
    /// <paramref name="size"/>), so a data set never has to be stored. The label is
    /// <c>index % ClassCount</c>, which keeps any contiguous run of indices class-balanced.
    /// </summary>
    /// <param name="seed">Data set seed (e.g. different for train and validation splits).</param>
    /// <param name="index">Sample index, 0 or more.</param>
    /// <param name="size">Image side in pixels, 1 or more.</param>
    /// <param name="label">The class id of the returned image.</param>
    public static float[] Sample(int seed, long index, int size, out int label)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        label = (int)(index % ClassCount);
        // System.Random(int) is deterministic across runs and .NET versions (legacy seeded algorithm);
        // HashCode.Combine is not (it is randomised per process), hence the explicit splitmix mix.
        var rng = new Random(DeriveSeed(seed, index));
        return Render(label, size, rng);
    }

    /// <summary>
    /// Draws one random image of class <paramref name="classId"/> using the caller's generator, so callers
    /// can build custom sets (e.g. many examples of one class) with their own seeding.
    /// </summary>
    /// <param name="classId">Class id in [0, <see cref="ClassCount"/>).</param>
    /// <param name="size">Image side in pixels, 1 or more.</param>
    /// <param name="rng">Source of randomness; the result depends only on its state.</param>
    public static float[] Render(int classId, int size, Random rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(classId);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(classId, ClassCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentNullException.ThrowIfNull(rng);

        var img = new float[3 * size * size];
        switch (classId)
        {
            case < CurveClass: RenderGrating(img, size, classId * 45f, rng); break;
            case CurveClass: RenderCurve(img, size, rng); break;
            case EdgeClass: RenderEdge(img, size, rng); break;
            case BlobClass: RenderBlobs(img, size, rng); break;
            case DiskClass: RenderDisk(img, size, rng); break;
            case SquareClass: RenderSquare(img, size, rng); break;
            default: RenderTriangle(img, size, rng); break;
        }
        // Pixel noise on every image keeps the model from keying on perfectly flat regions.
        AddNoiseAndClamp(img, Uniform(rng, 0.03f, 0.08f), rng);
        return img;
    }

    /// <summary>
    /// A clean, full-contrast, mid-grey-mean sinusoidal grating, for orientation and frequency tuning curves.
    /// Intensity is 0.5 + 0.5 cos(2 pi f d + phase), where d is the signed distance (in image widths) from the
    /// image centre across the stripes.
    /// </summary>
    /// <param name="size">Image side in pixels.</param>
    /// <param name="orientationDegrees">Direction the stripes run: 0 = horizontal stripes, 90 = vertical,
    /// 45 = rising to the upper right on screen. Same convention as the <c>grating_*</c> classes.</param>
    /// <param name="cyclesPerImage">Spatial frequency in cycles per image width.</param>
    /// <param name="phase">Phase in radians; 0 puts a bright stripe through the centre.</param>
    public static float[] Grating(int size, double orientationDegrees, double cyclesPerImage = 6, double phase = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var img = new float[3 * size * size];
        FillGrating(img, size, (float)orientationDegrees, (float)cyclesPerImage, (float)phase, 1f,
            new Rgb(0f, 0f, 0f), new Rgb(1f, 1f, 1f), sharpness: 1f);
        return img;
    }

    /// <summary>
    /// A clean white arc on mid-grey (a constant-length stroke bent by <paramref name="curvature"/>), centred in
    /// the image, for curve-detector orientation and curvature tuning curves.
    /// </summary>
    /// <param name="size">Image side in pixels.</param>
    /// <param name="orientationDegrees">Direction the arc's opening (its concave side) faces, 0..360:
    /// 0 = opening to the right (a "(" shape), 90 = opening upwards (a "U" shape).</param>
    /// <param name="curvature">0 = straight segment, 1 = a 270-degree arc; the stroke length stays fixed.</param>
    public static float[] Curve(int size, double orientationDegrees, double curvature = 0.5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var img = new float[3 * size * size];
        FillSolid(img, size, new Rgb(0.5f, 0.5f, 0.5f));
        float k = Math.Clamp((float)curvature, 0.005f, 1f);
        float halfSpan = k * 0.75f * MathF.PI;          // up to 135 degrees each side
        const float length = 0.6f;                       // arc length in image widths
        float radius = length / (2f * halfSpan);
        var arc = Arc.Centered(0f, 0f, radius, halfSpan, (float)orientationDegrees, halfWidth: 0.03f, size);
        Composite(img, size, new Rgb(1f, 1f, 1f), arc);
        return img;
    }

    /// <summary>
    /// A soft gaussian blob of fully saturated hue on mid-grey, for colour (hue) tuning curves.
    /// </summary>
    /// <param name="size">Image side in pixels.</param>
    /// <param name="hueDegrees">HSV hue: 0 = red, 120 = green, 240 = blue.</param>
    public static float[] HueBlob(int size, double hueDegrees)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var img = new float[3 * size * size];
        FillSolid(img, size, new Rgb(0.5f, 0.5f, 0.5f));
        Composite(img, size, Hsv((float)hueDegrees, 1f, 1f), new Gaussian(0f, 0f, 0.2f, 1f));
        return img;
    }

    /// <summary>
    /// A clean grating of fixed orientation 0 (horizontal stripes) and phase 0, varying only spatial frequency,
    /// for frequency tuning curves.
    /// </summary>
    /// <param name="size">Image side in pixels.</param>
    /// <param name="cyclesPerImage">Cycles per image height.</param>
    public static float[] GratingFrequency(int size, double cyclesPerImage) => Grating(size, 0, cyclesPerImage, 0);

    // ------------------------------------------------------------------------------------------------
    // Training classes

    private static void RenderGrating(float[] img, int size, float baseOrientation, Random rng)
    {
        float orientation = baseOrientation + Uniform(rng, -10f, 10f);
        float cycles = Uniform(rng, 3f, 9f);
        float phase = Uniform(rng, 0f, TwoPi);
        float contrast = Uniform(rng, 0.5f, 1f);
        // A third of gratings are square-ish so the model does not learn "sinusoid" as the only texture.
        float sharpness = rng.NextDouble() < 0.3 ? Uniform(rng, 2f, 6f) : 1f;

        Rgb a, b;
        if (rng.NextDouble() < 0.4)
        {
            float mean = Uniform(rng, 0.35f, 0.65f);
            float amp = MathF.Min(mean, 1f - mean);
            a = Rgb.Grey(mean - amp);
            b = Rgb.Grey(mean + amp);
        }
        else
        {
            a = RandomColor(rng);
            b = ContrastingColor(rng, a);
        }

        if (rng.NextDouble() < 0.35)
        {
            // Windowed grating: draw it in a scratch buffer, then blend through a soft aperture onto a background.
            FillSolid(img, size, RandomBackground(rng));
            var layer = new float[img.Length];
            FillGrating(layer, size, orientation, cycles, phase, contrast, a, b, sharpness);
            float cx = Uniform(rng, -0.2f, 0.2f), cy = Uniform(rng, -0.2f, 0.2f);
            float radius = Uniform(rng, 0.3f, 0.45f);
            if (rng.NextDouble() < 0.5)
                BlendThrough(img, layer, size, new Gaussian(cx, cy, radius * 0.55f, 1f));
            else
                BlendThrough(img, layer, size, new SoftDisk(cx, cy, radius, radius * 0.25f));
        }
        else
        {
            FillGrating(img, size, orientation, cycles, phase, contrast, a, b, sharpness);
        }
    }

    private static void RenderCurve(float[] img, int size, Random rng)
    {
        var bg = RandomBackground(rng);
        FillSolid(img, size, bg);
        float radius = Uniform(rng, 0.12f, 0.3f);
        float halfSpan = Uniform(rng, 45f, 135f) * (MathF.PI / 180f);
        float halfWidth = Uniform(rng, 0.025f, 0.045f);
        float room = MathF.Max(0f, 0.42f - radius);
        var arc = Arc.Centered(Uniform(rng, -room, room), Uniform(rng, -room, room), radius, halfSpan,
            Uniform(rng, 0f, 360f), halfWidth, size);
        Composite(img, size, ContrastingColor(rng, bg), arc);
    }

    private static void RenderEdge(float[] img, int size, Random rng)
    {
        var a = RandomBackground(rng);
        FillSolid(img, size, a);
        float angle = Uniform(rng, 0f, TwoPi);
        float offset = Uniform(rng, -0.25f, 0.25f);
        float blur = Uniform(rng, 0.7f, 2.5f) / size;
        Composite(img, size, ContrastingColor(rng, a), new HalfPlane(MathF.Cos(angle), MathF.Sin(angle), offset, blur));
    }

    private static void RenderBlobs(float[] img, int size, Random rng)
    {
        var bg = RandomBackground(rng);
        FillSolid(img, size, bg);
        int count = 1 + rng.Next(3);
        for (int i = 0; i < count; i++)
        {
            var blob = new Gaussian(Uniform(rng, -0.3f, 0.3f), Uniform(rng, -0.3f, 0.3f),
                Uniform(rng, 0.07f, 0.18f), Uniform(rng, 0.8f, 1f));
            Composite(img, size, ContrastingColor(rng, bg), blob);
        }
    }

    private static void RenderDisk(float[] img, int size, Random rng)
    {
        var bg = RandomBackground(rng);
        FillSolid(img, size, bg);
        float r = Uniform(rng, 0.1f, 0.3f);
        float room = 0.46f - r;
        Composite(img, size, ContrastingColor(rng, bg),
            new SoftDisk(Uniform(rng, -room, room), Uniform(rng, -room, room), r, Aa(size)));
    }

    private static void RenderSquare(float[] img, int size, Random rng)
    {
        var bg = RandomBackground(rng);
        FillSolid(img, size, bg);
        float half = Uniform(rng, 0.09f, 0.22f);
        float room = MathF.Max(0f, 0.46f - half * MathF.Sqrt(2f));
        float angle = Uniform(rng, 0f, MathF.PI / 2f);
        Composite(img, size, ContrastingColor(rng, bg),
            new Box(Uniform(rng, -room, room), Uniform(rng, -room, room), half, angle, Aa(size)));
    }

    private static void RenderTriangle(float[] img, int size, Random rng)
    {
        var bg = RandomBackground(rng);
        FillSolid(img, size, bg);
        float r = Uniform(rng, 0.14f, 0.32f);
        float room = 0.46f - r;
        float cx = Uniform(rng, -room, room), cy = Uniform(rng, -room, room);
        float start = Uniform(rng, 0f, TwoPi);
        Span<float> px = stackalloc float[3], py = stackalloc float[3];
        for (int i = 0; i < 3; i++)
        {
            // Jittered equilateral: varied but never degenerate (vertex gaps stay within 90..150 degrees).
            float t = start + i * (TwoPi / 3f) + Uniform(rng, -0.26f, 0.26f);
            px[i] = cx + r * MathF.Cos(t);
            py[i] = cy - r * MathF.Sin(t);
        }
        Composite(img, size, ContrastingColor(rng, bg),
            new Triangle(px[0], py[0], px[1], py[1], px[2], py[2], Aa(size)));
    }

    // ------------------------------------------------------------------------------------------------
    // Painting helpers

    private static void FillSolid(float[] img, int size, Rgb c)
    {
        int n = size * size;
        img.AsSpan(0, n).Fill(c.R);
        img.AsSpan(n, n).Fill(c.G);
        img.AsSpan(2 * n, n).Fill(c.B);
    }

    /// <summary>Fills with a lerp between colours a and b driven by a (possibly sharpened) cosine wave.</summary>
    private static void FillGrating(float[] img, int size, float orientationDeg, float cycles, float phase,
        float contrast, Rgb a, Rgb b, float sharpness)
    {
        float th = orientationDeg * (MathF.PI / 180f);
        // Stripes run along (cos th, -sin th) in (u, v-down) coordinates; the wave varies along the normal.
        float nx = MathF.Sin(th), ny = MathF.Cos(th);
        float w = TwoPi * cycles;
        int n = size * size;
        float inv = 1f / size;
        for (int y = 0; y < size; y++)
        {
            float v = (y + 0.5f) * inv - 0.5f;
            for (int x = 0; x < size; x++)
            {
                float u = (x + 0.5f) * inv - 0.5f;
                float wave = MathF.Cos(w * (nx * u + ny * v) + phase);
                if (sharpness != 1f) wave = Math.Clamp(wave * sharpness, -1f, 1f);
                float t = 0.5f + 0.5f * contrast * wave;
                int i = y * size + x;
                img[i] = a.R + t * (b.R - a.R);
                img[n + i] = a.G + t * (b.G - a.G);
                img[2 * n + i] = a.B + t * (b.B - a.B);
            }
        }
    }

    /// <summary>Alpha-blends a solid colour over the image with per-pixel coverage from <paramref name="shape"/>.</summary>
    private static void Composite<TShape>(float[] img, int size, Rgb c, TShape shape) where TShape : struct, IShape
    {
        int n = size * size;
        float inv = 1f / size;
        for (int y = 0; y < size; y++)
        {
            float v = (y + 0.5f) * inv - 0.5f;
            for (int x = 0; x < size; x++)
            {
                float alpha = shape.Alpha((x + 0.5f) * inv - 0.5f, v);
                if (alpha <= 0f) continue;
                int i = y * size + x;
                img[i] += alpha * (c.R - img[i]);
                img[n + i] += alpha * (c.G - img[n + i]);
                img[2 * n + i] += alpha * (c.B - img[2 * n + i]);
            }
        }
    }

    /// <summary>Alpha-blends another image over this one with per-pixel coverage from <paramref name="shape"/>.</summary>
    private static void BlendThrough<TShape>(float[] img, float[] layer, int size, TShape shape) where TShape : struct, IShape
    {
        int n = size * size;
        float inv = 1f / size;
        for (int y = 0; y < size; y++)
        {
            float v = (y + 0.5f) * inv - 0.5f;
            for (int x = 0; x < size; x++)
            {
                float alpha = shape.Alpha((x + 0.5f) * inv - 0.5f, v);
                if (alpha <= 0f) continue;
                int i = y * size + x;
                for (int ch = 0; ch < 3; ch++)
                {
                    int j = ch * n + i;
                    img[j] += alpha * (layer[j] - img[j]);
                }
            }
        }
    }

    private static void AddNoiseAndClamp(float[] img, float sigma, Random rng)
    {
        for (int i = 0; i < img.Length; i += 2)
        {
            // Box-Muller: two independent normals per pair of uniforms.
            double u1 = 1.0 - rng.NextDouble(); // (0, 1], keeps Log finite
            double u2 = rng.NextDouble();
            float mag = sigma * (float)Math.Sqrt(-2.0 * Math.Log(u1));
            float ang = (float)(2.0 * Math.PI * u2);
            img[i] = Math.Clamp(img[i] + mag * MathF.Cos(ang), 0f, 1f);
            if (i + 1 < img.Length) img[i + 1] = Math.Clamp(img[i + 1] + mag * MathF.Sin(ang), 0f, 1f);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Colours and randomness

    private readonly record struct Rgb(float R, float G, float B)
    {
        public static Rgb Grey(float level) => new(level, level, level);

        public float DistanceTo(Rgb o)
        {
            float dr = R - o.R, dg = G - o.G, db = B - o.B;
            return MathF.Sqrt(dr * dr + dg * dg + db * db);
        }
    }

    private static float Uniform(Random rng, float lo, float hi) => lo + (float)rng.NextDouble() * (hi - lo);

    private static Rgb RandomColor(Random rng) =>
        new((float)rng.NextDouble(), (float)rng.NextDouble(), (float)rng.NextDouble());

    /// <summary>Half grey, half coloured, kept away from the extremes so foregrounds can contrast either way.</summary>
    private static Rgb RandomBackground(Random rng) =>
        rng.NextDouble() < 0.5
            ? Rgb.Grey(Uniform(rng, 0.15f, 0.85f))
            : new Rgb(Uniform(rng, 0.1f, 0.9f), Uniform(rng, 0.1f, 0.9f), Uniform(rng, 0.1f, 0.9f));

    /// <summary>A random colour at least 0.4 (RGB Euclidean) from <paramref name="other"/>, so shapes stay visible.</summary>
    private static Rgb ContrastingColor(Random rng, Rgb other)
    {
        for (int attempt = 0; attempt < 32; attempt++)
        {
            var c = RandomColor(rng);
            if (c.DistanceTo(other) >= 0.4f) return c;
        }
        // Fallback (very unlikely): push each channel to the far side.
        return new Rgb(other.R < 0.5f ? 1f : 0f, other.G < 0.5f ? 1f : 0f, other.B < 0.5f ? 1f : 0f);
    }

    private static Rgb Hsv(float hueDeg, float s, float v)
    {
        float h = hueDeg % 360f;
        if (h < 0f) h += 360f;
        float c = v * s;
        float hp = h / 60f;
        float x = c * (1f - MathF.Abs(hp % 2f - 1f));
        (float r, float g, float b) = (int)hp switch
        {
            0 => (c, x, 0f),
            1 => (x, c, 0f),
            2 => (0f, c, x),
            3 => (0f, x, c),
            4 => (x, 0f, c),
            _ => (c, 0f, x),
        };
        float m = v - c;
        return new Rgb(r + m, g + m, b + m);
    }

    private static int DeriveSeed(int seed, long index)
    {
        ulong z = SplitMix64((ulong)(uint)seed);
        z = SplitMix64(z ^ (ulong)index);
        return (int)(z >> 33); // 31 bits, non-negative
    }

    private static ulong SplitMix64(ulong x)
    {
        unchecked
        {
            x += 0x9E3779B97F4A7C15UL;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Shapes: coverage in [0, 1] at normalised (u, v); struct generics let the JIT inline per-pixel calls.

    private interface IShape
    {
        float Alpha(float u, float v);
    }

    /// <summary>Antialiasing half-width: ~0.7 px, so shape edges carry a smooth, meaningful gradient.</summary>
    private static float Aa(int size) => 0.7f / size;

    /// <summary>Coverage from a signed distance (negative inside) via smoothstep over [-aa, aa].</summary>
    private static float Coverage(float sd, float aa)
    {
        float t = Math.Clamp(0.5f - sd / (2f * aa), 0f, 1f);
        return t * t * (3f - 2f * t);
    }

    private readonly struct SoftDisk(float cx, float cy, float r, float aa) : IShape
    {
        public float Alpha(float u, float v)
        {
            float dx = u - cx, dy = v - cy;
            return Coverage(MathF.Sqrt(dx * dx + dy * dy) - r, aa);
        }
    }

    private readonly struct Gaussian(float cx, float cy, float sigma, float amplitude) : IShape
    {
        private readonly float _k = -0.5f / (sigma * sigma);

        public float Alpha(float u, float v)
        {
            float dx = u - cx, dy = v - cy;
            return amplitude * MathF.Exp((dx * dx + dy * dy) * _k);
        }
    }

    private readonly struct HalfPlane(float nx, float ny, float offset, float aa) : IShape
    {
        public float Alpha(float u, float v) => Coverage(nx * u + ny * v - offset, aa);
    }

    private readonly struct Box(float cx, float cy, float half, float angle, float aa) : IShape
    {
        private readonly float _c = MathF.Cos(angle), _s = MathF.Sin(angle);

        public float Alpha(float u, float v)
        {
            float dx = u - cx, dy = v - cy;
            float qx = MathF.Abs(_c * dx + _s * dy) - half;
            float qy = MathF.Abs(-_s * dx + _c * dy) - half;
            float ox = MathF.Max(qx, 0f), oy = MathF.Max(qy, 0f);
            float sd = MathF.Sqrt(ox * ox + oy * oy) + MathF.Min(MathF.Max(qx, qy), 0f);
            return Coverage(sd, aa);
        }
    }

    private readonly struct Triangle(float x0, float y0, float x1, float y1, float x2, float y2, float aa) : IShape
    {
        // Exact signed distance to a triangle (after Inigo Quilez), orientation-independent.
        public float Alpha(float u, float v)
        {
            float e0x = x1 - x0, e0y = y1 - y0, e1x = x2 - x1, e1y = y2 - y1, e2x = x0 - x2, e2y = y0 - y2;
            float v0x = u - x0, v0y = v - y0, v1x = u - x1, v1y = v - y1, v2x = u - x2, v2y = v - y2;
            float t0 = Math.Clamp((v0x * e0x + v0y * e0y) / (e0x * e0x + e0y * e0y), 0f, 1f);
            float t1 = Math.Clamp((v1x * e1x + v1y * e1y) / (e1x * e1x + e1y * e1y), 0f, 1f);
            float t2 = Math.Clamp((v2x * e2x + v2y * e2y) / (e2x * e2x + e2y * e2y), 0f, 1f);
            float p0x = v0x - e0x * t0, p0y = v0y - e0y * t0;
            float p1x = v1x - e1x * t1, p1y = v1y - e1y * t1;
            float p2x = v2x - e2x * t2, p2y = v2y - e2y * t2;
            float s = MathF.Sign(e0x * e2y - e0y * e2x);
            float d = MathF.Min(MathF.Min(p0x * p0x + p0y * p0y, p1x * p1x + p1y * p1y), p2x * p2x + p2y * p2y);
            float w = MathF.Min(MathF.Min(s * (v0x * e0y - v0y * e0x), s * (v1x * e1y - v1y * e1x)),
                s * (v2x * e2y - v2y * e2x));
            float sd = -MathF.Sqrt(d) * MathF.Sign(w);
            return Coverage(sd, aa);
        }
    }

    /// <summary>A stroked circular arc with round caps.</summary>
    private readonly struct Arc : IShape
    {
        private readonly float _cx, _cy, _r, _ax, _ay, _cosHalf, _e1x, _e1y, _e2x, _e2y, _halfWidth, _aa;

        private Arc(float cx, float cy, float r, float halfSpan, float apexX, float apexY, float halfWidth, float aa)
        {
            _cx = cx; _cy = cy; _r = r; _ax = apexX; _ay = apexY; _halfWidth = halfWidth; _aa = aa;
            _cosHalf = MathF.Cos(halfSpan);
            float sh = MathF.Sin(halfSpan);
            // Endpoints: apex direction rotated by +-halfSpan.
            _e1x = cx + r * (apexX * _cosHalf - apexY * sh);
            _e1y = cy + r * (apexX * sh + apexY * _cosHalf);
            _e2x = cx + r * (apexX * _cosHalf + apexY * sh);
            _e2y = cy + r * (-apexX * sh + apexY * _cosHalf);
        }

        /// <summary>
        /// An arc whose opening faces <paramref name="openingDeg"/> (screen angle), placed so the middle of its
        /// extent along that axis sits at (<paramref name="midU"/>, <paramref name="midV"/>).
        /// </summary>
        public static Arc Centered(float midU, float midV, float r, float halfSpan, float openingDeg, float halfWidth, int size)
        {
            float th = openingDeg * (MathF.PI / 180f);
            float ox = MathF.Cos(th), oy = -MathF.Sin(th); // opening direction in (u, v-down)
            // The apex (middle of the stroke) points away from the opening. Projected on the apex axis the stroke
            // spans r*cos(halfSpan) .. r from the circle centre (for any halfSpan up to 180 degrees).
            float along = r * (1f + MathF.Cos(halfSpan)) * 0.5f;
            return new Arc(midU + ox * along, midV + oy * along, r, halfSpan, -ox, -oy, halfWidth, Aa(size));
        }

        public float Alpha(float u, float v)
        {
            float qx = u - _cx, qy = v - _cy;
            float len = MathF.Sqrt(qx * qx + qy * qy);
            float dist;
            // Inside the angular span iff the angle to the apex direction is <= halfSpan.
            if (qx * _ax + qy * _ay >= _cosHalf * len)
            {
                dist = MathF.Abs(len - _r);
            }
            else
            {
                float d1x = u - _e1x, d1y = v - _e1y, d2x = u - _e2x, d2y = v - _e2y;
                dist = MathF.Sqrt(MathF.Min(d1x * d1x + d1y * d1y, d2x * d2x + d2y * d2y));
            }
            return Coverage(dist - _halfWidth, _aa);
        }
    }
}
