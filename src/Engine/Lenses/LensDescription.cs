namespace Microscope.Engine.Lenses;

/// <summary>A lens as lists show it (the API's GET /api/techniques, the CLI's help, the docs'
/// table): name, kind, description, its parameters with defaults and ranges, and its files
/// (with the default parameters).</summary>
public sealed record LensDescription(string Name, string Kind, string Description, bool InDefaultSweep,
    IReadOnlyList<LensParameterDescription> Parameters, IReadOnlyList<string> Files)
{
    public static LensDescription Of(Lens lens) => new(lens.Name, KindName(lens.Kind), lens.Description, lens.InDefaultSweep,
        lens.Parameters.Select(p => new LensParameterDescription(p.Name, p.Type switch { LensParameterType.Integer => "integer", LensParameterType.Number => "number", _ => "text" },
            p.Format(p.Default), p.Format(p.Min), p.Format(p.Max), p.Description)).ToList(),
        [.. lens.Files(lens.Arguments()).Select(f => f.Suffix), ".json"]);

    public static string KindName(LensKind kind) => kind switch
    {
        LensKind.Unit => "unit",
        LensKind.Op => "op",
        LensKind.ImageBased => "image_based",
        _ => "analysis",
    };
}

public sealed record LensParameterDescription(string Name, string Type, string Default, string Min, string Max, string Description);

/// <summary>The docs' table of lenses (docs/techniques.md, between its lens-table markers),
/// made from the registry; a test fails when the page and the registry differ.</summary>
public static class LensTable
{
    public const string Begin = "<!-- lens-table: generated from the registry; a test checks it -->";
    public const string End = "<!-- /lens-table -->";

    public static string Markdown(IEnumerable<Lens> lenses)
    {
        var s = new System.Text.StringBuilder()
            .Append("| technique | kind | parameters (default, range) | files per result | what it shows |\n")
            .Append("| --- | --- | --- | --- | --- |\n");
        foreach (var d in lenses.Select(LensDescription.Of))
        {
            var parameters = d.Parameters.Count == 0 ? "–" : string.Join("<br>", d.Parameters.Select(p => p.Type == "text" ? $"`{p.Name}` (text): {p.Description}" : $"`{p.Name}` {p.Default} ({p.Min}..{p.Max}): {p.Description}"));
            s.Append($"| `{d.Name}` | {d.Kind.Replace('_', '-')} | {parameters} | {string.Join(" ", d.Files.Select(f => $"`{f}`"))} | {d.Description} |\n");
        }
        return s.ToString();
    }
}
