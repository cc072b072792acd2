using System.Text.Json;

namespace Microscope.Engine.Models.Zoo;

/// <summary>The built-in models' architecture descriptors (ops, units, shapes, edges, parameter
/// count; no weights, so no version), generated once into <c>descriptors.json</c> and embedded
/// in the Engine. Listing models then needs no model built: building them allocates every
/// weight (VGG19 alone is half a gigabyte) and runs a forward to count units, seconds per call.
/// A test recomputes them from the models and fails when they drift; docs/models.md says how
/// to regenerate the file.</summary>
public static class ZooDescriptors
{
    public const string ResourceName = "zoo-descriptors.json";

    /// <summary>Where the file lives in the source tree (the regeneration writes it there).</summary>
    public const string SourcePath = "src/Engine/Models/Zoo/descriptors.json";

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    private static readonly Lazy<IReadOnlyDictionary<string, ModelDescriptor>> Stored = new(Read);

    /// <summary>The stored architecture descriptor of a built-in model; null for any other name.</summary>
    public static ModelDescriptor? Find(string name) => Stored.Value.GetValueOrDefault(name);

    /// <summary>What the stored descriptor must equal: the model built without weights, described
    /// by one batch-1 forward (<see cref="VisionModel.Describe"/>).</summary>
    public static ModelDescriptor Compute(string name)
    {
        using var model = ModelZoo.CreateArchitecture(name);
        return model.Describe();
    }

    /// <summary>The file's text for these descriptors, in the zoo's order.</summary>
    public static string Serialize(IEnumerable<ModelDescriptor> descriptors) =>
        JsonSerializer.Serialize(descriptors.Select(Stable).ToList(), Options) + "\n";

    public static IReadOnlyList<ModelDescriptor> Parse(string json) =>
        JsonSerializer.Deserialize<List<ModelDescriptor>>(json, Options)
        ?? throw new InvalidDataException("zoo descriptors: the file holds no list");

    // Concrete list types, so a stored descriptor and a computed one serialise alike.
    private static ModelDescriptor Stable(ModelDescriptor d) => d with
    {
        Ops = [.. d.Ops.Select(o => o with { Inputs = [.. o.Inputs], Aliases = o.Aliases is null ? null : [.. o.Aliases] })],
    };

    private static IReadOnlyDictionary<string, ModelDescriptor> Read()
    {
        using var stream = typeof(ZooDescriptors).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the Engine was built without its {ResourceName} ({SourcePath})");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd()).ToDictionary(d => d.Name, StringComparer.Ordinal);
    }
}
