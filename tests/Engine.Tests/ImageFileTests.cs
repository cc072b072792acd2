using Microscope.Engine.Imaging;
using StbImageWriteSharp;

namespace Microscope.Engine.Tests;

public class ImageFileTests
{
    private static float[] Gradient(int w, int h)
    {
        var chw = new float[3 * w * h];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                chw[y * w + x] = x / (float)(w - 1);
                chw[w * h + y * w + x] = y / (float)(h - 1);
                chw[2 * w * h + y * w + x] = 0.25f;
            }
        return chw;
    }

    [Fact]
    public void Png_round_trips_to_8_bit_precision()
    {
        var chw = Gradient(20, 10);
        var png = ImageFile.EncodePng(chw, 20, 10);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        var back = ImageFile.Decode(png);
        Assert.Equal((20, 10), (back.Width, back.Height));
        for (var i = 0; i < chw.Length; i++) Assert.InRange(back.Pixels[i] - chw[i], -0.5f / 255, 0.5f / 255 + 1e-6f);
    }

    [Fact]
    public void Png_is_compressed_and_deterministic()
    {
        var chw = Gradient(128, 128);
        var png = ImageFile.EncodePng(chw, 128, 128);
        Assert.True(png.Length < 128 * 128 * 3 / 10, $"{png.Length} bytes for 49152 bytes of pixels");
        Assert.Equal(png, ImageFile.EncodePng(chw, 128, 128));
        var back = ImageFile.Decode(png);
        Assert.Equal(ImageFile.ToRgb24(chw, 128, 128), ImageFile.ToRgb24(back.Pixels, 128, 128));
    }

    [Fact]
    public void Jpeg_inputs_are_read_as_rgb()
    {
        var chw = Gradient(32, 16);
        using var stream = new MemoryStream();
        new ImageWriter().WriteJpg(ImageFile.ToRgb24(chw, 32, 16), 32, 16, ColorComponents.RedGreenBlue, stream, 95);
        var img = ImageFile.Decode(stream.ToArray(), "gradient.jpg");
        Assert.Equal((32, 16), (img.Width, img.Height));
        Assert.InRange(img[0, 8, 31], 0.9f, 1.0f);
        Assert.InRange(img[0, 8, 0], 0.0f, 0.1f);
        Assert.InRange(img[2, 8, 16], 0.18f, 0.32f);
    }

    [Fact]
    public void Garbage_is_refused_with_the_files_name()
    {
        var e = Assert.Throws<InvalidDataException>(() => ImageFile.Decode([1, 2, 3, 4, 5], "notes.txt"));
        Assert.Contains("notes.txt", e.Message);
    }
}
