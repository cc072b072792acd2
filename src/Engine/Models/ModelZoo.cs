using Microscope.Engine.Demo;
using Microscope.Engine.Models.Custom;
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
    };

    /// <summary>Users' own models (<see cref="Register"/>): configured by the farm's hosts at start.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, ModelSpec> Custom = new(StringComparer.Ordinal);

    public static IReadOnlyList<string> Names => [.. Factories.Keys, .. Custom.Keys.Order(StringComparer.Ordinal)];

    public static bool IsBuiltIn(string name) => Factories.ContainsKey(name);

    /// <summary>Makes a user's model known by its name; registering a name again replaces it.
    /// The zoo's names cannot be taken.</summary>
    public static void Register(ModelSpec spec)
    {
        if (Factories.ContainsKey(spec.Name))
            throw new InvalidDataException($"model spec '{spec.Source}': the name '{spec.Name}' is a built-in model; choose another");
        Custom[spec.Name] = spec;
    }

    /// <summary>The architecture without weights (for op lists and unit counts): a model's
    /// name, or the path of a <c>.model.json</c> file (a user's own model).</summary>
    public static VisionModel CreateArchitecture(string name)
    {
        if (Factories.TryGetValue(name, out var f)) return f();
        if (Custom.TryGetValue(name, out var spec)) return new CustomModel(spec);
        if (ModelSpec.IsSpecPath(name)) return new CustomModel(ModelSpec.Read(name));
        throw new UnknownNameException($"unknown model '{name}'{NameSuggestions.Format(name, Names)}; known: {string.Join(", ", Names)} (or the path of a {ModelSpec.FileSuffix} file)");
    }

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
