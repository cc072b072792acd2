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
