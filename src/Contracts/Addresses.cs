namespace Microscope.Contracts;

/// <summary>The techniques the farm renders (the Engine's TechniqueCatalog names; the worker
/// runs each through the Engine's TechniqueRunner).</summary>
public static class Techniques
{
    public const string Channel = "channel";
    public const string Neuron = "neuron";
    public const string Diversity = "diversity";
    public const string DeepDream = "deepdream";
    public const string Caricature = "caricature";
    public const string DatasetExamples = "dataset_examples";
    public const string TuningCurves = "tuning_curves";
    /// <summary>In a sweep's techniques: every known technique.</summary>
    public const string Everything = "everything";

    /// <summary>The default of a sweep that names no techniques (and of <c>microscope demo</c>).</summary>
    public static readonly IReadOnlyList<string> All = [Channel, Neuron];
    /// <summary>Every technique the farm renders.</summary>
    public static readonly IReadOnlyList<string> Known = [Channel, Neuron, Diversity, DeepDream, Caricature, DatasetExamples, TuningCurves];

    /// <summary>Op-level images: one tuple per op, unit <see cref="UnitAddress.OpLevel"/>.</summary>
    public static bool IsOpLevel(string technique) => technique is DeepDream or Caricature;
    /// <summary>Op jobs: one pass over the op computes every unit's result, so a sweep packs
    /// all units of the op into one packet.</summary>
    public static bool IsOpJob(string technique) => technique is DatasetExamples or TuningCurves;

    /// <summary>The names with "everything" expanded, duplicates removed, in order; unknown
    /// names are returned in <paramref name="unknown"/>.</summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> names, out IReadOnlyList<string> unknown)
    {
        var result = new List<string>();
        var bad = new List<string>();
        foreach (var n in names)
        {
            if (n == Everything) result.AddRange(Known);
            else if (Known.Contains(n)) result.Add(n);
            else bad.Add(n);
        }
        unknown = bad;
        return result.Distinct().ToList();
    }
}

/// <summary>One unit of one op of one model version, as linked everywhere:
/// <c>demo/abc123def456/conv3/9</c>. Op-level results (deepdream, caricature) have unit
/// <see cref="OpLevel"/> (-1), written "op" in addresses and keys: <c>demo/abc123def456/conv3/op</c>.</summary>
public sealed record UnitAddress(string Model, string Version, string Op, int Unit)
{
    public const int OpLevel = -1;

    public string UnitSegment => Unit == OpLevel ? "op" : Unit.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public override string ToString() => $"{Model}/{Version}/{Op}/{UnitSegment}";
}

/// <summary>Deterministic object keys (architecture doc): a re-delivered message overwrites
/// the same objects instead of adding new ones.</summary>
public static class ObjectKeys
{
    public static string Image(UnitAddress a, string technique, string paramsHash) => $"{Stem(a, technique, paramsHash)}.png";
    public static string Record(UnitAddress a, string technique, string paramsHash) => $"{Stem(a, technique, paramsHash)}.json";
    /// <summary>Any file of a result: the stem plus the technique's suffix (".png", "-0.png",
    /// ".channel.png", ".orientation.svg", ".json", ...).</summary>
    public static string File(UnitAddress a, string technique, string paramsHash, string suffix) => $"{Stem(a, technique, paramsHash)}{suffix}";

    public static string Stem(UnitAddress a, string technique, string paramsHash) =>
        $"{a.Model}/{a.Version}/{a.Op}/{a.UnitSegment}/{technique}/{paramsHash}";
}
