using Microscope.Contracts;
using Microscope.Engine.Imaging;
using Microscope.Engine.Models;
using Microscope.Engine.Models.Custom;
using Microscope.Engine.Torch;
using Microscope.Farm.Hosting;

namespace Microscope.Farm.Tests;

/// <summary>A user's own model (Models:Specs + Models:Weights) swept like a zoo model, and a
/// misconfigured one refused at start with the setting named.</summary>
public class UserModelTests
{
    private const string Spec = """
        {
          "format": "microscope-model/1", "name": "mynet", "dataset": "test", "inputSize": 32,
          "preprocessing": { "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5] },
          "layers": [
            { "name": "features.0", "type": "conv", "input": "input", "out": 6, "kernel": 3, "padding": 1, "op": true },
            { "name": "features.1", "type": "relu", "input": "features.0" },
            { "name": "features.2", "type": "conv", "input": "features.1", "out": 10, "kernel": 3, "stride": 2, "op": true }
          ]
        }
        """;

    /// <summary>The spec and seeded weights in a folder; returns (spec path, weights path, version).</summary>
    private static (string Spec, string Weights, string Version) Files(string folder)
    {
        var spec = Path.Combine(folder, "mynet.model.json");
        var weights = Path.Combine(folder, "mynet.safetensors");
        File.WriteAllText(spec, Spec);
        using var model = new CustomModel(ModelSpec.Read(spec));
        model.LoadWeights(new WeightsSource.Random(7), Device.CPU);
        Safetensors.Write(weights, model.Parameters.Export());
        model.LoadWeights(new WeightsSource.File(weights), Device.CPU);
        return (spec, weights, model.Version!);
    }

    [Fact]
    public async Task A_user_model_is_swept_like_a_zoo_model()
    {
        var folder = Directory.CreateTempSubdirectory("ms-user-").FullName;
        try
        {
            var (spec, weights, version) = Files(folder);
            await using var farm = await InProcessFarm.StartAsync(settings: new Dictionary<string, string?>
            {
                ["Models:Specs:mynet"] = spec,
                ["Models:Weights:mynet"] = weights,
            });
            var id = await farm.SweepAsync(new { model = "mynet", techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 } });
            var status = await farm.WaitAsync(id, TimeSpan.FromMinutes(2));
            Assert.Equal("done", status.State);
            Assert.Equal(6 + 10, status.Total);
            var tuples = farm.Db(db => db.Tuples.Where(t => t.SweepId == id).ToList());
            Assert.All(tuples, t => Assert.Equal(version, t.Version));
            Assert.Equal(["features.0", "features.2"], tuples.Select(t => t.Op).Distinct().Order(StringComparer.Ordinal));
            foreach (var t in tuples)
            {
                Assert.StartsWith($"mynet/{version}/{t.Op}/{t.Unit}/channel/", t.ImageKey, StringComparison.Ordinal);
                Assert.Equal(32, ImageFile.Decode((await farm.Store.GetAsync(t.ImageKey!))!).Width);
            }
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Fact]
    public async Task A_spec_under_another_name_or_without_weights_stops_the_farm_at_start()
    {
        var folder = Directory.CreateTempSubdirectory("ms-user-").FullName;
        try
        {
            var (spec, _, _) = Files(folder);
            var e = await Assert.ThrowsAsync<OptionsProblemException>(() => InProcessFarm.StartAsync(settings: new Dictionary<string, string?> { ["Models:Specs:other"] = spec }));
            Assert.Contains("Specs:other: '" + spec + "' defines the model 'mynet', not 'other' (MICROSCOPE_MODELS__SPECS__OTHER)", e.Message);
            e = await Assert.ThrowsAsync<OptionsProblemException>(() => InProcessFarm.StartAsync(settings: new Dictionary<string, string?> { ["Models:Specs:mynet"] = spec }));
            Assert.Contains("Specs:mynet: no weights: set MICROSCOPE_MODELS__WEIGHTS__MYNET", e.Message);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }
}
