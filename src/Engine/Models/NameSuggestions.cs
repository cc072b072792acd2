namespace Microscope.Engine.Models;

/// <summary>"did you mean" hints for unknown model and op names.</summary>
public static class NameSuggestions
{
    public static string Format(string wanted, IEnumerable<string> known)
    {
        var near = Near(wanted, known, 3);
        return near.Count == 0 ? "" : $" (did you mean {string.Join(", ", near.Select(n => $"'{n}'"))}?)";
    }

    public static IReadOnlyList<string> Near(string wanted, IEnumerable<string> known, int count) =>
        known.Select(k => (k, d: Distance(wanted.ToLowerInvariant(), k.ToLowerInvariant())))
            .Where(x => x.d <= Math.Max(2, wanted.Length / 2) || x.k.Contains(wanted, StringComparison.OrdinalIgnoreCase))
            .OrderBy(x => x.d).ThenBy(x => x.k, StringComparer.Ordinal)
            .Take(count).Select(x => x.k).ToList();

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
