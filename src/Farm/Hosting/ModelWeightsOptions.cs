using Microscope.Engine.Models;
using Microscope.Engine.Models.Custom;

namespace Microscope.Farm.Hosting;

/// <summary>Section <c>Models</c>: where each model's weights come from, and users' own
/// models. Models without a weights entry use the weights shipped with the project (only the
/// demo model ships weights). The coordinator and every worker must be given the same files:
/// the model version is the weights' content hash (and a user model's layers), and a worker
/// refuses packets for another version.</summary>
public sealed class ModelWeightsOptions : IValidatedOptions
{
    public const string Section = "Models";

    /// <summary>Model slug → safetensors file, e.g. <c>Models:Weights:inceptionv1=/weights/inceptionv1.safetensors</c>.</summary>
    public Dictionary<string, string> Weights { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A user's own model: slug → its <c>.model.json</c> (docs/models.md, "Bring your
    /// own model"), e.g. <c>Models:Specs:mynet=/weights/mynet.model.json</c>; its weights go in
    /// <see cref="Weights"/> under the same slug.</summary>
    public Dictionary<string, string> Specs { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Model slug → the folder of JPEG/PNG images its dataset examples are taken from,
    /// e.g. <c>Models:Datasets:alexnet_places365=/weights/datasets/places365</c>: a model's
    /// examples come from the data set it was trained on. Models without an entry use the
    /// worker's <c>Worker:DatasetFolder</c> (or the demo's procedural images).</summary>
    public Dictionary<string, string> Datasets { get; set; } = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Validate()
    {
        var problems = Weights.Where(w => !File.Exists(w.Value))
            .Select(w => $"Weights:{w.Key}: file '{w.Value}' does not exist (set {FarmConfiguration.EnvironmentName(Section, "Weights__" + w.Key)})")
            .ToList();
        problems.AddRange(Datasets.Where(d => !Directory.Exists(d.Value))
            .Select(d => $"Datasets:{d.Key}: folder '{d.Value}' does not exist (set {FarmConfiguration.EnvironmentName(Section, "Datasets__" + d.Key)})"));
        foreach (var (name, path) in Specs)
        {
            var variable = FarmConfiguration.EnvironmentName(Section, "Specs__" + name);
            try
            {
                var spec = ModelSpec.Read(path);
                if (spec.Name != name) problems.Add($"Specs:{name}: '{path}' defines the model '{spec.Name}', not '{name}' ({variable})");
                else if (ModelZoo.IsBuiltIn(name)) problems.Add($"Specs:{name}: '{name}' is a built-in model; give the user model another name ({variable})");
                else if (!Weights.ContainsKey(name)) problems.Add($"Specs:{name}: no weights: set {FarmConfiguration.EnvironmentName(Section, "Weights__" + name)}");
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                problems.Add($"Specs:{name}: {e.Message} ({variable})");
            }
        }
        return problems;
    }

    public string? FileFor(string model) => Weights.TryGetValue(model, out var path) ? path : null;

    public string? DatasetFor(string model) => Datasets.TryGetValue(model, out var folder) ? folder : null;

    /// <summary>Makes the configured user models known to <see cref="ModelZoo"/> in this
    /// process (the coordinator's and the worker's hosts call it at build).</summary>
    public void RegisterSpecs()
    {
        foreach (var path in Specs.Values) ModelZoo.Register(ModelSpec.Read(path));
    }
}
