using System.Text.RegularExpressions;
using Microscope.Engine.Models.Custom;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Models;

/// <summary>A model given as files rather than by a zoo name: what a farm takes while running
/// (<c>microscope models add</c>, <c>POST /api/models</c>). The format follows the main file's
/// name: an ONNX graph (<c>.onnx</c>, with an optional JSON sidecar of options), or a
/// <c>.model.json</c> spec whose companion is its safetensors weights. Every path ends in a
/// <see cref="VisionModel"/> with weights, so sweeps and techniques treat it like a zoo model.</summary>
public static partial class ModelFiles
{
    [GeneratedRegex("^[a-z][a-z0-9_-]{0,63}$")]
    private static partial Regex NamePattern();

    public enum Format { Onnx, Spec }

    /// <summary>A model name is a name (it is part of links and object keys), never a path.</summary>
    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    /// <summary>The format a file name declares; unknown suffixes are refused with the accepted ones.</summary>
    public static Format FormatOf(string fileName) =>
        fileName.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? Format.Onnx
        : ModelSpec.IsSpecPath(fileName) ? Format.Spec
        : throw new InvalidDataException($"'{Path.GetFileName(fileName)}' is neither an ONNX model (.onnx) nor a model spec ({ModelSpec.FileSuffix})");

    /// <summary>The suffix the main file is stored under (the store keeps files by content hash).</summary>
    public static string Suffix(Format format) => format == Format.Onnx ? ".onnx" : ModelSpec.FileSuffix;

    /// <summary>What the second file is for this format, for messages and help.</summary>
    public static string CompanionRole(Format format) => format == Format.Onnx ? "sidecar (JSON options)" : "weights (safetensors)";

    /// <summary>The default name: the file name without its suffix, lower-cased.</summary>
    public static string DefaultName(string fileName)
    {
        var file = Path.GetFileName(fileName);
        var stem = file[..^Suffix(FormatOf(file)).Length];
        return stem.ToLowerInvariant().Replace('.', '_').Replace(' ', '_');
    }

    /// <summary>Builds the model under <paramref name="name"/> from its files and loads its
    /// weights on <paramref name="device"/>. A file the Engine cannot build (not the format,
    /// truncated, an unsupported op, no image input) throws <see cref="InvalidDataException"/>
    /// naming the problem.</summary>
    public static VisionModel Load(string name, Format format, string file, string? companion, Device device)
    {
        if (!IsValidName(name)) throw new InvalidDataException($"'{name}' is not a model name: 1-64 lower-case letters, digits, '_' or '-', starting with a letter");
        return format switch
        {
            Format.Onnx => LoadOnnx(name, file, companion, device),
            _ => LoadSpec(name, file, companion, device),
        };
    }

    private static VisionModel LoadSpec(string name, string file, string? weights, Device device)
    {
        if (weights is null) throw new InvalidDataException($"a model spec needs its weights (a safetensors file) beside it");
        var spec = ModelSpec.Read(file) with { Name = name };
        var model = new CustomModel(spec);
        try
        {
            model.LoadWeights(new WeightsSource.File(weights), device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static VisionModel LoadOnnx(string name, string file, string? sidecar, Device device)
    {
        // A sidecar's preprocessing graph is a path beside it: an added model is two files at
        // most, and a path from a client must never make the farm read its own disk.
        if (sidecar is not null && Onnx.OnnxSidecar.Read(sidecar).PreprocessingGraph is { } graph)
            throw new InvalidDataException($"the sidecar names a preprocessing graph ('{graph}'): a model added to a running farm cannot have one; declare mean/std/scale/bgr instead");
        var model = new Onnx.OnnxModel(new Onnx.OnnxModelSource(name, file, sidecar));
        try
        {
            model.LoadWeights(new WeightsSource.Shipped(), device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
