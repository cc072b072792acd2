using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microscope.Engine.Models;
using Microscope.Engine.Models.Custom;
using Microscope.Engine.Torch;

namespace Microscope.Farm.Tests;

/// <summary>Models added to a running farm (POST /api/models): swept by its worker, which
/// fetches the files it never had; bad files refused with nothing stored; the same file
/// again changes nothing; a new file under the name becomes its current version.</summary>
public class AddedModelTests
{
    private const string Spec = """
        {
          "format": "microscope-model/1", "name": "tiny", "dataset": "test", "inputSize": 32,
          "preprocessing": { "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5] },
          "layers": [
            { "name": "conv1", "type": "conv", "input": "input", "out": 4, "kernel": 3, "padding": 1, "op": true },
            { "name": "relu1", "type": "relu", "input": "conv1" },
            { "name": "conv2", "type": "conv", "input": "relu1", "out": 6, "kernel": 3, "stride": 2, "op": true }
          ]
        }
        """;

    /// <summary>A spec and seeded weights, as bytes.</summary>
    private static (byte[] Spec, byte[] Weights) SpecFiles(int seed)
    {
        var folder = Directory.CreateTempSubdirectory("ms-added-").FullName;
        try
        {
            var spec = Path.Combine(folder, "tiny.model.json");
            File.WriteAllText(spec, Spec);
            using var model = new CustomModel(ModelSpec.Read(spec));
            model.LoadWeights(new WeightsSource.Random(seed), Device.CPU);
            var weights = Path.Combine(folder, "tiny.safetensors");
            Safetensors.Write(weights, model.Parameters.Export());
            return (File.ReadAllBytes(spec), File.ReadAllBytes(weights));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    public static async Task<(HttpStatusCode Status, JsonElement Body)> AddAsync(HttpClient http, string? name, params (string Part, string FileName, byte[] Data)[] parts)
    {
        using var form = new MultipartFormDataContent();
        foreach (var (part, fileName, data) in parts) form.Add(new ByteArrayContent(data), part, fileName);
        if (name is not null) form.Add(new StringContent(name), "name");
        using var response = await http.PostAsync("/api/models", form);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static Dictionary<string, string?> CacheSettings(string folder) => new() { ["Worker:ModelFolder"] = folder };

    /// <summary>The upload parts of each format: the tiny ONNX model alone, or a spec and its weights.</summary>
    private static (string Part, string FileName, byte[] Data)[] Upload(string format, int seed) => format == "onnx"
        ? [("file", "tiny.onnx", TinyOnnxModel.Bytes(seed))]
        : SpecFiles(seed) is var (spec, weights) ? [("file", "tiny.model.json", spec), ("weights", "tiny.safetensors", weights)] : [];

    [Theory]
    [InlineData("onnx", new[] { "Relu", "Relu_1" }, 2)]
    [InlineData("spec", new[] { "conv1", "conv2" }, 3)]
    public async Task An_added_model_is_swept_by_a_worker_that_fetches_its_files(string format, string[] expectedOps, int storedObjects)
    {
        var cache = Directory.CreateTempSubdirectory("ms-cache-").FullName;
        try
        {
            await using var farm = await InProcessFarm.StartAsync(settings: CacheSettings(cache));
            var (status, body) = await AddAsync(farm.Http, "addednet", Upload(format, 3));
            Assert.True(status == HttpStatusCode.Created, body.ToString());
            var version = body.GetProperty("version").GetString()!;
            Assert.Equal(format, body.GetProperty("format").GetString());

            // Stored under content hashes, with a manifest by version; registered as an added model.
            var keys = await farm.Store.ListAsync("_models/");
            Assert.Equal(storedObjects, keys.Count);
            Assert.Contains($"_models/addednet/{version}.json", keys);
            Assert.Contains(keys, k => k.EndsWith(format == "onnx" ? ".onnx" : ".model.json", StringComparison.Ordinal));
            using (var models = JsonDocument.Parse(await farm.Http.GetStringAsync("/api/models")))
            {
                Assert.Contains("addednet", models.RootElement.GetProperty("available").EnumerateArray().Select(e => e.GetString()));
                var row = models.RootElement.GetProperty("registered").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "addednet");
                Assert.True(row.GetProperty("added").GetBoolean());
                Assert.Equal(version, row.GetProperty("version").GetString());
            }
            using var described = JsonDocument.Parse(await farm.Http.GetStringAsync("/api/models/addednet"));
            var swept = described.RootElement.GetProperty("ops").EnumerateArray().Where(o => o.GetProperty("inSweep").GetBoolean())
                .Select(o => (Name: o.GetProperty("name").GetString()!, Channels: o.GetProperty("channels").GetInt32())).ToList();
            Assert.Equal(expectedOps, swept.Select(o => o.Name));
            var units = swept.Sum(o => o.Channels);
            Assert.Equal(4 + 6, units);
            Assert.Equal(units, body.GetProperty("units").GetInt64());

            var id = await farm.SweepAsync(new { model = "addednet", techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 } });
            var done = await farm.WaitAsync(id, TimeSpan.FromMinutes(2));
            Assert.True(done.State == "done", JsonSerializer.Serialize(done));
            Assert.Equal(units, done.Counts["done"]);
            var tuples = farm.Db(db => db.Tuples.Where(t => t.SweepId == id).ToList());
            Assert.All(tuples, t => Assert.Equal(version, t.Version));
            foreach (var t in tuples) Assert.Equal(32, Microscope.Engine.Imaging.ImageFile.Decode((await farm.Store.GetAsync(t.ImageKey!))!).Width);
            // The worker's copy: the model's files, under their content hashes.
            Assert.Equal(storedObjects - 1, Directory.GetFiles(cache).Length);
        }
        finally { Directory.Delete(cache, recursive: true); }
    }

    /// <summary>A GAN generator (its input a latent vector) is taken like any ONNX model and its
    /// default sweep rendered by a worker: the generator's 32 px images, not flat.</summary>
    [Fact]
    public async Task An_added_generator_is_swept_by_a_worker()
    {
        await using var farm = await InProcessFarm.StartAsync();
        var (status, body) = await AddAsync(farm.Http, "gen", ("file", "gen.onnx", File.ReadAllBytes(TinyOnnxModel.Generator())));
        Assert.True(status == HttpStatusCode.Created, body.ToString());
        // The default sweep: the ReLUs after the three transposed convolutions, and the image.
        Assert.Equal(32 + 16 + 8 + 3, body.GetProperty("units").GetInt64());
        // The stored descriptor says it is a generator.
        using (var described = JsonDocument.Parse(await farm.Http.GetStringAsync("/api/models/gen")))
            Assert.Equal([16, 1, 1], described.RootElement.GetProperty("latent").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));

        // Lenses that feed the model images are refused for a generator, naming the ones that work.
        using (var refused = await farm.Http.PostAsJsonAsync("/api/sweeps", new { model = "gen", techniques = new[] { "channel", "dataset_examples" } }, InProcessFarm.Web))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
            var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
            Assert.StartsWith("dataset_examples feeds images to the model, but 'gen' is a generator whose input is a latent vector",
                problem.GetProperty("errors").GetProperty("techniques")[0].GetString());
        }
        // Its default sweep leaves circuits out (the tables run a zero image through the model).
        var defaults = await farm.SweepAsync(new { model = "gen", paused = true });
        Assert.Equal(["channel", "neuron"], farm.Db(db => db.Tuples.Where(t => t.SweepId == defaults).Select(t => t.Technique).Distinct().ToList()).Order());
        using (var cancelled = await farm.Http.PostAsync($"/api/sweeps/{defaults}/cancel", null)) Assert.True(cancelled.IsSuccessStatusCode);
        var id = await farm.SweepAsync(new { model = "gen", techniques = new[] { "channel" }, parameters = new { steps = 8, size = 32 } });
        var done = await farm.WaitAsync(id, TimeSpan.FromMinutes(2));
        Assert.True(done.State == "done", JsonSerializer.Serialize(done));
        Assert.Equal(59, done.Counts["done"]);
        var tuples = farm.Db(db => db.Tuples.Where(t => t.SweepId == id).ToList());
        foreach (var t in tuples.Take(4))
        {
            var image = Microscope.Engine.Imaging.ImageFile.Decode((await farm.Store.GetAsync(t.ImageKey!))!);
            Assert.Equal(32, image.Width);
            Assert.True(image.Pixels.Max() - image.Pixels.Min() > 0.1, $"{t.Op}/{t.Unit}: a flat image");
        }
        // The worker's record shows the settings applied to a latent (transforms were on, the
        // default), under the hash of the settings given.
        var record = Microscope.Engine.Lenses.LensRecord.Parse((await farm.Store.GetAsync(tuples[0].RecordKey!))!)!;
        Assert.Equal((false, 1.0, 0.0, 8), (record.Parameters!.Transforms, record.Parameters.InitStd, record.Parameters.Decay, record.Parameters.Steps));
        Assert.Equal(tuples[0].ParamsHash, record.ParamsHash);
    }

    [Fact]
    public async Task The_same_file_again_changes_nothing_and_a_new_file_is_the_new_current_version()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        var onnx = TinyOnnxModel.Bytes(3);
        var first = await AddAsync(farm.Http, "addednet", ("file", "tiny.onnx", onnx));
        Assert.Equal(HttpStatusCode.Created, first.Status);
        var keys = await farm.Store.ListAsync("_models/");

        var again = await AddAsync(farm.Http, "addednet", ("file", "other-name.onnx", onnx));
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.False(again.Body.GetProperty("created").GetBoolean());
        var v1 = first.Body.GetProperty("version").GetString();
        Assert.Equal(v1, again.Body.GetProperty("version").GetString());
        Assert.Equal(keys, await farm.Store.ListAsync("_models/"));
        Assert.Equal(1, farm.Db(db => db.Models.Count(m => m.Name == "addednet")));

        var oldSweep = await farm.SweepAsync(new { model = "addednet", techniques = new[] { "channel" }, paused = true });
        await Task.Delay(5); // registered_at orders versions (milliseconds)
        // The same graph with a sidecar is another version; the .onnx is stored once for both.
        var sidecar = """{ "dataset": "tiny test images" }"""u8.ToArray();
        var second = await AddAsync(farm.Http, "addednet", ("file", "tiny.onnx", onnx), ("sidecar", "tiny.onnx.json", sidecar));
        Assert.Equal(HttpStatusCode.Created, second.Status);
        var v2 = second.Body.GetProperty("version").GetString();
        Assert.NotEqual(v1, v2);
        Assert.Equal(keys.Count + 2, (await farm.Store.ListAsync("_models/")).Count);
        Assert.Equal("tiny test images", JsonDocument.Parse(await farm.Http.GetStringAsync("/api/models/addednet")).RootElement.GetProperty("dataset").GetString());

        await Task.Delay(5);
        var third = await AddAsync(farm.Http, "addednet", ("file", "tiny.onnx", TinyOnnxModel.Bytes(4)));
        Assert.Equal(HttpStatusCode.Created, third.Status);
        var v3 = third.Body.GetProperty("version").GetString();
        var newSweep = await farm.SweepAsync(new { model = "addednet", techniques = new[] { "channel" }, paused = true });
        Assert.Equal(v3, farm.Db(db => db.Sweeps.Single(s => s.Id == newSweep).Version));
        Assert.Equal(v1, farm.Db(db => db.Sweeps.Single(s => s.Id == oldSweep).Version));
        Assert.Equal(3, farm.Db(db => db.Models.Count(m => m.Name == "addednet")));
        using var described = JsonDocument.Parse(await farm.Http.GetStringAsync($"/api/models/addednet?version={v1}"));
        Assert.Equal(v1, described.RootElement.GetProperty("version").GetString());
    }

    public static TheoryData<string, int, string> BadUploads => new()
    {
        { "not-a-spec", 422, "cannot be built as model 'addednet'" },
        { "truncated-weights", 422, "cannot be built as model 'addednet'" },
        { "no-weights", 422, "needs its weights" },
        { "unknown-suffix", 422, "neither an ONNX model" },
        { "not-onnx", 422, "'nonsense.onnx' cannot be built as model 'addednet': 'addednet.onnx' is not an ONNX model" },
        { "truncated-onnx", 422, "is truncated" },
        { "unsupported-op", 422, "op 'Einsum' (node '/Relu'): the operator is not supported" },
        { "no-image-input", 422, "no usable image input" },
        { "preprocessing-graph", 422, "cannot have one" },
        { "empty", 422, "is empty" },
        { "path-name", 422, "is not a model name" },
        { "zoo-name", 422, "zoo or configuration" },
        { "too-large", 413, "Coordinator:MaxModelBytes" },
        { "unknown-part", 400, "unknown part 'picture'" },
        { "no-file", 422, "the model file is required" },
        { "json-body", 415, "multipart/form-data" },
        { "researcher-token", 403, "operator" },
        { "no-token", 401, "token" },
    };

    [Theory]
    [MemberData(nameof(BadUploads))]
    public async Task A_bad_file_is_refused_naming_the_problem_and_nothing_is_stored(string kind, int status, string mentions)
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false, settings: new Dictionary<string, string?> { ["Coordinator:MaxModelBytes"] = "4096" });
        var (spec, weights) = SpecFiles(3);
        (string, string, byte[]) Spec_ = ("file", "tiny.model.json", spec), Weights = ("weights", "tiny.safetensors", weights);
        var name = kind switch { "path-name" => "../etc", "zoo-name" => "demo", _ => "addednet" };
        (string, string, byte[])[] parts = kind switch
        {
            "not-a-spec" => [("file", "tiny.model.json", "{\"format\": 3"u8.ToArray()), Weights],
            "truncated-weights" => [Spec_, ("weights", "tiny.safetensors", weights[..(weights.Length / 2)])],
            "no-weights" => [Spec_],
            "unknown-suffix" => [("file", "tiny.pt", spec), Weights],
            "not-onnx" => [("file", "nonsense.onnx", "this is not a protobuf"u8.ToArray())],
            "truncated-onnx" => [("file", "tiny.onnx", TinyOnnxModel.Bytes(3)[..1500])],
            "unsupported-op" or "no-image-input" => [("file", "tiny.onnx", TinyOnnxModel.Bytes(3, kind))],
            "preprocessing-graph" => [("file", "tiny.onnx", TinyOnnxModel.Bytes(3)), ("sidecar", "tiny.onnx.json", """{ "preprocessingGraph": "../../etc/passwd" }"""u8.ToArray())],
            "empty" => [("file", "tiny.model.json", []), Weights],
            "too-large" => [Spec_, ("weights", "big.safetensors", new byte[5000])],
            "unknown-part" => [Spec_, Weights, ("picture", "cat.png", [1, 2, 3])],
            "no-file" => [Weights],
            _ => [Spec_, Weights],
        };
        HttpStatusCode code;
        string text;
        if (kind == "json-body")
        {
            using var response = await farm.Http.PostAsync("/api/models", new StringContent("{\"file\":\"x\"}", System.Text.Encoding.UTF8, "application/json"));
            (code, text) = (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        else if (kind is "researcher-token" or "no-token")
        {
            using var http = new HttpClient { BaseAddress = farm.Http.BaseAddress };
            if (kind == "researcher-token") http.DefaultRequestHeaders.Authorization = new("Bearer", InProcessFarm.ResearcherToken);
            var (s, body) = await AddAsync(http, name, parts);
            (code, text) = (s, body.ToString());
        }
        else
        {
            var (s, body) = await AddAsync(farm.Http, name, parts);
            (code, text) = (s, body.ToString());
        }
        Assert.Equal(status, (int)code);
        Assert.Contains(mentions, text, StringComparison.Ordinal);
        Assert.Contains("\"title\"", text, StringComparison.Ordinal);
        Assert.Empty(await farm.Store.ListAsync("_models/"));
        Assert.Equal(0, farm.Db(db => db.Models.Count(m => m.Name == name)));
    }
}
