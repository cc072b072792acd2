using Microscope.Engine.Models;
using Stored = Microscope.Engine.Models.Zoo.ZooDescriptors;

namespace Microscope.Engine.Tests.Zoo;

/// <summary>The descriptors embedded for `microscope models` (src/Engine/Models/Zoo/descriptors.json)
/// against the models themselves: a change to an architecture that is not regenerated fails here.</summary>
public class StoredDescriptorTests
{
    /// <summary>Set to 1 to rewrite the file from the models instead of comparing (docs/models.md).</summary>
    private const string RegenerateVariable = "MICROSCOPE_WRITE_ZOO_DESCRIPTORS";

    [Fact]
    public void Stored_descriptors_equal_the_built_models_descriptors()
    {
        var builtIn = ModelZoo.Names.Where(ModelZoo.IsBuiltIn).ToList();
        var computed = builtIn.Select(Stored.Compute).ToList();
        var expected = Stored.Serialize(computed);
        var file = Path.Combine(RepositoryRoot(), Stored.SourcePath);
        if (Environment.GetEnvironmentVariable(RegenerateVariable) == "1") File.WriteAllText(file, expected);

        var stored = Stored.Serialize(builtIn.Select(n => Stored.Find(n) ?? throw new Xunit.Sdk.XunitException(
            $"model '{n}' has no stored descriptor: regenerate {Stored.SourcePath} ({RegenerateVariable}=1, docs/models.md)")));
        Assert.True(expected == stored, $"{Stored.SourcePath} has drifted from the models: regenerate it ({RegenerateVariable}=1, docs/models.md)");
        // The embedded resource is the checked-in file (a stale build would differ).
        Assert.Equal(File.ReadAllText(file), stored);
        // What `microscope models` reads for a built-in model is the stored one.
        Assert.Equal(computed.Sum(d => d.UnitCount), builtIn.Sum(n => ModelZoo.DescribeArchitecture(n).UnitCount));
    }

    [Fact]
    public void Stored_descriptors_round_trip_and_answer_op_lookups()
    {
        var inception = Stored.Find("inceptionv1")!;
        Assert.Equal(224, inception.InputSize);
        Assert.Null(inception.Version);
        var mixed4a = inception.FindOp("mixed4a_0")!;
        Assert.Equal((508, 14, 14), (mixed4a.Channels, mixed4a.Height, mixed4a.Width));
        Assert.Null(Stored.Find("mynet"));
        var again = Stored.Parse(Stored.Serialize([inception]));
        Assert.Equal(Stored.Serialize([inception]), Stored.Serialize(again));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Microscope.Farm.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Microscope.Farm.sln above {AppContext.BaseDirectory}");
    }
}
