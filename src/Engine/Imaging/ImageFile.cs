using StbImageSharp;

namespace Microscope.Engine.Imaging;

/// <summary>An RGB image as CHW floats in [0, 1] (the Engine's layout).</summary>
public sealed record RgbImage(float[] Pixels, int Width, int Height)
{
    public float this[int channel, int y, int x] => Pixels[(channel * Height + y) * Width + x];
}

/// <summary>PNG output (8-bit RGB) and PNG/JPEG input.</summary>
public static class ImageFile
{
    /// <summary>Quantises CHW floats in [0, 1] to interleaved 8-bit RGB (round to nearest).</summary>
    public static byte[] ToRgb24(float[] chw, int width, int height)
    {
        if (chw.Length != 3 * width * height)
            throw new ArgumentException($"{chw.Length} values for a 3x{height}x{width} image");
        var plane = width * height;
        var rgb = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++)
                rgb[i * 3 + c] = (byte)Math.Clamp((int)MathF.Round(chw[c * plane + i] * 255f), 0, 255);
        return rgb;
    }

    public static byte[] EncodePng(float[] chw, int width, int height) => PngEncoder.Encode(ToRgb24(chw, width, height), width, height);

    public static void SavePng(string path, float[] chw, int width, int height) =>
        File.WriteAllBytes(path, EncodePng(chw, width, height));

    /// <summary>Decodes a PNG or JPEG (any channel layout) to RGB.</summary>
    public static RgbImage Decode(byte[] bytes, string name = "image")
    {
        ImageResult img;
        try { img = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue); }
        catch (Exception e) { throw new InvalidDataException($"{name} is not a readable PNG or JPEG image: {e.Message}", e); }
        var plane = img.Width * img.Height;
        var chw = new float[3 * plane];
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++)
                chw[c * plane + i] = img.Data[i * 3 + c] / 255f;
        return new RgbImage(chw, img.Width, img.Height);
    }

    public static RgbImage Load(string path) => Decode(File.ReadAllBytes(path), path);
}
