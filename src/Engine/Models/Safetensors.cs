using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Microscope.Engine.Models;

/// <summary>One tensor read from a safetensors file, converted to float32.</summary>
public sealed record NamedArray(string Name, long[] Shape, float[] Data);

/// <summary>Reads and writes the safetensors format: an 8-byte little-endian header
/// length, a JSON header {name: {dtype, shape, data_offsets}}, then raw little-endian data.
/// F32 is stored as is; F64, F16 and BF16 are converted to float32 on load.</summary>
public static class Safetensors
{
    public static IReadOnlyList<NamedArray> Read(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Read(stream);
        }
        catch (FileNotFoundException)
        {
            throw new InvalidDataException($"weights file not found: {path}");
        }
    }

    public static IReadOnlyList<NamedArray> Read(Stream stream)
    {
        Span<byte> lenBytes = stackalloc byte[8];
        stream.ReadExactly(lenBytes);
        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(lenBytes);
        if (headerLength <= 0 || headerLength > 100_000_000)
            throw new InvalidDataException($"not a safetensors file: header length {headerLength}");
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        JsonObject header;
        try { header = JsonNode.Parse(headerBytes)?.AsObject() ?? throw new InvalidDataException("empty safetensors header"); }
        catch (JsonException e) { throw new InvalidDataException($"not a safetensors file: bad header JSON ({e.Message})"); }

        using var body = new MemoryStream();
        stream.CopyTo(body);
        var data = body.GetBuffer().AsSpan(0, (int)body.Length);

        var result = new List<NamedArray>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__" || node is null) continue;
            var dtype = node["dtype"]!.GetValue<string>();
            var shape = node["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
            var offsets = node["data_offsets"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
            if (offsets[1] > data.Length || offsets[0] > offsets[1])
                throw new InvalidDataException($"tensor '{name}': data offsets [{offsets[0]}, {offsets[1]}) outside the file's {data.Length} data bytes");
            var bytes = data[(int)offsets[0]..(int)offsets[1]];
            long count = 1;
            foreach (var d in shape) count *= d;
            result.Add(new NamedArray(name, shape, Decode(name, dtype, bytes, count)));
        }
        return result;
    }

    private static float[] Decode(string name, string dtype, ReadOnlySpan<byte> bytes, long count)
    {
        int width = dtype switch { "F32" => 4, "F64" => 8, "F16" or "BF16" => 2, _ => throw new InvalidDataException($"tensor '{name}': unsupported dtype {dtype}") };
        if (bytes.Length != count * width)
            throw new InvalidDataException($"tensor '{name}': {bytes.Length} bytes for {count} {dtype} values");
        var result = new float[count];
        for (var i = 0; i < count; i++)
        {
            var b = bytes.Slice(i * width, width);
            result[i] = dtype switch
            {
                "F32" => BinaryPrimitives.ReadSingleLittleEndian(b),
                "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(b),
                "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(b),
                _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16),
            };
        }
        return result;
    }

    /// <summary>Writes float32 tensors in name order (so the same weights give the same bytes).</summary>
    public static void Write(string path, IEnumerable<NamedArray> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = File.Create(path);
        Write(stream, tensors, metadata);
    }

    public static void Write(Stream stream, IEnumerable<NamedArray> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is not null)
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var t in ordered)
        {
            var size = t.Data.LongLength * 4;
            header[t.Name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + size),
            };
            offset += size;
        }
        var headerBytes = JsonSerializer.SerializeToUtf8Bytes(header);
        // The format pads the header with spaces to a multiple of 8 bytes.
        var padded = (headerBytes.Length + 7) / 8 * 8;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(len, padded);
        stream.Write(len);
        stream.Write(headerBytes);
        for (var i = headerBytes.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var t in ordered)
        {
            var bytes = new byte[t.Data.Length * 4];
            for (var i = 0; i < t.Data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), t.Data[i]);
            stream.Write(bytes);
        }
    }
}
