using Microscope.Engine.Models;
using Microscope.Engine.Render;

namespace Microscope.Engine.Lenses;

/// <summary>The one entry point for a render or analysis of any lens, whoever asks (the CLI,
/// a farm worker, a test): resolves the lens (unknown names throw), its parameters, the op
/// and the units (<see cref="UnitProblem"/>, the one range check), then runs the lens.</summary>
public static class LensRunner
{
    public static IReadOnlyList<LensResult> Run(VisionModel model, string op, string technique, IReadOnlyList<int> units,
        RenderParameters parameters, IReadOnlyDictionary<string, string>? lensParameters = null, LensData? data = null,
        IProgress<double>? progress = null, CancellationToken cancel = default)
    {
        var lens = LensRegistry.Get(technique);
        if (ModelProblem(lens, model) is { } refused) throw new ArgumentException(refused);
        var arguments = lens.Arguments(lensParameters);
        var name = model.ResolveOp(op);
        var info = model.Describe().Ops.Single(o => o.Name == name);
        if (UnitProblem(lens, info, units) is { } problem) throw new ArgumentException(problem);
        var problems = parameters.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));

        var asked = lens.OpLevel ? [] : units.Count > 0 ? units : Enumerable.Range(0, info.Channels).ToList();
        var results = lens.Run(new LensRun(model, info, asked, parameters, arguments, data ?? new LensData(), progress, cancel));
        var expected = lens.OpLevel ? [null] : asked.Select(u => (int?)u).ToList();
        if (!results.Select(r => r.Unit).SequenceEqual(expected))
            throw new InvalidOperationException($"lens {lens.Name} returned results for units [{string.Join(", ", results.Select(r => r.Unit?.ToString() ?? "op"))}], not [{string.Join(", ", expected.Select(u => u?.ToString() ?? "op"))}]");
        return results;
    }

    /// <summary>What is wrong with asking <paramref name="lens"/> for these units of
    /// <paramref name="op"/>, or null: the one unit check of the CLI, the coordinator and the
    /// worker. Unit lenses need units; op-level lenses take none (or the farm's -1); analysis
    /// lenses take any subset (none = every unit).</summary>
    public static string? UnitProblem(Lens lens, OpInfo op, IReadOnlyList<int> units)
    {
        if (lens.OpLevel)
        {
            var bad = units.Where(u => u != OpLevelUnit).ToList();
            return bad.Count > 0 ? $"{lens.Name} renders the whole op: it takes no unit (or {OpLevelUnit}), not {bad[0]}" : null;
        }
        if (lens.Kind == LensKind.Unit && units.Count == 0) return $"{lens.Name} renders units: give at least one unit (--unit N or --all-units)";
        foreach (var u in units)
            if (u < 0 || u >= op.Channels) return $"op '{op.Name}' has units 0..{op.Channels - 1}; {u} is out of range";
        return null;
    }

    /// <summary>What is wrong with asking <paramref name="lens"/> to look at <paramref name="model"/>,
    /// or null: a generator (latent input) takes no images, so lenses that feed it images are refused.</summary>
    public static string? ModelProblem(Lens lens, VisionModel model) => ModelProblem(lens, model.Name, model.Latent);

    /// <summary>As above, from a descriptor (the coordinator's check of sweeps and renders).</summary>
    public static string? ModelProblem(Lens lens, ModelDescriptor model) => ModelProblem(lens, model.Name, model.Latent);

    private static string? ModelProblem(Lens lens, string model, LatentInput? latent) =>
        latent is null || !lens.FeedsImages ? null
            : $"{lens.Name} feeds images to the model, but '{model}' is a generator whose input is a latent vector; "
              + $"its lenses: {string.Join(", ", LensRegistry.All.Where(l => !l.FeedsImages).Select(l => l.Name))} (docs/models.md, \"Generators\")";

    /// <summary>The unit of an op-level result in the farm's tuples (written "op" in keys).</summary>
    public const int OpLevelUnit = -1;
}
