using Microscope.Contracts;
using Microscope.Engine.Render;

namespace Microscope.Farm.Rendering;

/// <summary>The wire's render settings as the engine's parameters: one mapping for the
/// coordinator (which validates a request) and the worker (which renders it).</summary>
public static class RenderSettingsMapping
{
    public static RenderParameters ToEngine(this RenderSettings p) => new()
    {
        Steps = p.Steps,
        Size = p.Size,
        Seed = p.Seed,
        LearningRate = p.LearningRate,
        Transforms = p.Transforms,
        Decay = p.Decay,
        InitStd = p.InitStd,
        Thresholds = p.Thresholds,
        Precision = PrecisionNames.Parse(p.Precision) ?? Precision.Fp32,
    };

    /// <summary>Every problem with the settings, in words (the engine's checks and the
    /// precision's name, which the mapping alone would default).</summary>
    public static IReadOnlyList<string> Problems(this RenderSettings p)
    {
        var problems = p.ToEngine().Validate().ToList();
        if (PrecisionNames.Parse(p.Precision) is null)
            problems.Add($"precision must be fp32 or bf16, not '{p.Precision}'");
        return problems;
    }
}
