using System.Net.Http.Json;
using System.Text.Json;
using Microscope.Contracts;
using Microscope.Farm.Messaging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RabbitMQ.Client;
using Xunit.Abstractions;

namespace Microscope.Farm.IntegrationTests;

/// <summary>The farm's queues are quorum queues with a delivery limit, on the real broker:
/// every declarer agrees, RabbitMQ itself stops offering a message its consumers keep dying
/// with, and a packet that kills its worker every time fails with the reason while the rest of
/// the sweep finishes.</summary>
[Collection(RealServersCollection.Name)]
public sealed class QuorumQueueTests(RealServers servers, ITestOutputHelper output) : IDisposable
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly List<FarmProcess> _processes = [];

    public void Dispose()
    {
        foreach (var p in _processes) p.Dispose();
    }

    private string Logs => string.Join("\n", _processes.Select(p => p.Output.Length > 4000 ? p.Output[^4000..] : p.Output));

    private string Ctl(string vhost, params string[] args) => RealServers.Run(Path.Combine(RealServers.RepoRoot, "scripts", "servers", "rabbitmq.sh"),
        TimeSpan.FromSeconds(60), ["ctl", Path.Combine(servers.Root, "rabbit"), .. args.Take(1), "-p", vhost, .. args.Skip(1)]);

    [Fact]
    public async Task TheBrokerCapsRedeliveriesAndAClassicQueueFromBeforeIsNamed()
    {
        var iso = await servers.IsolateAsync("quorum");
        var transport = new TransportOptions { Kind = TransportKind.RabbitMq, RabbitMqUrl = iso.RabbitUrl, DeliveryLimit = 2, StartTimeoutSeconds = 30 };
        var factory = new ConnectionFactory { Uri = new Uri(iso.RabbitUrl) };

        // A classic queue left by an older farm: the declaration stops with the way out.
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
            await channel.QueueDeclareAsync(Queues.RenderWork, durable: true, exclusive: false, autoDelete: false);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => QueueDeclarations.DeclareWorkQueuesAsync(transport, NullLogger.Instance, default));
        Assert.Contains("x-queue-type", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Moving to quorum queues", refused.Message, StringComparison.Ordinal);
        Ctl(iso.Bucket, "delete_queue", Queues.RenderWork);

        // Declared twice (coordinator and worker start): the same arguments, no clash.
        await QueueDeclarations.DeclareWorkQueuesAsync(transport, NullLogger.Instance, default);
        await QueueDeclarations.DeclareWorkQueuesAsync(transport, NullLogger.Instance, default);
        var queues = Ctl(iso.Bucket, "list_queues", "name", "type", "arguments");
        Assert.Matches(@"render-work\s+quorum\s+.*x-delivery-limit.*2", queues);
        Assert.Matches(@"render-work-priority\s+quorum", queues);

        // One message; each "worker" takes it and dies without acknowledging it.
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
            await channel.BasicPublishAsync(Queues.RenderWork, "", true, new BasicProperties { Persistent = true }, "poison"u8.ToArray());
        var counts = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            await using var connection = await factory.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            BasicGetResult? got = null;
            for (var poll = 0; poll < 20 && got is null; poll++)
            {
                got = await channel.BasicGetAsync(Queues.RenderWork, autoAck: false);
                if (got is null) await Task.Delay(100);
            }
            if (got is null) break;
            counts.Add(got.BasicProperties.Headers?.TryGetValue(WorkQueues.DeliveryCountHeader, out var c) == true ? Convert.ToInt64(c, System.Globalization.CultureInfo.InvariantCulture) : 0);
            // Closing the connection with the message unacknowledged, as a killed worker does.
        }
        output.WriteLine($"deliveries: {counts.Count}, x-delivery-count seen: {string.Join(", ", counts)}");
        // First delivery plus DeliveryLimit redeliveries, then RabbitMQ drops it.
        Assert.Equal([0L, 1L, 2L], counts);
        Assert.Matches(@"(?m)^render-work\s+0\s*$", servers.QueuesUntil(iso.Bucket, @"(?m)^render-work\s+0\s*$"));
    }

    [Fact]
    public async Task APacketThatKillsItsWorkerEveryTimeFailsWithTheReasonAndRetryFailedBringsItBack()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var iso = await servers.IsolateAsync("crashloop");
        var env = new Dictionary<string, string>(servers.Environment(iso))
        {
            ["MICROSCOPE_COORDINATOR__PACKETSIZE"] = "16",
            ["MICROSCOPE_COORDINATOR__MAXATTEMPTS"] = "3",
            ["MICROSCOPE_TRANSPORT__DELIVERYLIMIT"] = "3",
        };
        var (coordinator, url) = await FarmProcess.StartCoordinatorAsync(env);
        _processes.Add(coordinator);
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(1) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", RealServers.OperatorToken);

        // One worker whose every packet holding conv1 unit 3 kills it, restarted as Kubernetes would.
        var crashing = new Dictionary<string, string>(env) { ["MICROSCOPE_WORKER__INJECTCRASHON"] = "conv1:3" };
        var workers = new List<FarmProcess>();
        using var stopSupervising = new CancellationTokenSource();
        var supervisor = Task.Run(async () =>
        {
            while (!stopSupervising.IsCancellationRequested)
            {
                if (workers.Count == 0 || workers[^1].HasExited)
                {
                    var w = await FarmProcess.StartWorkerAsync($"crashing-{workers.Count}", crashing);
                    lock (_processes) _processes.Add(w);
                    workers.Add(w);
                }
                await Task.Delay(200);
            }
        });
        var id = await PostAsync(http, "/api/sweeps", new { model = "demo", ops = new[] { "conv1", "conv2" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 } });
        var status = await WaitAsync(http, id, TimeSpan.FromMinutes(5));
        await stopSupervising.CancelAsync();
        await supervisor;
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  sweep {status.GetProperty("state")}: {status.GetProperty("counts")}");

        // Three starts (Coordinator:MaxAttempts), each killing its worker; the fourth delivery
        // (x-delivery-count 3) is refused by the worker with the reason, so RabbitMQ's limit of
        // 3 redeliveries was never passed and the message is gone from the queue.
        var crashes = workers.Count(w => w.Output.Contains("injected crash", StringComparison.Ordinal));
        Assert.True(crashes == 3, $"{crashes} crashes\n{Logs}");
        Assert.Equal("failed", status.GetProperty("state").GetString());
        var counts = status.GetProperty("counts");
        Assert.Equal((16, 32), (counts.GetProperty("failed").GetInt32(), counts.GetProperty("done").GetInt32()));
        var tuples = await http.GetFromJsonAsync<List<JsonElement>>($"/api/sweeps/{id}/tuples?state=failed", Web);
        Assert.All(tuples!, t =>
        {
            Assert.Equal("conv1", t.GetProperty("op").GetString());
            Assert.Contains("delivered 4 times: its worker crashed", t.GetProperty("failure").GetString(), StringComparison.Ordinal);
        });
        Assert.Matches(@"(?m)^render-work\s+0\s*$", servers.QueuesUntil(iso.Bucket, @"(?m)^render-work\s+0\s*$"));
        await using (var pg = new NpgsqlConnection(iso.Postgres))
        {
            await pg.OpenAsync();
            await using var cmd = new NpgsqlCommand($"SELECT starts FROM packets WHERE sweep_id = '{id}' AND op = 'conv1'", pg);
            Assert.Equal(3, (int)(await cmd.ExecuteScalarAsync())!);
        }

        // The worker fixed (no crash injected): retry-failed renders those 16 tuples.
        foreach (var w in workers) w.Kill();
        var fixedWorker = await FarmProcess.StartWorkerAsync("fixed", env);
        _processes.Add(fixedWorker);
        using (var r = await http.PostAsync($"/api/sweeps/{id}/retry-failed", null))
            Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        status = await WaitAsync(http, id, TimeSpan.FromMinutes(3));
        Assert.True(status.GetProperty("state").GetString() == "done", status + "\n" + Logs);
        Assert.Equal(48, status.GetProperty("counts").GetProperty("done").GetInt32());
        output.WriteLine($"{clock.Elapsed.TotalSeconds,5:F1} s  after retry-failed: {status.GetProperty("counts")}");
    }

    private static async Task<Guid> PostAsync(HttpClient http, string path, object body)
    {
        using var r = await http.PostAsJsonAsync(path, body, Web);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetGuid();
    }

    private async Task<JsonElement> WaitAsync(HttpClient http, Guid id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var s = await http.GetFromJsonAsync<JsonElement>($"/api/sweeps/{id}", Web);
            if (s.GetProperty("state").GetString() is "done" or "failed" or "cancelled") return s;
            Assert.True(DateTime.UtcNow < deadline, $"sweep not finished after {timeout}: {s}\n{Logs}");
            await Task.Delay(300);
        }
    }
}
