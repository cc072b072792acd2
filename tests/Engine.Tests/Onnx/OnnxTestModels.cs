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

    public static string Folder
    {
        get
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Script)))[..12];
            return Path.Combine(Path.GetTempPath(), "microscope-onnx-zoo", hash);
        }
    }

    /// <summary>The path of an exported model, exporting it first if the cache lacks it.</summary>
    public static string Get(string name)
    {
        lock (Gate)
        {
            var path = Path.Combine(Folder, name + ".onnx");
            if (File.Exists(path)) return path;
            Assert.True(File.Exists("/usr/bin/python3"), "/usr/bin/python3 is missing: scripts/install-deps.sh installs python3-torch, python3-torchvision and python3-onnx");
            Directory.CreateDirectory(Folder);
            ZooConverterTests.Run(Script, [Folder, name]);
            Assert.True(File.Exists(path), $"{Script} wrote no {path}");
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
