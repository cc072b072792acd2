using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microscope.Contracts;
using Microscope.Engine.Circuits;
using Xunit.Abstractions;

namespace Microscope.Farm.IntegrationTests;

/// <summary>Circuit tables made by the farm: a whole-model sweep of the demo model on PostgreSQL,
/// RabbitMQ and s3rver stores every op pair's weight table, and the viewer (its own process)
/// then serves connections and circuit pages from them without computing any.</summary>
[Collection(RealServersCollection.Name)]
public sealed class CircuitTablesIntegrationTests(RealServers servers, ITestOutputHelper output) : IDisposable
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly List<FarmProcess> _processes = [];

    public void Dispose()
    {
        foreach (var p in _processes) p.Dispose();
    }

    private string Logs => string.Join("\n", _processes.Select(p => p.Output));

    /// <summary>The viewer's log line when it computes a table itself (CircuitWeights).</summary>
    private static readonly Regex ComputedHere = new("computed the weights of");

    [Fact]
    public async Task A_whole_model_sweep_stores_the_circuit_tables_and_the_viewer_serves_them_without_computing()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var iso = await servers.IsolateAsync("circuits");
        var env = new Dictionary<string, string>(servers.Environment(iso));
        var (coordinator, url) = await FarmProcess.StartCoordinatorAsync(env);
        _processes.Add(coordinator);
        _processes.Add(await FarmProcess.StartWorkerAsync("worker-c", env));
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", RealServers.OperatorToken);

        // Every op, the default techniques (channel, neuron and circuits); two channels each keep it short.
        using var created = await http.PostAsJsonAsync("/api/sweeps", new { model = "demo", units = new[] { 0, 1 }, parameters = new { steps = 4, size = 32 } }, Web);
        var text = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Accepted, text);
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetGuid();
        var version = JsonDocument.Parse(text).RootElement.GetProperty("version").GetString()!;
        SweepStatus status;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        do
        {
            await Task.Delay(300);
            status = (await http.GetFromJsonAsync<SweepStatus>($"/api/sweeps/{id}", Web))!;
            Assert.True(DateTime.UtcNow < deadline, $"sweep not finished: {JsonSerializer.Serialize(status)}\n{Logs}");
        } while (status.State is not ("done" or "failed" or "cancelled"));
        Assert.True(status.State == "done", JsonSerializer.Serialize(status) + Logs);
        // Six ops: two channels x two unit lenses each, and one circuits tuple each.
        Assert.Equal(6 * 2 * 2 + 6, status.Total);

        // The tables are stored, under the viewer's keys, before the viewer exists.
        var pairs = new[] { ("conv2", "conv1"), ("conv3", "conv2"), ("conv4", "conv3"), ("conv5", "conv4"), ("logits", "conv5") };
        using (var s3 = servers.S3Client())
        {
            var keys = (await s3.ListObjectsAsync(iso.Bucket, $"demo/{version}/_circuits/")).S3Objects?.Select(o => o.Key).Order().ToList() ?? [];
            Assert.Equal(pairs.Select(p => ObjectKeys.InModel("demo", version, WeightTable.ObjectName(p.Item1, p.Item2))).Order(), keys);
        }

        var viewer = FarmProcess.Start("viewer", env, "viewer", "--urls", "http://127.0.0.1:0", "--coordinator", url);
        _processes.Add(viewer);
        var viewerUrl = await viewer.WaitForLineAsync(new Regex(@"viewer listening on (http://\S+)"), TimeSpan.FromSeconds(90));
        using var browse = new HttpClient { BaseAddress = new Uri(viewerUrl), Timeout = TimeSpan.FromMinutes(2) };
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var connections = await browse.GetAsync("/api/models/demo/conv3/0/connections");
        var firstMs = started.ElapsedMilliseconds;
        Assert.True(connections.StatusCode == HttpStatusCode.OK, await connections.Content.ReadAsStringAsync() + viewer.Output);
        var c = JsonDocument.Parse(await connections.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("conv2", c.GetProperty("inputs")[0].GetProperty("op").GetString());
        Assert.Equal("conv4", c.GetProperty("outputs")[0].GetProperty("op").GetString());
        using var circuit = await browse.GetAsync("/models/demo/conv3/0/circuit");
        Assert.Equal(HttpStatusCode.OK, circuit.StatusCode);
        Assert.Contains("data-direction=\"outputs\" data-op=\"conv5\"", await browse.GetStringAsync("/models/demo/conv4/1"), StringComparison.Ordinal);
        Assert.DoesNotContain(ComputedHere.ToString(), viewer.Output, StringComparison.Ordinal);

        // The check can fail: a table the farm did not store (and this viewer has not read yet)
        // is computed here, and logged.
        using (var s3 = servers.S3Client()) await s3.DeleteObjectAsync(iso.Bucket, ObjectKeys.InModel("demo", version, WeightTable.ObjectName("logits", "conv5")));
        using var logits = await browse.GetAsync("/api/models/demo/logits/0/connections");
        Assert.Equal(HttpStatusCode.OK, logits.StatusCode);
        await viewer.WaitForLineAsync(ComputedHere, TimeSpan.FromSeconds(30));
        output.WriteLine($"circuits journey (sweep, viewer, {firstMs} ms first connections request): {clock.Elapsed.TotalSeconds:F1} s");
    }
}
