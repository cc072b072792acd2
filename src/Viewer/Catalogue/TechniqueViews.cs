using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Engine.Lenses;

namespace Microscope.Viewer.Catalogue;

/// <summary>One picture of a result: its object key, what it shows, and when it was rendered
/// (<see cref="Revision"/>, see Html.ObjectUrl).</summary>
public sealed record ResultImage(string Key, string Caption, long? Revision = null);

/// <summary>How pages show each technique, read from the lens registry: its order, whether it
/// is op-level, and the files a result consists of (<see cref="Lens.Files"/>, with the
/// result's own lens parameters when known). A technique no lens answers to (a result of a
/// lens since removed) shows its image key as is.</summary>
public static class TechniqueViews
{
    /// <summary>The technique pages open with (the first of a default sweep: channel).</summary>
    public static string Default => LensRegistry.DefaultSweep.FirstOrDefault() ?? LensRegistry.Names[0];

    public static bool IsOpLevel(string technique) => LensRegistry.TryGet(technique)?.OpLevel ?? false;

    /// <summary>The lenses' display order; unknown techniques after every known one.</summary>
    public static int Rank(string technique)
    {
        var all = LensRegistry.All;
        for (var i = 0; i < all.Count; i++)
            if (all[i].Name == technique) return i;
        return all.Count;
    }

    public static IReadOnlyList<ResultImage> ImagesOf(ResultRow r, RenderSettings? parameters = null) =>
        KeysOf(r, parameters).Select(img => img with { Revision = r.RenderedAt }).ToList();

    private static IReadOnlyList<ResultImage> KeysOf(ResultRow r, RenderSettings? parameters)
    {
        var at = r.ImageKey.LastIndexOf(r.ParamsHash, StringComparison.Ordinal);
        if (at < 0 || LensRegistry.TryGet(r.Technique) is not { } lens) return [new ResultImage(r.ImageKey, r.Technique)];
        var stem = r.ImageKey[..(at + r.ParamsHash.Length)];
        return Files(lens, parameters).Select(f => new ResultImage(stem + f.Suffix, f.Caption)).ToList();
    }

    /// <summary>The lens's files under the result's parameters; its defaults when they are not
    /// recorded or no longer valid.</summary>
    private static IReadOnlyList<LensFile> Files(Lens lens, RenderSettings? parameters)
    {
        try { return lens.Files(lens.Arguments(parameters?.ParametersOf(lens.Name))); }
        catch (ArgumentException) { return lens.Files(lens.Arguments()); }
    }

    /// <summary>The object a grid cell shows, from the key layout
    /// <c>{model}/{version}/{op}/{unit}/{technique}/{paramsHash}{suffix}</c>: the first file
    /// the lens writes.</summary>
    public static string GridImageKey(string model, string version, string op, int unit, string technique, string paramsHash) =>
        $"{model}/{version}/{op}/{unit.ToString(System.Globalization.CultureInfo.InvariantCulture)}/{technique}/{paramsHash}" + GridSuffix(technique);

    /// <summary>The suffix of the file a grid cell shows (<see cref="Lens.GridSuffix"/>).</summary>
    public static string GridSuffix(string technique) => LensRegistry.TryGet(technique)?.GridSuffix ?? ".png";

    /// <summary>Alt text naming model, op, unit and technique (accessibility, and search engines).</summary>
    public static string Alt(string model, string op, int? unit, string technique, string? caption = null) =>
        $"{technique.Replace('_', ' ')} visualisation of {model} {op}" + (unit is null ? "" : $" unit {unit}") + (caption is null || caption == technique ? "" : $" ({caption})");
}
