using Microscope.Coordinator.Data;

namespace Microscope.Viewer.Catalogue;

/// <summary>One picture of a result: its object key, what it shows, and when it was rendered
/// (<see cref="Revision"/>, see Html.ObjectUrl).</summary>
public sealed record ResultImage(string Key, string Caption, long? Revision = null);

/// <summary>Which objects a result consists of, by technique (docs/techniques.md: the
/// suffixes the TechniqueRunner writes beside "{...}/{paramsHash}"). Unknown techniques
/// show their image key as is, so a new technique appears without a viewer change.</summary>
public static class TechniqueViews
{
    /// <summary>Techniques rendered for a whole op rather than per unit.</summary>
    public static readonly IReadOnlySet<string> OpLevel = new HashSet<string>(StringComparer.Ordinal) { "deepdream", "caricature" };
    /// <summary>The unit techniques in the order pages show them.</summary>
    public static readonly IReadOnlyList<string> UnitOrder = ["channel", "neuron", "diversity", "dataset_examples", "tuning_curves"];
    // The runner's defaults: 4 diversity images, 4 caricature inputs, these tuning families.
    private const int DefaultImages = 4;
    private static readonly string[] TuningFamilies = ["orientation", "curve", "hue", "frequency"];

    public static int Rank(string technique)
    {
        for (var i = 0; i < UnitOrder.Count; i++)
            if (UnitOrder[i] == technique) return i;
        return UnitOrder.Count;
    }

    public static IReadOnlyList<ResultImage> ImagesOf(ResultRow r) =>
        KeysOf(r).Select(img => img with { Revision = r.RenderedAt }).ToList();

    private static IReadOnlyList<ResultImage> KeysOf(ResultRow r)
    {
        var at = r.ImageKey.LastIndexOf(r.ParamsHash, StringComparison.Ordinal);
        if (at < 0) return [new ResultImage(r.ImageKey, r.Technique)];
        var stem = r.ImageKey[..(at + r.ParamsHash.Length)];
        return r.Technique switch
        {
            "diversity" or "caricature" when r.ImageKey.EndsWith("-0.png", StringComparison.Ordinal) =>
                Enumerable.Range(0, DefaultImages).Select(i => new ResultImage($"{stem}-{i}.png", $"{r.Technique} image {i + 1}")).ToList(),
            "dataset_examples" => [new ResultImage($"{stem}.channel.png", "top images by channel activation"), new ResultImage($"{stem}.neuron.png", "top crops by neuron activation (receptive field)")],
            "tuning_curves" => TuningFamilies.Select(f => new ResultImage($"{stem}.{f}.svg", $"{f} tuning curve")).ToList(),
            _ => [new ResultImage(r.ImageKey, r.Technique)],
        };
    }

    /// <summary>The object a grid cell shows, from the key layout
    /// <c>{model}/{version}/{op}/{unit}/{technique}/{paramsHash}{suffix}</c>: the first image
    /// the technique writes.</summary>
    public static string GridImageKey(string model, string version, string op, int unit, string technique, string paramsHash) =>
        $"{model}/{version}/{op}/{unit.ToString(System.Globalization.CultureInfo.InvariantCulture)}/{technique}/{paramsHash}" + technique switch
        {
            "diversity" or "caricature" => "-0.png",
            "dataset_examples" => ".channel.png",
            "tuning_curves" => ".orientation.svg",
            _ => ".png",
        };

    /// <summary>Alt text naming model, op, unit and technique (accessibility, and search engines).</summary>
    public static string Alt(string model, string op, int? unit, string technique, string? caption = null) =>
        $"{technique.Replace('_', ' ')} visualisation of {model} {op}" + (unit is null ? "" : $" unit {unit}") + (caption is null || caption == technique ? "" : $" ({caption})");
}
