using Microscope.Engine.Demo;
using Microscope.Engine.Models.Custom;
using Microscope.Engine.Models.Onnx;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Models;

/// <summary>Every model organism the farm knows, by slug. A new architecture is one file
/// (a <see cref="VisionModel"/> subclass) plus one line here.</summary>
public static class ModelZoo
{
    private static readonly Dictionary<string, Func<VisionModel>> Factories = new(StringComparer.Ordinal)
    {
        ["demo"] = () => new DemoNet(),
        ["inceptionv1"] = () => new Zoo.InceptionV1(),
        ["inceptionv1_places365"] = () => new Zoo.InceptionV1Places365(),
        ["alexnet"] = () => new Zoo.AlexNet(),
        ["alexnet_places365"] = () => new Zoo.AlexNetPlaces365(),
        ["vgg19"] = () => new Zoo.Vgg19(),
        ["inceptionv3"] = () => new Zoo.InceptionV3(),
        ["inceptionv4"] = () => new Zoo.InceptionV4(),
        ["resnetv2_50"] = () => new Zoo.ResNetV2_50(),
        [Zoo.ResNet18.Name] = Zoo.ResNet18.Create,
    };

    /// <summary>Users' own models (<see cref="Register"/>): configured by the farm's hosts at start.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, ModelSpec> Custom = new(StringComparer.Ordinal);

    /// <summary>ONNX models registered at run time (<see cref="Register(OnnxModelSource)"/>).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, OnnxModelSource> Onnx = new(StringComparer.Ordinal);

    public static IReadOnlyList<string> Names => [.. Factories.Keys, .. Custom.Keys.Concat(Onnx.Keys).Distinct().Order(StringComparer.Ordinal)];

    public static bool IsBuiltIn(string name) => Factories.ContainsKey(name);

    /// <summary>Makes a user's model known by its name; registering a name again replaces it.
    /// The zoo's names cannot be taken.</summary>
    public static void Register(ModelSpec spec)
    {
        if (Factories.ContainsKey(spec.Name))
            throw new InvalidDataException($"model spec '{spec.Source}': the name '{spec.Name}' is a built-in model; choose another");
        Onnx.TryRemove(spec.Name, out _);
        Custom[spec.Name] = spec;
    }

    /// <summary>Makes an ONNX model known by its name (the farm registers models added at run
    /// time); registering a name again replaces it. The file is read when the model is created.</summary>
    public static void Register(OnnxModelSource source)
    {
        if (Factories.ContainsKey(source.Name))
            throw new InvalidDataException($"ONNX model '{source.OnnxPath}': the name '{source.Name}' is a built-in model; choose another");
        Custom.TryRemove(source.Name, out _);
        Onnx[source.Name] = source;
    }

    /// <summary>As above; without <paramref name="sidecarPath"/>, FILE.onnx.json beside the file counts if it exists.</summary>
    public static void Register(string name, string onnxPath, string? sidecarPath = null) =>
        Register(new OnnxModelSource(name, onnxPath, sidecarPath ?? (File.Exists(OnnxSidecar.PathBeside(onnxPath)) ? OnnxSidecar.PathBeside(onnxPath) : null)));

    /// <summary>Forgets a registered (not built-in) model; false when none had the name.</summary>
    public static bool Unregister(string name) => Custom.TryRemove(name, out _) | Onnx.TryRemove(name, out _);

    /// <summary>Whether a model argument is the path of an ONNX file rather than a model's name.</summary>
    public static bool IsOnnxPath(string model) => model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    /// <summary>The architecture without weights (for op lists and unit counts): a model's
    /// name, or the path of a <c>.model.json</c> or <c>.onnx</c> file (a user's own model; an
    /// ONNX model carries its weights: load them with <see cref="WeightsSource.Shipped"/>).</summary>
    public static VisionModel CreateArchitecture(string name)
    {
        if (Factories.TryGetValue(name, out var f)) return f();
        if (Custom.TryGetValue(name, out var spec)) return new CustomModel(spec);
        if (Onnx.TryGetValue(name, out var onnx)) return new OnnxModel(onnx);
        if (ModelSpec.IsSpecPath(name)) return new CustomModel(ModelSpec.Read(name));
        if (IsOnnxPath(name)) return new OnnxModel(name);
        throw new UnknownNameException($"unknown model '{name}'{NameSuggestions.Format(name, Names)}; known: {string.Join(", ", Names)} (or the path of a {ModelSpec.FileSuffix} or .onnx file)");
    }

    /// <summary>A model's ops, shapes and unit counts without weights (no version). The built-in
    /// models' come from the stored <see cref="Zoo.ZooDescriptors"/>, so no model is built;
    /// other models are built and described.</summary>
    public static ModelDescriptor DescribeArchitecture(string name) =>
        (IsBuiltIn(name) ? Zoo.ZooDescriptors.Find(name) : null) ?? Zoo.ZooDescriptors.Compute(name);

    public static VisionModel Load(string name, WeightsSource weights, Device device)
    {
        var model = CreateArchitecture(name);
        try
        {
            model.LoadWeights(weights, device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
