using System.Security.Cryptography;
using Google.Protobuf;
using Microscope.Engine.Models.Onnx;
using Microscope.Engine.Tests.Zoo;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microscope.Engine.Tests.Onnx;

/// <summary>The exported test models: tools/export_onnx_zoo.py (Debian's python3-torch 1.13)
/// writes them once into a cache folder named after the script's hash, so a second run (or a
/// second test) reuses them.</summary>
internal static class OnnxTestModels
{
    private static readonly Lock Gate = new();

    public static string Script => Path.Combine(ZooConverterTests.Root(), "tools", "export_onnx_zoo.py");
    /// <summary>The generators (latent input) and ConvTranspose variants: tools/export_generators.py.</summary>
    public static string GeneratorScript => Path.Combine(ZooConverterTests.Root(), "tools", "export_generators.py");

    public static string Folder => FolderOf(Script);

    private static string FolderOf(string script)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(script)))[..12];
        return Path.Combine(Path.GetTempPath(), "microscope-onnx-zoo", hash);
    }

    /// <summary>The path of an exported model, exporting it first if the cache lacks it.</summary>
    public static string Get(string name) => Export(Script, name);

    /// <summary>A model of tools/export_generators.py (dcgan, dcgan_fc, convtranspose).</summary>
    public static string Generator(string name) => Export(GeneratorScript, name);

    private static string Export(string script, string name)
    {
        lock (Gate)
        {
            var folder = FolderOf(script);
            var path = Path.Combine(folder, name + ".onnx");
            if (File.Exists(path)) return path;
            Assert.True(File.Exists("/usr/bin/python3"), "/usr/bin/python3 is missing: scripts/install-deps.sh installs python3-torch, python3-torchvision and python3-onnx");
            Directory.CreateDirectory(folder);
            ZooConverterTests.Run(script, [folder, name]);
            Assert.True(File.Exists(path), $"{script} wrote no {path}");
            return path;
        }
    }
}

/// <summary>ONNX Runtime as the oracle: a copy of the model with the wanted intermediate values
/// added as graph outputs, run without graph optimisations on the same input.</summary>
internal static class OnnxRuntimeOracle
{
    public static Dictionary<string, (long[] Shape, float[] Data)> Run(string onnxPath, string inputName, long[] shape, float[] input, IReadOnlyCollection<string> values)
    {
        var model = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath));
        var outputs = model.Graph.Output.Select(o => o.Name).ToHashSet();
        foreach (var v in values)
            if (outputs.Add(v)) model.Graph.Output.Add(new global::Onnx.ValueInfoProto { Name = v });
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(model.ToByteArray(), options);
        var tensor = new DenseTensor<float>(input, shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, tensor)], values.ToList());
        return results.ToDictionary(r => r.Name, r =>
        {
            var t = r.AsTensor<float>();
            return (t.Dimensions.ToArray().Select(d => (long)d).ToArray(), t.ToArray());
        });
    }
}
