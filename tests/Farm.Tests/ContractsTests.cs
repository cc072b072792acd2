using Microscope.Contracts;
using Microscope.Farm.Rendering;

namespace Microscope.Farm.Tests;

public class ContractsTests
{
    [Fact]
    public void ParametersHashIsStableAndCoversEveryField()
    {
        var p = new RenderSettings();
        // The hash is part of every object key: changing its text breaks existing links. It
        // changed once on purpose, with render scheme 2 (per-unit seeds: pixels changed meaning;
        // scheme 1's default hash was bbe0e052fa89). See docs/techniques.md.
        Assert.Equal("d50611da7e95", p.Hash());
        Assert.Matches("^[0-9a-f]{12}$", p.Hash());
        var variants = new[]
        {
            p with { Steps = 511 }, p with { Size = 64 }, p with { Seed = 1 }, p with { LearningRate = 0.051 },
            p with { Transforms = false }, p with { Decay = 0.5 }, p with { InitStd = 0.02 }, p with { Thresholds = [32] },
            p with { Precision = "bf16" },
            p with { LensParameters = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["diversity"] = new Dictionary<string, string> { ["images"] = "6" } } },
        };
        Assert.Equal(variants.Length, variants.Select(v => v.Hash()).Append(p.Hash()).Distinct().Count() - 1);
        Assert.Equal((p with { Thresholds = [64, 32] }).Hash(), (p with { Thresholds = [32, 64] }).Hash());
        // Lens parameters enter only when given, sorted: none and an empty set hash alike.
        Assert.Equal("a6c85fc305cc", variants[^1].Hash());
        Assert.Equal(p.Hash(), (p with { LensParameters = new Dictionary<string, IReadOnlyDictionary<string, string>>() }).Hash());
        // Precision enters only when it is not the default fp32.
        Assert.Equal(p.Hash(), (p with { Precision = "fp32" }).Hash());
    }

    [Fact]
    public void TheWiresPrecisionReachesTheEngine()
    {
        Assert.Equal(Engine.Render.Precision.Bf16, new RenderSettings { Precision = "bf16" }.ToEngine().Precision);
        Assert.Equal(Engine.Render.Precision.Fp32, new RenderSettings().ToEngine().Precision);
        Assert.Empty(new RenderSettings { Precision = "bf16" }.Problems());
        Assert.Contains("precision must be fp32 or bf16, not 'half'", new RenderSettings { Precision = "half" }.Problems());
    }

    [Fact]
    public void TheHashNamesTheEnginesRenderScheme()
    {
        // Contracts cannot reference the Engine: the two constants must agree.
        Assert.Equal(Microscope.Engine.Render.ImageSeeds.Scheme, RenderSettings.RenderScheme);
    }

    [Fact]
    public void ObjectKeysFollowTheArchitectureLayout()
    {
        var a = new UnitAddress("inceptionv1", "abc123def456", "mixed4c", 447);
        Assert.Equal("inceptionv1/abc123def456/mixed4c/447/channel/0123456789ab.png", ObjectKeys.Image(a, "channel", "0123456789ab"));
        Assert.Equal("inceptionv1/abc123def456/mixed4c/447/channel/0123456789ab.json", ObjectKeys.Record(a, "channel", "0123456789ab"));
    }
}
