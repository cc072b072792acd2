using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Xunit.Abstractions;

namespace Microscope.Farm.IntegrationTests;

/// <summary>Results a worker stored whose events never reached the database (the coordinator
/// was down and its event queue lost them) are taken from the object store when the
/// coordinator starts: the tuples end done, one result each, with no second render.</summary>
[Collection(RealServersCollection.Name)]
public sealed class ReconciliationTests(RealServers servers, ITestOutputHelper output) : IDisposable
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly List<FarmProcess> _processes = [];

    public void Dispose()
    {
        foreach (var p in _processes) p.Dispose();
    }

    private string Logs => string.Join("\n", _processes.Select(p => p.Output.Length > 4000 ? p.Output[^4000..] : p.Output));

    [Fact]
    public async Task TuplesWhoseEventsWereLostAreDoneFromTheStoredObjectsWithoutASecondRender()
    {
        var iso = await servers.IsolateAsync("reconcile");
        var env = new Dictionary<string, string>(servers.Environment(iso))
        {
            ["MICROSCOPE_COORDINATOR__PACKETSIZE"] = "16",
            // No lease runs out during the test: only the reconciliation can finish the tuples.
            ["MICROSCOPE_COORDINATOR__SENTLEASESECONDS"] = "3600",
            ["MICROSCOPE_COORDINATOR__LEASESECONDS"] = "3600",
        };
        var (coordinator, url) = await FarmProcess.StartCoordinatorAsync(env);
        _processes.Add(coordinator);
        Guid id;
        using (var http = Client(url))
        {
            using var r = await http.PostAsJsonAsync("/api/sweeps", new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 } }, Web);
            Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
            id = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
            // The packet is in the queue and recorded as sent: then the coordinator dies.
            await coordinator.WaitForLineAsync(new Regex("sent packet conv1/channel x16"), TimeSpan.FromSeconds(60));
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((await http.GetFromJsonAsync<List<JsonElement>>($"/api/sweeps/{id}/tuples", Web))!.Any(t => t.GetProperty("state").GetString() != "queued"))
            {
                Assert.True(DateTime.UtcNow < deadline, Logs);
                await Task.Delay(100);
            }
        }
        coordinator.Kill();

        // A worker renders the packet and reports it to a queue nobody reads; the events are lost.
        var worker = await FarmProcess.StartWorkerAsync("worker-a", env);
        _processes.Add(worker);
        await worker.WaitForLineAsync(new Regex("packet done in"), TimeSpan.FromMinutes(2));
        var ctl = Path.Combine(RealServers.RepoRoot, "scripts", "servers", "rabbitmq.sh");
        static int Events(string queues) => int.Parse(Regex.Match(queues, @"(?m)^farm-coordinator\s+(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var queued = servers.QueuesUntil(iso.Bucket, q => Events(q) >= 18);
        var events = Events(queued);
        Assert.True(events >= 18, queued);   // PacketStarted, 16 UnitRendered, PacketFinished (and heartbeats)
        RealServers.Run(ctl, TimeSpan.FromSeconds(60), "ctl", Path.Combine(servers.Root, "rabbit"), "purge_queue", "-p", iso.Bucket, "farm-coordinator");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        (coordinator, url) = await FarmProcess.StartCoordinatorAsync(env);
        _processes.Add(coordinator);
        using var client = Client(url);
        JsonElement status;
        while (true)
        {
            status = await client.GetFromJsonAsync<JsonElement>($"/api/sweeps/{id}", Web);
            if (status.GetProperty("state").GetString() is "done" or "failed") break;
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), $"not done from the store: {status}\n{Logs}");
            await Task.Delay(200);
        }
        output.WriteLine($"{events} events purged; sweep {status.GetProperty("state")} {clock.Elapsed.TotalSeconds:F1} s after the coordinator started again");
        Assert.Equal("done", status.GetProperty("state").GetString());
        Assert.Contains("16 tuples done from results already in the object store", coordinator.Output, StringComparison.Ordinal);
        // One render: the worker started one packet, and nothing was sent again.
        Assert.Single(Regex.Matches(worker.Output, "rendering demo/conv1"));
        Assert.DoesNotContain("sent packet", coordinator.Output, StringComparison.Ordinal);

        var tuples = (await client.GetFromJsonAsync<List<JsonElement>>($"/api/sweeps/{id}/tuples", Web))!;
        Assert.All(tuples, t =>
        {
            var unit = t.GetProperty("unit").GetInt32();
            Assert.Equal("done", t.GetProperty("state").GetString());
            Assert.EndsWith($"/conv1/{unit}/channel/{t.GetProperty("paramsHash").GetString()}.png", t.GetProperty("imageKey").GetString(), StringComparison.Ordinal);
            Assert.EndsWith(".json", t.GetProperty("recordKey").GetString(), StringComparison.Ordinal);
        });
        await using var pg = new NpgsqlConnection(iso.Postgres);
        await pg.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*), count(DISTINCT unit), count(*) FILTER (WHERE objective_end <> 0) FROM results", pg);
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((16L, 16L, 16L), (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)));
    }

    private static HttpClient Client(string url)
    {
        var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", RealServers.OperatorToken);
        return http;
    }
}
