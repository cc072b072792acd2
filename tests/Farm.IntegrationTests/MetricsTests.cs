using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Microscope.Farm.IntegrationTests;

/// <summary>The Prometheus endpoints of a running distributed farm (coordinator and worker
/// processes on real PostgreSQL, RabbitMQ and s3rver): what they report after a sweep is what
/// the sweep did.</summary>
[Collection(RealServersCollection.Name)]
public sealed partial class MetricsTests(RealServers servers, ITestOutputHelper output) : IDisposable
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly List<FarmProcess> _processes = [];

    public void Dispose()
    {
        foreach (var p in _processes) p.Dispose();
    }

    private string Logs => string.Join("\n", _processes.Select(p => p.Output));

    [Fact]
    public async Task MetricsScrapedFromTheCoordinatorAndTheWorkerShowTheUnitsASweepRenderedAndFailed()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var iso = await servers.IsolateAsync("metrics");
        var env = new Dictionary<string, string>(servers.Environment(iso));
        var (coordinator, url) = await FarmProcess.StartCoordinatorAsync(env);
        _processes.Add(coordinator);
        var metricsPort = RealServers.FreePort();
        var workerEnv = new Dictionary<string, string>(env)
        {
            ["MICROSCOPE_TELEMETRY__WORKERMETRICSURL"] = $"http://127.0.0.1:{metricsPort}/",
            // Renders above 32 px are refused by this worker: the failed units of the second sweep.
            ["MICROSCOPE_WORKER__MAXIMAGESIZE"] = "32",
        };
        _processes.Add(await FarmProcess.StartWorkerAsync("worker-m", workerEnv));
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", RealServers.OperatorToken);

        // conv1 has 16 units; conv2 (32 units) at 48 px fails on this worker.
        var done = await SweepAsync(http, new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 } });
        var failed = await SweepAsync(http, new { model = "demo", ops = new[] { "conv2" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 48 } });
        Assert.Equal("done", done);
        Assert.Equal("failed", failed);

        using var scrape = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var worker = Parse(await scrape.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics"));
        Assert.Equal(16, Sum(worker, "microscope_units_rendered_total", ("op", "conv1"), ("technique", "channel"), ("model", "demo")));
        Assert.Equal(0, Sum(worker, "microscope_units_rendered_total", ("op", "conv2")));
        Assert.Equal(16, Sum(worker, "microscope_render_step_duration_milliseconds_count", ("op", "conv1")));
        Assert.True(Sum(worker, "microscope_render_step_duration_milliseconds_sum", ("op", "conv1")) > 0);
        // conv1 fits one packet (PacketSize 32); a PNG, its thumbnail and a JSON per unit stored
        // in s3rver, and the worker's log lines of each of conv2's 32 failed tuples.
        Assert.Equal(1, Sum(worker, "microscope_packet_duration_seconds_count", ("technique", "channel"), ("outcome", "done")));
        Assert.Equal(16 * 3 + 32, Sum(worker, "microscope_storage_duration_seconds_count", ("operation", "put"), ("store", "s3"), ("outcome", "ok")));
        Assert.True(Sum(worker, "microscope_process_memory_bytes") > 1e7);

        // The coordinator's gauges are sampled every 5 s: wait for a sample after both sweeps ended.
        Dictionary<string, List<(Dictionary<string, string> Labels, double Value)>> coord;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        do
        {
            await Task.Delay(1000);
            coord = Parse(await http.GetStringAsync("/metrics"));
        }
        while (Sum(coord, "microscope_sweeps_active") != 0 && DateTime.UtcNow < deadline);
        Assert.Equal(32, Sum(coord, "microscope_units_failed_total", ("reason", "rejected")));
        Assert.Equal(0, Sum(coord, "microscope_units_failed_total", ("reason", "crashed")));
        Assert.Equal(0, Sum(coord, "microscope_sweeps_active"));
        Assert.Equal(0, Sum(coord, "microscope_tuples_open"));
        Assert.Equal(["pending", "queued", "running"], coord["microscope_tuples_open"].Select(s => s.Labels["state"]).Order());
        Assert.True(Sum(coord, "microscope_db_command_duration_seconds_count", ("provider", "postgresql"), ("outcome", "ok")) > 10);
        // MassTransit's own meter and ASP.NET Core's come along.
        Assert.Contains(coord.Keys, k => k.StartsWith("messaging_masstransit_", StringComparison.Ordinal));
        Assert.Contains(coord.Keys, k => k.StartsWith("http_server_request_duration_seconds", StringComparison.Ordinal));
        output.WriteLine($"test took {clock.Elapsed.TotalSeconds:F0} s");
    }

    private async Task<string> SweepAsync(HttpClient http, object body)
    {
        using var r = await http.PostAsJsonAsync("/api/sweeps", body, Web);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.Accepted, text);
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetGuid();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            var state = JsonDocument.Parse(await http.GetStringAsync($"/api/sweeps/{id}")).RootElement.GetProperty("state").GetString()!;
            if (state is "done" or "failed" or "cancelled") return state;
            Assert.True(DateTime.UtcNow < deadline, $"sweep {id} not finished: {state}\n{Logs}");
            await Task.Delay(300);
        }
    }

    /// <summary>The Prometheus text format's samples by metric name (comments skipped).</summary>
    public static Dictionary<string, List<(Dictionary<string, string> Labels, double Value)>> Parse(string text)
    {
        var samples = new Dictionary<string, List<(Dictionary<string, string>, double)>>();
        foreach (var line in text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var m = Sample().Match(line);
            Assert.True(m.Success, $"not a Prometheus sample: {line}");
            var labels = Label().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value);
            var value = double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            if (!samples.TryGetValue(m.Groups["name"].Value, out var list)) samples[m.Groups["name"].Value] = list = [];
            list.Add((labels, value));
        }
        return samples;
    }

    /// <summary>The sum of a metric's samples whose labels include these.</summary>
    public static double Sum(Dictionary<string, List<(Dictionary<string, string> Labels, double Value)>> samples, string name, params (string Key, string Value)[] labels) =>
        samples.GetValueOrDefault(name, []).Where(s => labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).Sum(s => s.Value);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$")]
    private static partial Regex Sample();

    [GeneratedRegex("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex Label();
}
