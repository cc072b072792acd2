using System.Globalization;

namespace Microscope.Engine.Lenses;

public enum LensParameterType { Integer, Number, Text }

/// <summary>One typed parameter of a lens, with its default and inclusive range. Values travel
/// as invariant-culture text ("6", "0.5") in the API, the CLI's <c>--param name=value</c> and
/// the parameters hash.</summary>
public sealed record LensParameter(string Name, LensParameterType Type, double Default, double Min, double Max, string Description,
    Func<string, string>? Canonical = null)
{
    /// <summary>A text parameter (an objective expression): no default (empty = not given);
    /// <paramref name="canonical"/> checks a value, throwing <see cref="ArgumentException"/>
    /// naming the problem, and returns its canonical text (what the hash and records hold).</summary>
    public static LensParameter Text(string name, string description, Func<string, string> canonical) =>
        new(name, LensParameterType.Text, 0, 0, 0, description, canonical);

    public static LensParameter Integer(string name, int @default, int min, int max, string description) =>
        new(name, LensParameterType.Integer, @default, min, max, description);

    public static LensParameter Number(string name, double @default, double min, double max, string description) =>
        new(name, LensParameterType.Number, @default, min, max, description);

    /// <summary>The value read from text, or a message naming what is wrong.</summary>
    public (double Value, string? Problem) Read(string lens, string text)
    {
        var ok = Type == LensParameterType.Integer
            ? int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) ? (double?)i : null
            : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : null;
        if (ok is not double v) return (0, $"{lens} parameter '{Name}' must be {(Type == LensParameterType.Integer ? "an integer" : "a number")}, not '{text}'");
        if (v < Min || v > Max) return (0, $"{lens} parameter '{Name}' must be in {Format(Min)}..{Format(Max)}, not {Format(v)}");
        return (v, null);
    }

    public string Format(double v) => Type == LensParameterType.Text ? "" : Type == LensParameterType.Integer
        ? ((long)v).ToString(CultureInfo.InvariantCulture)
        : v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A lens's parameter values, checked and complete (defaults filled in).
/// <see cref="Given"/> holds only the values that differ from their defaults, in canonical
/// text: what enters the parameters hash and the record.</summary>
public sealed class LensArguments
{
    private readonly Dictionary<string, double> _values;
    private readonly Dictionary<string, string> _texts;

    private LensArguments(Dictionary<string, double> values, Dictionary<string, string> texts, IReadOnlyDictionary<string, string> given)
    {
        _values = values;
        _texts = texts;
        Given = given;
    }

    public IReadOnlyDictionary<string, string> Given { get; }

    public int Int(string name) => (int)Value(name);
    public double Number(string name) => Value(name);
    /// <summary>A text parameter's canonical value, or null when it was not given.</summary>
    public string? Text(string name) => _texts.GetValueOrDefault(name);

    private double Value(string name) =>
        _values.TryGetValue(name, out var v) ? v : throw new ArgumentException($"the lens has no parameter '{name}'");

    public static LensArguments Parse(Lens lens, IReadOnlyDictionary<string, string>? given)
    {
        var problems = new List<string>();
        var values = lens.Parameters.ToDictionary(p => p.Name, p => p.Default, StringComparer.Ordinal);
        var canonical = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, text) in given ?? new Dictionary<string, string>())
        {
            var p = lens.Parameters.FirstOrDefault(x => x.Name == name);
            if (p is null)
            {
                problems.Add(lens.Parameters.Count == 0
                    ? $"{lens.Name} has no parameters; '{name}' is unknown"
                    : $"{lens.Name} has no parameter '{name}'; its parameters: {string.Join(", ", lens.Parameters.Select(x => x.Name))}");
                continue;
            }
            if (p.Type == LensParameterType.Text)
            {
                if (string.IsNullOrWhiteSpace(text)) continue;
                try { texts[name] = canonical[name] = p.Canonical!(text); }
                catch (ArgumentException e) { problems.Add($"{lens.Name} parameter '{name}': {e.Message}"); }
                continue;
            }
            var (v, problem) = p.Read(lens.Name, text ?? "");
            if (problem is not null) { problems.Add(problem); continue; }
            values[name] = v;
            if (v != p.Default) canonical[name] = p.Format(v);
        }
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));
        return new LensArguments(values, texts, canonical);
    }
}
