using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Microscope.Contracts;

/// <summary>The render parameters as they travel in messages and the API (the Engine's
/// RenderParameters, without depending on the Engine). Defaults are the published method's.</summary>
public sealed record RenderSettings
{
    public int Steps { get; init; } = 512;
    public int Size { get; init; } = 128;
    public int Seed { get; init; }
    public double LearningRate { get; init; } = 0.05;
    public bool Transforms { get; init; } = true;
    public double Decay { get; init; } = 1.0;
    public double InitStd { get; init; } = 0.01;
    public IReadOnlyList<int> Thresholds { get; init; } = [];
    /// <summary>The convolutions' arithmetic: "fp32" (default) or "bf16" (faster on CPUs with
    /// AVX-512 BF16; different pixels, so it enters the hash).</summary>
    public string Precision { get; init; } = "fp32";
    /// <summary>Lens parameters by lens name, then parameter name, as invariant text
    /// (<c>{"diversity": {"images": "6"}}</c>); the coordinator keeps only those of the
    /// request's lenses that differ from their defaults, in canonical form.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? LensParameters { get; init; }

    /// <summary>How seeds become starting images (the Engine's ImageSeeds.Scheme). Scheme 2 seeds
    /// each image from (seed, unit), so packing does not change pixels; it entered the hash
    /// with that change, so results of scheme 1 keep their own (older) hashes and keys.</summary>
    public const int RenderScheme = 2;

    /// <summary>A stable 12-hex-digit hash of the parameters that change the image: SHA-256 of a
    /// canonical text (invariant culture, "R" doubles, sorted thresholds, the render scheme, then
    /// the lens parameters sorted, only when there are any). A field added later must enter the
    /// text only when it differs from its default, so existing hashes (and the object keys built
    /// on them) stay valid; the scheme is the exception on purpose: it changed the pixels.</summary>
    public string Hash()
    {
        var text = new StringBuilder()
            .Append("steps=").Append(Steps.ToString(CultureInfo.InvariantCulture))
            .Append(";size=").Append(Size.ToString(CultureInfo.InvariantCulture))
            .Append(";seed=").Append(Seed.ToString(CultureInfo.InvariantCulture))
            .Append(";lr=").Append(LearningRate.ToString("R", CultureInfo.InvariantCulture))
            .Append(";transforms=").Append(Transforms ? "1" : "0")
            .Append(";decay=").Append(Decay.ToString("R", CultureInfo.InvariantCulture))
            .Append(";initstd=").Append(InitStd.ToString("R", CultureInfo.InvariantCulture))
            .Append(";thresholds=").Append(string.Join(",", Thresholds.Order().Select(t => t.ToString(CultureInfo.InvariantCulture))))
            .Append(";scheme=").Append(RenderScheme.ToString(CultureInfo.InvariantCulture));
        var lens = (LensParameters ?? new Dictionary<string, IReadOnlyDictionary<string, string>>())
            .SelectMany(l => l.Value.Select(p => $"{l.Key}.{p.Key}={p.Value}"))
            .Order(StringComparer.Ordinal).ToList();
        if (lens.Count > 0) text.Append(";lens=").Append(string.Join(",", lens));
        if (Precision != "fp32") text.Append(";precision=").Append(Precision);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..12];
    }

    /// <summary>The parameters of one lens (empty when none were given).</summary>
    public IReadOnlyDictionary<string, string> ParametersOf(string lens) =>
        LensParameters is not null && LensParameters.TryGetValue(lens, out var p) ? p : new Dictionary<string, string>();
}
