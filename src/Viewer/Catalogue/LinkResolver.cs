using System.Globalization;
using Microscope.Engine.Models;

namespace Microscope.Viewer.Catalogue;

/// <summary>What a link or a search names: a model, an op of it, or one unit.</summary>
public sealed record Target(string Model, string? Op, int? Unit);

/// <summary>The part of a link that does not exist, with near matches to offer.</summary>
public sealed record Missing(string Part, string Wanted, string? Within, IReadOnlyList<(string Label, string Href)> Suggestions)
{
    public string Message => Part switch
    {
        "model" => $"There is no model '{Wanted}'.",
        "op" => $"Model '{Within}' has no op '{Wanted}'.",
        "unit" => $"Op '{Within}' has no unit '{Wanted}'.",
        "version" => $"Model '{Within}' has no version '{Wanted}'.",
        "technique" => $"Op '{Within}' has no technique '{Wanted}'.",
        "lens" => $"There is no lens '{Wanted}'.",
        "objective" => $"Model '{Within}' has no objective render '{Wanted}'.",
        _ => $"Nothing matches '{Wanted}'.",
    };
}

/// <summary>Turns links and search text into canonical targets. Accepts Microscope's op
/// aliases (<c>mixed4c_0</c>) and the shorthands <c>4c:447</c>, <c>mixed4c:447</c>,
/// <c>inceptionv1/mixed4c/447</c>, <c>conv3:9</c>.</summary>
public static class LinkResolver
{
    /// <summary>The model whose ops a model-less shorthand (<c>4c:447</c>) is tried on first,
    /// after the page's own model: the catalogue's best-known model organism.</summary>
    public const string PreferredModel = "inceptionv1";

    /// <summary>An op by name or alias, the rule the API shares (<see cref="ModelDescriptor.FindOp"/>).</summary>
    public static OpInfo? FindOp(ModelDescriptor d, string name) => d.FindOp(name);

    /// <summary>The op and unit of a link's path after the model. An op name may itself hold
    /// slashes (<c>block2/unit_3/add/5</c>), so the whole path is tried as an op first, then
    /// all but its last segment with that segment as the unit. When neither is an op, the op
    /// reported missing is the path without a numeric last segment.</summary>
    public static (string Op, string? Unit) SplitPath(ModelDescriptor? d, string path)
    {
        // Old links escaped the op's slashes; Kestrel leaves %2F undecoded.
        path = path.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase).Trim('/');
        var cut = path.LastIndexOf('/');
        if (cut < 0 || (d is not null && FindOp(d, path) is not null)) return (path, null);
        var (op, unit) = (path[..cut], path[(cut + 1)..]);
        if (d is not null && FindOp(d, op) is not null) return (op, unit);
        return TryUnit(unit, out _) ? (op, unit) : (path, null);
    }

    /// <summary>As <see cref="FindOp"/>, and for search also a unique op whose name ends with
    /// the text (<c>4c</c> is <c>mixed4c</c>).</summary>
    public static OpInfo? FindOpForSearch(ModelDescriptor d, string name)
    {
        if (FindOp(d, name) is { } exact) return exact;
        var bare = name.EndsWith("_0", StringComparison.Ordinal) ? name[..^2] : name;
        if (bare.Length == 0) return null;
        var endings = d.Ops.Where(o => o.Name.EndsWith(bare, StringComparison.OrdinalIgnoreCase)).ToList();
        return endings.Count == 1 ? endings[0] : null;
    }

    public static bool TryUnit(string text, out int unit) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out unit);

    /// <summary>Splits search text into (model?, op?, unit?) the way people type it.</summary>
    public static (string? Model, string? Op, string? Unit) Parse(string query)
    {
        var q = query.Trim().Trim('/');
        if (q.StartsWith("models/", StringComparison.OrdinalIgnoreCase)) q = q[7..];
        var parts = q.Split('/', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length >= 2)
        {
            // model/op/unit, model/op, model/op:unit; the op may hold slashes (block2/unit_3/add)
            // but never ends with a number.
            var numbered = parts.Length >= 3 && TryUnit(parts[^1], out _);
            var opPart = string.Join('/', numbered ? parts[1..^1] : parts[1..]);
            string? unit = numbered ? parts[^1] : null;
            if (unit is null && opPart.Contains(':', StringComparison.Ordinal))
            {
                unit = opPart[(opPart.IndexOf(':', StringComparison.Ordinal) + 1)..];
                opPart = opPart[..opPart.IndexOf(':', StringComparison.Ordinal)];
            }
            return (parts[0], opPart, unit);
        }
        var colon = q.Split(':', StringSplitOptions.TrimEntries);
        return colon.Length switch
        {
            >= 3 => (colon[0], colon[1], colon[2]),
            2 => (null, colon[0], colon[1]),
            _ => (null, null, null),
        };
    }

    public static string Href(Target t, string? pinnedVersion = null)
    {
        var path = "/models/" + Uri.EscapeDataString(t.Model);
        // An op's slashes stay path separators: block2/unit_3/add reads as its name.
        if (t.Op is not null) path += "/" + string.Join('/', t.Op.Split('/').Select(Uri.EscapeDataString));
        if (t.Unit is not null) path += "/" + t.Unit.Value.ToString(CultureInfo.InvariantCulture);
        return pinnedVersion is null ? path : path + "?v=" + Uri.EscapeDataString(pinnedVersion);
    }

    public static IReadOnlyList<(string, string)> SuggestModels(string wanted, IEnumerable<string> names) =>
        NameSuggestions.Near(wanted, names, 5).Select(n => (n, Href(new Target(n, null, null)))).ToList();

    public static IReadOnlyList<(string, string)> SuggestOps(ModelDescriptor d, string wanted, string? version)
    {
        var bare = wanted.EndsWith("_0", StringComparison.Ordinal) ? wanted[..^2] : wanted;
        var near = NameSuggestions.Near(bare, d.Ops.Select(o => o.Name), 5);
        return near.Select(n => (n, Href(new Target(d.Name, n, null), version))).ToList();
    }

    /// <summary>Units next to an out-of-range or malformed one: the op's first and last.</summary>
    public static IReadOnlyList<(string, string)> SuggestUnits(ModelDescriptor d, OpInfo op, string wanted, string? version)
    {
        var list = new List<int>();
        if (TryUnit(wanted, out var u) && op.Channels > 0) list.Add(Math.Clamp(u, 0, op.Channels - 1));
        list.Add(0);
        if (op.Channels > 1) list.Add(op.Channels - 1);
        return list.Distinct().Where(x => x < op.Channels)
            .Select(x => ($"{op.Name}/{x}", Href(new Target(d.Name, op.Name, x), version))).ToList();
    }
}
