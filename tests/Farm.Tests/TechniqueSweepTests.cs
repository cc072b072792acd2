using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using Microscope.Contracts;
using Microscope.Engine.Lenses;
using Microscope.Engine.Imaging;

namespace Microscope.Farm.Tests;

/// <summary>Every technique in a sweep: expansion (op-level tuples, op jobs in one packet) and
/// the in-memory farm rendering them all into readable objects.</summary>
public class TechniqueSweepTests
{
    private const int Conv1Units = 16;

    /// <summary>The files each technique stores per tuple (key suffixes after the parameters hash).</summary>
    private static readonly Dictionary<string, string[]> Suffixes = new()
    {
        ["channel"] = [".png", ".json"],
        ["neuron"] = [".png", ".json"],
        ["diversity"] = ["-0.png", "-1.png", "-2.png", "-3.png", ".json"],
        ["deepdream"] = [".png", ".json"],
        ["caricature"] = ["-0.png", "-1.png", "-2.png", "-3.png", ".json"],
        ["dataset_examples"] = [".channel.png", ".neuron.png", ".fires.png", ".json"],
        ["tuning_curves"] = [".orientation.svg", ".curve.svg", ".hue.svg", ".frequency.svg", ".json"],
        // conv1 reads the image: no weight tables, only the record (which is also its image key).
        ["circuits"] = [".json"],
    };

    [Fact]
    public void ThumbnailsJoinTheUploadBeforeTheRecord()
    {
        // The worker uploads in this order; a stored record must mean a complete result.
        var png = ImageFile.EncodePng(new float[3 * 8 * 8], 8, 8);
        var files = Worker.PacketRenderer.WithThumbnails(
            [new LensOutput(0, "-0.png", "image/png", png), new LensOutput(0, "-1.png", "image/png", png), new LensOutput(0, ".json", "application/json", [])]);
        Assert.Equal(["-0.png", "-1.png", "-0.96px.png", "-1.96px.png", ".json"], files.Select(f => f.Suffix));
    }

    [Fact]
    public void A_result_s_image_key_is_its_picture_or_for_circuits_its_record()
    {
        var at = new UnitAddress("demo", "789b3a3d4cf0", "conv3", UnitAddress.OpLevel);
        Assert.Equal("demo/789b3a3d4cf0/conv3/op/deepdream/0123456789ab.png", Farm.Rendering.ResultImageKey.Of(at, "deepdream", "0123456789ab", [".png", ".json"]));
        Assert.Equal("demo/789b3a3d4cf0/conv3/op/circuits/0123456789ab.json", Farm.Rendering.ResultImageKey.Of(at, "circuits", "0123456789ab", [".json"]));
        // A pictured lens whose result has no picture has no image key (the worker refuses it).
        Assert.Null(Farm.Rendering.ResultImageKey.Of(at, "deepdream", "0123456789ab", [".json"]));
    }

    [Fact]
    public async Task EverythingExpandsToEverySweepableTechnique()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false, new Dictionary<string, string?> { ["Coordinator:MaxInFlightPackets"] = "1" });
        var id = await farm.SweepAsync(new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "everything" }, packetSize = 4, parameters = new { steps = 4, size = 32 } });
        var tuples = farm.Db(db => db.Tuples.Where(t => t.SweepId == id).ToList());
        var packets = farm.Db(db => db.Packets.Where(p => p.SweepId == id).ToList());
        var sweep = farm.Db(db => db.Sweeps.Single(s => s.Id == id));

        Assert.Equal(LensRegistry.Sweepable.Select(l => l.Name).ToList(), JsonSerializer.Deserialize<string[]>(sweep.TechniquesJson));
        Assert.Equal(LensRegistry.Sweepable.Select(l => l.Name).ToList().Order(), tuples.Select(t => t.Technique).Distinct().Order());
        foreach (var technique in LensRegistry.Sweepable.Select(l => l.Name).ToList())
        {
            var units = tuples.Where(t => t.Technique == technique).Select(t => t.Unit).Order().ToList();
            var mine = packets.Where(p => p.Technique == technique).ToList();
            if (LensRegistry.Get(technique).OpLevel)
            {
                Assert.Equal([UnitAddress.OpLevel], units);
                Assert.Single(mine);
            }
            else
            {
                Assert.Equal(Enumerable.Range(0, Conv1Units), units);
                // Op jobs compute every unit in one pass: one packet; the rest packetSize units each.
                Assert.Equal(LensRegistry.Get(technique).OnePassPerOp ? 1 : Conv1Units / 4, mine.Count);
            }
        }
        Assert.Equal(LensRegistry.Sweepable.Sum(l => l.OpLevel ? 1 : Conv1Units), (await farm.StatusAsync(id)).Total);
    }

    [Fact]
    public async Task AnOpLevelReRenderNeedsNoUnitAndIsStoredUnderOp()
    {
        await using var farm = await InProcessFarm.StartAsync();
        using var response = await farm.Http.PostAsJsonAsync("/api/renders", new { model = "demo", op = "conv1", technique = "deepdream", parameters = new { steps = 4, size = 32 } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await farm.WaitAsync(id, TimeSpan.FromMinutes(1));
        var tuple = farm.Db(db => db.Tuples.Single(t => t.SweepId == id));
        Assert.Equal(("done", UnitAddress.OpLevel), (tuple.State, tuple.Unit));
        Assert.Equal($"demo/{tuple.Version}/conv1/op/deepdream/{tuple.ParamsHash}.png", tuple.ImageKey);
        Assert.Equal(32, ImageFile.Decode((await farm.Store.GetAsync(tuple.ImageKey!))!).Width);
    }

    [Fact]
    public async Task ASweepWithAllTechniquesOverOneOpCompletesAndEveryResultIsReadable()
    {
        await using var farm = await InProcessFarm.StartAsync(settings: new Dictionary<string, string?> { ["Worker:DatasetImages"] = "64" });
        var id = await farm.SweepAsync(new { model = "demo", ops = new[] { "conv1" }, techniques = LensRegistry.Sweepable.Select(l => l.Name).ToList(), parameters = new { steps = 4, size = 32 } });
        var status = await farm.WaitAsync(id, TimeSpan.FromMinutes(3));

        Assert.Equal("done", status.State);
        Assert.Equal(LensRegistry.Sweepable.Sum(l => l.OpLevel ? 1 : Conv1Units), status.Total);
        Assert.Equal(status.Total, status.Counts["done"]);
        var tuples = farm.Db(db => db.Tuples.Where(t => t.SweepId == id).ToList());
        Assert.All(tuples, t => Assert.Equal("done", t.State));
        Assert.Equal(tuples.Count, tuples.Select(t => (t.Op, t.Unit, t.Technique)).Distinct().Count());
        foreach (var technique in LensRegistry.Sweepable.Select(l => l.Name).ToList())
            Assert.Equal(LensRegistry.Get(technique).OpLevel ? 1 : Conv1Units, tuples.Count(t => t.Technique == technique));
        Assert.Equal(tuples.Count, farm.Db(db => db.Results.Count()));

        var expected = new HashSet<string>();
        foreach (var t in tuples)
        {
            var address = new UnitAddress(t.Model, t.Version, t.Op, t.Unit);
            var keys = Suffixes[t.Technique].Select(s => ObjectKeys.File(address, t.Technique, t.ParamsHash, s)).ToList();
            Assert.Equal(keys[0], t.ImageKey);
            Assert.Equal(keys[^1], t.RecordKey);
            if (t.Unit == UnitAddress.OpLevel) Assert.Contains("/conv1/op/", t.ImageKey, StringComparison.Ordinal);
            foreach (var key in keys)
            {
                var bytes = await farm.Store.GetAsync(key);
                Assert.True(bytes is not null, $"missing object {key}");
                if (key.EndsWith(".png", StringComparison.Ordinal)) Assert.True(ImageFile.Decode(bytes).Width > 0, key);
                else if (key.EndsWith(".svg", StringComparison.Ordinal)) Assert.Equal("svg", XDocument.Parse(System.Text.Encoding.UTF8.GetString(bytes)).Root!.Name.LocalName);
                else JsonDocument.Parse(bytes).Dispose();
                expected.Add(key);
                // Beside every PNG, its thumbnail: at most 96 px on its longer side.
                if (ObjectKeys.Thumbnail(key) is { } thumbnail)
                {
                    var small = ImageFile.Decode((await farm.Store.GetAsync(thumbnail))!);
                    Assert.True(Math.Max(small.Width, small.Height) <= ObjectKeys.ThumbnailSize, thumbnail);
                    expected.Add(thumbnail);
                }
            }
        }
        Assert.Equal(expected.Order(), (await farm.Store.ListAsync("demo/")).Order());
    }

    [Fact]
    public async Task A_model_s_own_data_set_feeds_its_dataset_examples_and_a_missing_one_stops_the_farm()
    {
        var folder = Directory.CreateTempSubdirectory("ms-dataset-").FullName;
        try
        {
            // Six noise images, the demo model's data set by Models:Datasets:demo.
            var random = new Random(5);
            var names = Enumerable.Range(0, 6).Select(i => $"img{i}.png").ToList();
            foreach (var name in names)
                ImageFile.SavePng(Path.Combine(folder, name), Enumerable.Range(0, 3 * 40 * 40).Select(_ => (float)random.NextDouble()).ToArray(), 40, 40);
            await using (var farm = await InProcessFarm.StartAsync(settings: new Dictionary<string, string?> { ["Models:Datasets:demo"] = folder }))
            {
                var id = await farm.SweepAsync(new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "dataset_examples" }, parameters = new { steps = 4, size = 32 } });
                Assert.Equal("done", (await farm.WaitAsync(id, TimeSpan.FromMinutes(2))).State);
                var record = farm.Db(db => db.Tuples.Single(t => t.SweepId == id && t.Unit == 3)).RecordKey!;
                var json = JsonDocument.Parse((await farm.Store.GetAsync(record))!).RootElement.GetProperty("details");   // lens results sit under "details" (record format 2)
                Assert.Contains(folder, json.GetProperty("source").GetString(), StringComparison.Ordinal);
                Assert.Equal(6, json.GetProperty("images_seen").GetInt32());
                var ids = json.GetProperty("channel").EnumerateArray().Select(e => e.GetProperty("image_id").GetString()).ToList();
                Assert.Equal(names.Order(), ids.Order());
            }
            var e = await Assert.ThrowsAsync<Microscope.Farm.Hosting.OptionsProblemException>(() => InProcessFarm.StartAsync(settings: new Dictionary<string, string?> { ["Models:Datasets:demo"] = folder + "-gone" }));
            Assert.Contains($"Datasets:demo: folder '{folder}-gone' does not exist (set MICROSCOPE_MODELS__DATASETS__DEMO)", e.Message);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Fact]
    public void TheWorkerRefusesAnUnknownTechniqueAndBadLensParametersBeforeRendering()
    {
        var options = new Microscope.Worker.WorkerOptions();
        var added = new Microscope.Worker.ModelFileCache(new Microscope.Farm.Storage.FolderObjectStore(Path.GetTempPath()), options,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Microscope.Worker.ModelFileCache>.Instance);
        using var renderer = new Microscope.Worker.PacketRenderer(options, new Microscope.Farm.Hosting.ModelWeightsOptions(), added);
        var work = new RenderWork
        {
            PacketId = Guid.NewGuid(), Model = "demo", ModelVersion = "v", Op = "conv1", Technique = "dance",
            Parameters = new RenderSettings { Steps = 4, Size = 32 }, ParamsHash = "h", Units = [new PacketUnit(Guid.NewGuid(), 0)],
        };
        Assert.Contains(renderer.Check(work), p => p.StartsWith("unknown technique 'dance'; this worker renders channel, neuron,", StringComparison.Ordinal));
        var bad = work with
        {
            Technique = "diversity",
            Parameters = work.Parameters with { LensParameters = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["diversity"] = new Dictionary<string, string> { ["images"] = "1" } } },
        };
        Assert.Contains(renderer.Check(bad), p => p.Contains("diversity parameter 'images' must be in 2..16, not 1", StringComparison.Ordinal));
        Assert.Empty(renderer.Check(work with { Technique = "channel" }));
    }
}
