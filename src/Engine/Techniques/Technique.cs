using Microscope.Engine.Models;

namespace Microscope.Engine.Techniques;

/// <summary>What a technique produces: one image per unit (optimised), images of the whole
/// op (optimised), or an op-level job over images with results per unit.</summary>
public enum TechniqueKind { UnitImage, OpImage, OpJob }

public sealed record TechniqueInfo(string Name, TechniqueKind Kind, string Description);

/// <summary>The lenses Microscope shows a model through, by the names used in sweeps, object
/// keys and links.</summary>
public static class TechniqueCatalog
{
    public const string Channel = "channel";
    public const string Neuron = "neuron";
    public const string Diversity = "diversity";
    public const string DeepDream = "deepdream";
    public const string Caricature = "caricature";
    public const string DatasetExamples = "dataset_examples";
    public const string TuningCurves = "tuning_curves";

    public static IReadOnlyList<TechniqueInfo> All { get; } =
    [
        new(Channel, TechniqueKind.UnitImage, "feature visualisation of a channel (spatial mean)"),
        new(Neuron, TechniqueKind.UnitImage, "feature visualisation of the channel at the op's centre position"),
        new(Diversity, TechniqueKind.UnitImage, "several images per unit pushed apart by the diversity objective"),
        new(DeepDream, TechniqueKind.OpImage, "one image maximising the whole op's squared activation"),
        new(Caricature, TechniqueKind.OpImage, "for each input image, an image exaggerating what the op sees in it"),
        new(DatasetExamples, TechniqueKind.OpJob, "top-k data-set images per unit, by channel and by neuron"),
        new(TuningCurves, TechniqueKind.OpJob, "each unit's response to synthetic image families"),
    ];

    /// <summary>"everything" (or "all") expands to every technique.</summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> names)
    {
        var result = new List<string>();
        foreach (var n in names)
        {
            if (n is "everything" or "all") result.AddRange(All.Select(t => t.Name));
            else result.Add(Get(n).Name);
        }
        return result.Distinct().ToList();
    }

    public static TechniqueInfo Get(string name) =>
        All.FirstOrDefault(t => t.Name == name)
        ?? throw new UnknownNameException($"unknown technique '{name}'{NameSuggestions.Format(name, All.Select(t => t.Name))}; known: {string.Join(", ", All.Select(t => t.Name))}, everything");
}
