using System.Buffers.Binary;
using System.IO.Compression;

namespace Microscope.Engine.Imaging;

/// <summary>8-bit RGB PNG writer: Paeth-filtered rows, zlib-compressed by the BCL.
/// (StbImageWriteSharp's PNG writer stores data uncompressed: 5-10x larger files.)
/// Deterministic: the same pixels give the same bytes.</summary>
public static class PngEncoder
{
    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    public static byte[] Encode(byte[] rgb, int width, int height)
    {
        if (rgb.Length != width * height * 3) throw new ArgumentException($"{rgb.Length} bytes for a {width}x{height} RGB image");
        using var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;  // bit depth
        header[9] = 2;  // colour type: RGB
        Chunk(output, "IHDR", header);

        using (var raw = new MemoryStream())
        {
            using (var z = new ZLibStream(raw, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                var stride = width * 3;
                var filtered = new byte[stride + 1];
                filtered[0] = 4; // Paeth: best on average for photographic content
                for (var y = 0; y < height; y++)
                {
                    var row = rgb.AsSpan(y * stride, stride);
                    var up = y > 0 ? rgb.AsSpan((y - 1) * stride, stride) : Span<byte>.Empty;
                    for (var i = 0; i < stride; i++)
                    {
                        int a = i >= 3 ? row[i - 3] : 0, b = y > 0 ? up[i] : 0, c = i >= 3 && y > 0 ? up[i - 3] : 0;
                        filtered[i + 1] = (byte)(row[i] - Paeth(a, b, c));
                    }
                    z.Write(filtered);
                }
            }
            Chunk(output, "IDAT", raw.ToArray());
        }
        Chunk(output, "IEND", []);
        return output.ToArray();
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> buf = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buf, data.Length);
        s.Write(buf);
        var typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        var crc = 0xFFFFFFFFu;
        foreach (var b in typeBytes.Concat(data)) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        BinaryPrimitives.WriteUInt32BigEndian(buf, crc ^ 0xFFFFFFFFu);
        s.Write(buf);
    }
}
