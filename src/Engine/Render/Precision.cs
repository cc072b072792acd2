using System.Text.Json.Serialization;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Render;

/// <summary>The arithmetic a render's convolutions use. <see cref="Fp32"/> is the default and
/// the reference; <see cref="Bf16"/> runs every convolution in bfloat16 (the image, the other
/// layers, the objective and Adam stay float32): 1.4x faster steps on this project's AVX-512
/// BF16 CPUs with the same objective reached (docs/performance.md), different pixels, so it
/// is part of the parameters hash.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Precision>))]
public enum Precision
{
    [JsonStringEnumMemberName("fp32")] Fp32,
    [JsonStringEnumMemberName("bf16")] Bf16,
}

public static class PrecisionNames
{
    public static string Name(this Precision p) => p switch { Precision.Bf16 => "bf16", _ => "fp32" };

    /// <summary>"fp32" or "bf16" (case-insensitive); null for anything else.</summary>
    public static Precision? Parse(string? text) => text?.ToLowerInvariant() switch
    {
        "fp32" => Precision.Fp32,
        "bf16" => Precision.Bf16,
        _ => null,
    };

    /// <summary>Switches convolutions to <paramref name="p"/> until disposed, then back to what
    /// they were (the setting is process-wide: one render at a time per process, as the
    /// worker and CLI run them).</summary>
    public static IDisposable Use(this Precision p)
    {
        var before = torch.precision.bf16Convolutions;
        torch.precision.bf16Convolutions = p == Precision.Bf16;
        return new Restore(() => torch.precision.bf16Convolutions = before);
    }
}
