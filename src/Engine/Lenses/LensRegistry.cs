using System.Reflection;
using Microscope.Engine.Models;

namespace Microscope.Engine.Lenses;

/// <summary>The registry of lenses: every concrete <see cref="Lens"/> with a parameterless
/// constructor in the Engine, in the assemblies named by the environment variable
/// MICROSCOPE_LENS_ASSEMBLIES (paths separated by the platform's path separator: lenses of
/// your own, loaded by the CLI, coordinator, worker and viewer alike), and any
/// <see cref="Register"/>ed. The CLI, the worker, the coordinator, the API, the viewer and the
/// docs' table all read it; an unknown name is an error everywhere.</summary>
public static class LensRegistry
{
    public const string AssembliesVariable = "MICROSCOPE_LENS_ASSEMBLIES";
    /// <summary>In a list of techniques: every sweepable lens.</summary>
    public const string Everything = "everything";

    private static readonly Lock Gate = new();
    private static List<Lens>? _all;

    /// <summary>Every lens, in display order. Found on first use (not in a static constructor,
    /// so a bad MICROSCOPE_LENS_ASSEMBLIES surfaces as its own message, not a type-load error).</summary>
    public static IReadOnlyList<Lens> All { get { lock (Gate) return _all ??= Discover(); } }

    public static IReadOnlyList<string> Names => All.Select(l => l.Name).ToList();

    /// <summary>The lenses a sweep or "everything" may name (not the objective lens, which
    /// renders one request's expression).</summary>
    public static IReadOnlyList<Lens> Sweepable => All.Where(l => l.Sweepable).ToList();

    /// <summary>The techniques of a sweep that names none.</summary>
    public static IReadOnlyList<string> DefaultSweep => All.Where(l => l.InDefaultSweep).Select(l => l.Name).ToList();

    public static Lens Get(string name) =>
        TryGet(name) ?? throw new UnknownNameException(
            $"unknown technique '{name}'{NameSuggestions.Format(name, Names)}; known: {string.Join(", ", Names)}, {Everything}");

    public static Lens? TryGet(string? name) => name is null ? null : All.FirstOrDefault(l => l.Name == name);

    /// <summary>The names with "everything" expanded, duplicates removed, in order; an unknown
    /// name throws <see cref="UnknownNameException"/>.</summary>
    public static IReadOnlyList<Lens> Expand(IEnumerable<string> names)
    {
        var result = new List<Lens>();
        foreach (var n in names)
        {
            if (n == Everything) result.AddRange(Sweepable);
            else result.Add(Get(n));
        }
        return result.Distinct().ToList();
    }

    /// <summary>Adds a lens (a plugin's, a test's). Its name must be new and a valid key segment.</summary>
    public static void Register(Lens lens)
    {
        if (!ValidName(lens.Name)) throw new ArgumentException($"lens name '{lens.Name}' must be 1-40 lower-case letters, digits or '_'");
        lock (Gate)
        {
            _all ??= Discover();
            var existing = _all.FirstOrDefault(l => l.Name == lens.Name);
            if (existing is not null)
            {
                if (existing.GetType() == lens.GetType()) return;
                throw new ArgumentException($"a lens named '{lens.Name}' is already registered ({existing.GetType().FullName})");
            }
            _all = Ordered([.. _all, lens]);
        }
    }

    private static bool ValidName(string name) =>
        name.Length is > 0 and <= 40 && name != Everything && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_');

    private static List<Lens> Ordered(IEnumerable<Lens> lenses) =>
        lenses.OrderBy(l => l.Order).ThenBy(l => l.Name, StringComparer.Ordinal).ToList();

    private static List<Lens> Discover()
    {
        var assemblies = new List<Assembly> { typeof(Lens).Assembly };
        foreach (var path in (Environment.GetEnvironmentVariable("MICROSCOPE_LENS_ASSEMBLIES") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            try { assemblies.Add(Assembly.LoadFrom(path)); }
            catch (Exception e) when (e is IOException or BadImageFormatException)
            {
                throw new InvalidDataException($"{AssembliesVariable}: cannot load lens assembly '{path}': {e.Message}", e);
            }
        }
        var found = new List<Lens>();
        foreach (var type in assemblies.Distinct().SelectMany(LoadableTypes))
        {
            if (type.IsAbstract || !typeof(Lens).IsAssignableFrom(type) || type.GetConstructor(Type.EmptyTypes) is null) continue;
            var lens = (Lens)Activator.CreateInstance(type)!;
            if (!ValidName(lens.Name)) throw new InvalidDataException($"lens {type.FullName}: name '{lens.Name}' must be 1-40 lower-case letters, digits or '_'");
            if (found.Any(l => l.Name == lens.Name)) throw new InvalidDataException($"two lenses are named '{lens.Name}'");
            found.Add(lens);
        }
        return Ordered(found);
    }

    private static IEnumerable<Type> LoadableTypes(Assembly a)
    {
        try { return a.GetTypes(); }
        catch (ReflectionTypeLoadException e) { return e.Types.Where(t => t is not null)!; }
    }
}
