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

    /// <summary>A stable 12-hex-digit hash of the parameters that change the image: SHA-256 of a
    /// canonical text (invariant culture, "R" doubles, sorted thresholds). A field added later
    /// must enter the text only when it differs from its default, so existing hashes (and the
    /// object keys built on them) stay valid.</summary>
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
            .ToString();
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];
    }
}
