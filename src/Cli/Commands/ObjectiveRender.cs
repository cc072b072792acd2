using System.Text.Json;
using Microscope.Engine.Lenses;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;

namespace Microscope.Cli.Commands;

/// <summary><c>microscope render --objective EXPR</c>: an objective expression rendered by the
/// "objective" lens through <see cref="LensRunner"/>, as the farm renders it. Direction files
/// (<c>conv3@dir.json</c>) are read here and written inline, so the record (and a farm's
/// parameters hash) holds the numbers, not a path.</summary>
public static class ObjectiveRender
{
    public const string Help =
        "render one image for an objective expression instead of units: \"conv3:9 + 0.5*conv3:17\", \"-conv3:9\" (the negative image), " +
        "\"conv3@[0.5,-1,...]\" or \"conv3@dir.json\" (a direction: one number per channel, the file a JSON array); stored under its first op";

    /// <summary>What is wrong with the options' combination, or null.</summary>
    public static string? OptionProblem(string? op, string? objective, string? explicitTechnique)
    {
        if (objective is null) return op is null ? "Option '--op' is required (or give --objective)." : null;
        if (op is not null) return "--objective names its own ops: leave out --op";
        if (explicitTechnique is not null && explicitTechnique != ObjectiveExpressionLens.LensName)
            return $"--objective renders the '{ObjectiveExpressionLens.LensName}' technique, not '{explicitTechnique}'";
        return null;
    }

    public static LensResult Run(VisionModel model, string text, RenderParameters parameters, string baseDirectory)
    {
        var ops = model.Describe().Ops;
        var expression = ObjectiveExpression.Parse(text, file => ReadDirection(Path.Combine(baseDirectory, file))).Bind(name =>
        {
            var resolved = model.ResolveOp(name);
            return (resolved, ops.Single(o => o.Name == resolved).Channels);
        });
        var lensParameters = new Dictionary<string, string> { [ObjectiveExpressionLens.ExpressionParameter] = expression.Canonical };
        RenderCommand.NoteGenerator(model, parameters);
        return CliProgress.Run($"{model.Name} objective {Short(expression.Canonical)}", 1000, progress =>
            LensRunner.Run(model, expression.Ops[0], ObjectiveExpressionLens.LensName, [], parameters, lensParameters, progress: new Fraction(progress))).Single();
    }

    /// <summary>A direction file: a JSON array of numbers (one per channel), or an object with
    /// such an array under "direction".</summary>
    public static IReadOnlyList<double> ReadDirection(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var array = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("direction", out var d) ? d : doc.RootElement;
        if (array.ValueKind != JsonValueKind.Array) throw new FormatException("expected a JSON array of numbers (or {\"direction\": [...]})");
        return array.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw new FormatException($"'{e}' is not a number")).ToList();
    }

    private static string Short(string s) => s.Length > 40 ? s[..40] + "…" : s;

    private sealed class Fraction(IProgress<int> inner) : IProgress<double>
    {
        public void Report(double fraction) => inner.Report((int)(fraction * 1000));
    }
}
