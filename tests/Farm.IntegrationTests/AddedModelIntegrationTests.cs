using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microscope.Contracts;
using Microscope.Farm.Tests;
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
        var file = Path.Combine(_folder, "tiny.onnx");
        File.Copy(TinyOnnxModel.FileFor(5), file);
        var onnx = File.ReadAllBytes(file);
        var bad = new (string Name, (string Part, string FileName, byte[] Data)[] Parts, HttpStatusCode Status, string Mentions)[]
        {
            ("notonnx", [("file", "notonnx.onnx", "GIF89a, not a model"u8.ToArray())], HttpStatusCode.UnprocessableEntity, "is not an ONNX model"),
            ("truncated", [("file", "tiny.onnx", onnx[..(onnx.Length / 2)])], HttpStatusCode.UnprocessableEntity, "is truncated"),
            ("unsupported", [("file", "tiny.onnx", TinyOnnxModel.Bytes(5, "unsupported-op"))], HttpStatusCode.UnprocessableEntity, "op 'Einsum' (node '/Relu')"),
            ("novector", [("file", "tiny.onnx", TinyOnnxModel.Bytes(5, "no-image-input"))], HttpStatusCode.UnprocessableEntity, "no usable image input"),
            ("toolarge", [("file", "big.onnx", new byte[70_000])], HttpStatusCode.RequestEntityTooLarge, "MaxModelBytes"),
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
        var version = await add.WaitForLineAsync(new Regex(@"added model itnet version (\w+): 7 ops, 10 units"), TimeSpan.FromSeconds(5));
        var keys = await KeysAsync(iso.Bucket);
        Assert.Equal(2, keys.Count);
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
        Assert.Equal([Path.GetFileName(keys.Single(k => k.EndsWith(".onnx", StringComparison.Ordinal)))], Directory.GetFiles(cache).Select(Path.GetFileName));
        await _processes[1].WaitForLineAsync(new Regex("fetched model file _models/"), TimeSpan.FromSeconds(5));

        // The viewer (its own process, reading PostgreSQL and s3rver) lists it and shows its units.
        var viewer = FarmProcess.Start("viewer", env, "viewer", "--urls", "http://127.0.0.1:0", "--coordinator", url);
        _processes.Add(viewer);
        var viewerUrl = await viewer.WaitForLineAsync(new Regex(@"viewer listening on (http://\S+)"), TimeSpan.FromSeconds(90));
        using var browse = new HttpClient { BaseAddress = new Uri(viewerUrl) };
        Assert.Contains("/models/itnet", await browse.GetStringAsync("/"), StringComparison.Ordinal);
        var modelPage = await browse.GetStringAsync("/models/itnet");
        Assert.Contains("Relu_1", modelPage, StringComparison.Ordinal);
        var unitPage = await browse.GetStringAsync("/models/itnet/Relu_1/5");
        Assert.Contains($"itnet/{version}/Relu_1/5/channel/", unitPage, StringComparison.Ordinal);
        output.WriteLine($"added-model journey (bad files, add, sweep, viewer): {clock.Elapsed.TotalSeconds:F1} s");
    }
}
