using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microscope.Contracts;
using Microscope.Engine.Models;
using Microscope.Engine.Models.Custom;
using Microscope.Engine.Torch;
using Npgsql;
using Xunit.Abstractions;

namespace Microscope.Farm.IntegrationTests;

/// <summary>A model added to a farm on PostgreSQL, RabbitMQ and s3rver: `microscope models
/// add` stores it, a worker process that never had the file fetches and sweeps it, the viewer
/// shows it; bad files are refused with nothing stored.</summary>
[Collection(RealServersCollection.Name)]
public sealed class AddedModelIntegrationTests(RealServers servers, ITestOutputHelper output) : IDisposable
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly List<FarmProcess> _processes = [];
    private readonly string _folder = Directory.CreateTempSubdirectory("ms-it-added-").FullName;

    public void Dispose()
    {
        foreach (var p in _processes) p.Dispose();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    private string Logs => string.Join("\n", _processes.Select(p => p.Output));

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

    /// <summary>The model file the farm is given: a spec and its seeded weights.</summary>
    private (string File, string Weights) ModelFilesOnDisk()
    {
        var spec = Path.Combine(_folder, "tiny.model.json");
        File.WriteAllText(spec, Spec);
        using var model = new CustomModel(ModelSpec.Read(spec));
        model.LoadWeights(new WeightsSource.Random(5), Device.CPU);
        var weights = Path.Combine(_folder, "tiny.safetensors");
        Safetensors.Write(weights, model.Parameters.Export());
        return (spec, weights);
    }

    private async Task<List<string>> KeysAsync(string bucket)
    {
        using var s3 = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
        {
            ServiceURL = servers.S3Url, ForcePathStyle = true,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED, ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
        var page = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = "_models/" });
        return (page.S3Objects ?? []).Select(o => o.Key).ToList();
    }

    private static async Task<long> RowsAsync(Isolation iso, string name)
    {
        await using var pg = new NpgsqlConnection(iso.Postgres);
        await pg.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM models WHERE name = @n", pg);
        cmd.Parameters.AddWithValue("n", name);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task A_model_added_through_the_api_is_swept_by_a_worker_that_never_had_it_and_shown_by_the_viewer()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var iso = await servers.IsolateAsync("added");
        var env = new Dictionary<string, string>(servers.Environment(iso)) { ["MICROSCOPE_COORDINATOR__MAXMODELBYTES"] = "65536" };
        var (coordinator, url) = await FarmProcess.StartCoordinatorAsync(env);
        _processes.Add(coordinator);
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", RealServers.OperatorToken);
        var cache = Path.Combine(_folder, "worker-models");
        _processes.Add(await FarmProcess.StartWorkerAsync("worker-fresh", new Dictionary<string, string>(env) { ["MICROSCOPE_WORKER__MODELFOLDER"] = cache }));

        // Bad files first: each refused with the reason, nothing in the bucket or the table.
        var (file, weights) = ModelFilesOnDisk();
        var bad = new (string Name, (string Part, string FileName, byte[] Data)[] Parts, HttpStatusCode Status, string Mentions)[]
        {
            ("notonnx", [("file", "notonnx.onnx", "GIF89a, not a model"u8.ToArray())], HttpStatusCode.UnprocessableEntity, "notonnx.onnx"),
            ("truncated", [("file", "tiny.model.json", File.ReadAllBytes(file)), ("weights", "tiny.safetensors", File.ReadAllBytes(weights)[..100])], HttpStatusCode.UnprocessableEntity, "cannot be built"),
            ("toolarge", [("file", "tiny.model.json", File.ReadAllBytes(file)), ("weights", "big.safetensors", new byte[70_000])], HttpStatusCode.RequestEntityTooLarge, "MaxModelBytes"),
        };
        foreach (var (name, parts, expected, mentions) in bad)
        {
            using var form = new MultipartFormDataContent { { new StringContent(name), "name" } };
            foreach (var (part, fileName, data) in parts) form.Add(new ByteArrayContent(data), part, fileName);
            using var response = await http.PostAsync("/api/models", form);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == expected, $"{name}: {(int)response.StatusCode} {text}");
            Assert.Contains(mentions, text, StringComparison.Ordinal);
            Assert.Equal(0, await RowsAsync(iso, name));
        }
        Assert.Empty(await KeysAsync(iso.Bucket));

        // Added with the CLI, as a user would.
        var add = FarmProcess.Start("models-add", new Dictionary<string, string>(env) { ["MICROSCOPE_TOKEN"] = RealServers.OperatorToken }, "models", "add", file, "--name", "itnet", "-c", url);
        _processes.Add(add);
        Assert.True(await add.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, Logs);
        var version = await add.WaitForLineAsync(new Regex(@"added model itnet version (\w+): 2 ops, 10 units"), TimeSpan.FromSeconds(5));
        var keys = await KeysAsync(iso.Bucket);
        Assert.Equal(3, keys.Count);
        Assert.Contains($"_models/itnet/{version}.json", keys);
        Assert.Equal(1, await RowsAsync(iso, "itnet"));

        using var sweep = await http.PostAsJsonAsync("/api/sweeps", new { model = "itnet", techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 } }, Web);
        Assert.True(sweep.StatusCode == HttpStatusCode.Accepted, await sweep.Content.ReadAsStringAsync());
        var id = (await sweep.Content.ReadFromJsonAsync<JsonElement>(Web)).GetProperty("id").GetGuid();
        SweepStatus status;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        do
        {
            await Task.Delay(300);
            status = (await http.GetFromJsonAsync<SweepStatus>($"/api/sweeps/{id}", Web))!;
            Assert.True(DateTime.UtcNow < deadline, $"sweep not finished: {JsonSerializer.Serialize(status)}\n{Logs}");
        } while (status.State is not ("done" or "failed" or "cancelled"));
        Assert.True(status.State == "done", JsonSerializer.Serialize(status) + Logs);
        Assert.Equal(10, status.Counts["done"]);
        Assert.Equal(2, Directory.GetFiles(cache).Length);
        await _processes[1].WaitForLineAsync(new Regex("fetched model file _models/"), TimeSpan.FromSeconds(5));

        // The viewer (its own process, reading PostgreSQL and s3rver) lists it and shows its units.
        var viewer = FarmProcess.Start("viewer", env, "viewer", "--urls", "http://127.0.0.1:0", "--coordinator", url);
        _processes.Add(viewer);
        var viewerUrl = await viewer.WaitForLineAsync(new Regex(@"viewer listening on (http://\S+)"), TimeSpan.FromSeconds(90));
        using var browse = new HttpClient { BaseAddress = new Uri(viewerUrl) };
        Assert.Contains("/models/itnet", await browse.GetStringAsync("/"), StringComparison.Ordinal);
        var modelPage = await browse.GetStringAsync("/models/itnet");
        Assert.Contains("conv2", modelPage, StringComparison.Ordinal);
        var unitPage = await browse.GetStringAsync("/models/itnet/conv2/5");
        Assert.Contains($"itnet/{version}/conv2/5/channel/", unitPage, StringComparison.Ordinal);
        output.WriteLine($"added-model journey (bad files, add, sweep, viewer): {clock.Elapsed.TotalSeconds:F1} s");
    }
}
