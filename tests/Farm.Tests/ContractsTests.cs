using Microscope.Contracts;

namespace Microscope.Farm.Tests;

public class ContractsTests
{
    [Fact]
    public void ParametersHashIsStableAndCoversEveryField()
    {
        var p = new RenderSettings();
        // The hash is part of every object key: changing its text breaks existing links.
        Assert.Equal("bbe0e052fa89", p.Hash());
        Assert.Matches("^[0-9a-f]{12}$", p.Hash());
        var variants = new[]
        {
            p with { Steps = 511 }, p with { Size = 64 }, p with { Seed = 1 }, p with { LearningRate = 0.051 },
            p with { Transforms = false }, p with { Decay = 0.5 }, p with { InitStd = 0.02 }, p with { Thresholds = [32] },
        };
        Assert.Equal(variants.Length, variants.Select(v => v.Hash()).Append(p.Hash()).Distinct().Count() - 1);
        Assert.Equal((p with { Thresholds = [64, 32] }).Hash(), (p with { Thresholds = [32, 64] }).Hash());
    }

    [Fact]
    public void ObjectKeysFollowTheArchitectureLayout()
    {
        var a = new UnitAddress("inceptionv1", "abc123def456", "mixed4c", 447);
        Assert.Equal("inceptionv1/abc123def456/mixed4c/447/channel/0123456789ab.png", ObjectKeys.Image(a, "channel", "0123456789ab"));
        Assert.Equal("inceptionv1/abc123def456/mixed4c/447/channel/0123456789ab.json", ObjectKeys.Record(a, "channel", "0123456789ab"));
    }
}
