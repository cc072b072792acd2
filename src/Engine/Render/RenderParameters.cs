namespace Microscope.Engine.Render;

/// <summary>The knobs of one render (defaults from the published method, see
/// docs/feature-visualization facts): 512 steps of Adam at 0.05 on a 128 px Fourier image
/// with the standard transforms.</summary>
public sealed record RenderParameters
{
    public int Steps { get; init; } = 512;
    public int Size { get; init; } = 128;
    public int Seed { get; init; }
    public double LearningRate { get; init; } = 0.05;
    public bool Transforms { get; init; } = true;
    public double Decay { get; init; } = 1.0;
    public double InitStd { get; init; } = 0.01;
    /// <summary>The convolutions' arithmetic (fp32 unless asked; see <see cref="Render.Precision"/>).</summary>
    public Precision Precision { get; init; } = Precision.Fp32;
    /// <summary>Steps after which an intermediate image is kept (the last step always is).</summary>
    public IReadOnlyList<int> Thresholds { get; init; } = [];

    /// <summary>Every problem with these parameters, in words; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Steps is < 1 or > 100_000) problems.Add($"steps must be between 1 and 100000, not {Steps}");
        if (Size is < 16 or > 1024) problems.Add($"size must be between 16 and 1024 pixels, not {Size}");
        if (!(LearningRate > 0 && LearningRate <= 10)) problems.Add($"learning rate must be in (0, 10], not {LearningRate}");
        if (!(Decay >= 0 && Decay <= 4)) problems.Add($"decay must be in [0, 4], not {Decay}");
        if (!(InitStd > 0 && InitStd <= 1)) problems.Add($"init std must be in (0, 1], not {InitStd}");
        foreach (var t in Thresholds)
            if (t < 1 || t > Steps) problems.Add($"threshold {t} is outside 1..{Steps}");
        return problems;
    }
}
