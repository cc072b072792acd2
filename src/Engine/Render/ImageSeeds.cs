namespace Microscope.Engine.Render;

/// <summary>Same seed, same pixels: each image's starting spectrum is drawn from its own
/// generator, seeded from (render seed, unit, image of the unit), never from its position in
/// the batch; the transforms' random draws (shared by the whole batch) come from a generator
/// seeded by the render seed alone. So a unit renders the same image alone or at any position
/// of any batch (within float noise), and a retry or repack rewrites the same pixels.
/// <see cref="Scheme"/> names this rule in records and in the parameters hash (scheme 1 drew
/// the whole batch from one generator).</summary>
public static class ImageSeeds
{
    public const int Scheme = 2;

    /// <summary>Op-level renders have no unit: their images use this one.</summary>
    public const int NoUnit = -1;

    /// <summary>A 32-bit seed from (seed, unit, image) by SplitMix64 (stable across processes
    /// and platforms, unlike HashCode).</summary>
    public static int Of(int seed, int unit, int image)
    {
        var x = Mix((ulong)(uint)seed);
        x = Mix(x ^ (ulong)(uint)unit);
        x = Mix(x ^ ((ulong)(uint)image << 32));
        return (int)(x & 0x7FFF_FFFF);
    }

    /// <summary>The transforms' generator seed: distinct from every image's.</summary>
    public static int Transforms(int seed) => (int)(Mix(Mix((ulong)(uint)seed) ^ 0x5EED_7A45_F0E5UL) & 0x7FFF_FFFF);

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
