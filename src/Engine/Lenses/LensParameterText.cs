namespace Microscope.Engine.Lenses;

/// <summary>The CLI's <c>--param</c> values: <c>lens.name=value</c> for one lens, or
/// <c>name=value</c> for every chosen lens that has that parameter. Checked against the lenses'
/// own parameter lists, so a typo or a bad value stops the command before any work.</summary>
public static class LensParameterText
{
    public static Dictionary<string, IReadOnlyDictionary<string, string>> Parse(IEnumerable<string> items, IReadOnlyList<Lens> lenses)
    {
        var values = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var eq = item.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--param '{item}' must be name=value or lens.name=value");
            var (key, value) = (item[..eq].Trim(), item[(eq + 1)..].Trim());
            var dot = key.IndexOf('.');
            IEnumerable<Lens> targets;
            string name;
            if (dot > 0)
            {
                var lens = LensRegistry.Get(key[..dot]);
                if (!lenses.Contains(lens)) throw new ArgumentException($"--param '{item}' is for {lens.Name}, which is not rendered here ({string.Join(", ", lenses)})");
                (targets, name) = ([lens], key[(dot + 1)..]);
            }
            else
            {
                name = key;
                targets = lenses.Where(l => l.Parameters.Any(p => p.Name == name)).ToList();
                if (!targets.Any())
                    throw new ArgumentException($"--param '{item}': no chosen technique has a parameter '{name}' ({Describe(lenses)})");
            }
            foreach (var lens in targets)
            {
                if (!values.TryGetValue(lens.Name, out var of)) values[lens.Name] = of = new(StringComparer.Ordinal);
                of[name] = value;
            }
        }
        var result = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var (lens, given) in values)
        {
            var arguments = LensRegistry.Get(lens).Arguments(given);
            if (arguments.Given.Count > 0) result[lens] = arguments.Given;
        }
        return result;
    }

    private static string Describe(IReadOnlyList<Lens> lenses)
    {
        var all = lenses.SelectMany(l => l.Parameters.Select(p => $"{l.Name}.{p.Name}")).ToList();
        return all.Count == 0 ? "they have none" : "known: " + string.Join(", ", all);
    }
}
