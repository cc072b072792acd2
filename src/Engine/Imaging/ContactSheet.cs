namespace Microscope.Engine.Imaging;

/// <summary>Tiles equally sized CHW images into one grid image (white gaps), so a whole op
/// can be seen at a glance.</summary>
public static class ContactSheet
{
    public static RgbImage Tile(IReadOnlyList<float[]> images, int size, int columns = 0, int gap = 2)
    {
        if (images.Count == 0) throw new ArgumentException("no images to tile");
        if (columns <= 0) columns = (int)Math.Ceiling(Math.Sqrt(images.Count));
        var rows = (images.Count + columns - 1) / columns;
        var width = columns * size + (columns + 1) * gap;
        var height = rows * size + (rows + 1) * gap;
        var sheet = new float[3 * width * height];
        Array.Fill(sheet, 1f);
        for (var i = 0; i < images.Count; i++)
        {
            var img = images[i];
            if (img.Length != 3 * size * size) throw new ArgumentException($"image {i} is not 3x{size}x{size}");
            var ox = gap + i % columns * (size + gap);
            var oy = gap + i / columns * (size + gap);
            for (var c = 0; c < 3; c++)
                for (var y = 0; y < size; y++)
                    Array.Copy(img, (c * size + y) * size, sheet, (c * height + oy + y) * width + ox, size);
        }
        return new RgbImage(sheet, width, height);
    }
}
