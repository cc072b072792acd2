namespace Microscope.Farm.Hosting;

/// <summary>Section <c>Models</c>: where each model's weights come from. Models without an
/// entry use the weights shipped with the project (only the demo model ships weights). The
/// coordinator and every worker must be given the same files: the model version is the
/// weights' content hash, and a worker refuses packets for another version.</summary>
public sealed class ModelWeightsOptions : IValidatedOptions
{
    public const string Section = "Models";

    /// <summary>Model slug → safetensors file, e.g. <c>Models:Weights:inceptionv1=/weights/inceptionv1.safetensors</c>.</summary>
    public Dictionary<string, string> Weights { get; set; } = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Validate() =>
        Weights.Where(w => !File.Exists(w.Value))
            .Select(w => $"Weights:{w.Key}: file '{w.Value}' does not exist (set {FarmConfiguration.EnvironmentName(Section, "Weights__" + w.Key)})")
            .ToList();

    public string? FileFor(string model) => Weights.TryGetValue(model, out var path) ? path : null;
}
