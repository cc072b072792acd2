using Microscope.Engine.Demo;
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

    public static IReadOnlyList<string> Names => Factories.Keys.ToList();

    /// <summary>The architecture without weights (for op lists and unit counts).</summary>
    public static VisionModel CreateArchitecture(string name) =>
        Factories.TryGetValue(name, out var f) ? f()
            : throw new UnknownNameException($"unknown model '{name}'{NameSuggestions.Format(name, Factories.Keys)}; known: {string.Join(", ", Factories.Keys)}");

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
