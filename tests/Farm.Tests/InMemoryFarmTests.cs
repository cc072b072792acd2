using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Engine.Imaging;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Farm.Tests;

/// <summary>The single-machine farm end to end: coordinator and worker in one process.</summary>
public class InMemoryFarmTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task SweepRendersEveryTupleOnceAndReusesFinishedResults()
    {
        await using var farm = await InProcessFarm.StartAsync(settings: new Dictionary<string, string?> { ["Coordinator:PacketSize"] = "12" });
        var request = new { model = "demo", ops = new[] { "conv1", "logits" }, techniques = new[] { "channel", "neuron" }, parameters = new { steps = 8, size = 32 } };
        var id = await farm.SweepAsync(request);
        var status = await farm.WaitAsync(id, Patience);

        Assert.Equal("done", status.State);
        Assert.Equal(2 * (16 + 10), status.Total);
        Assert.Equal(status.Total, status.Counts["done"]);
        Assert.Equal(status.Total, status.Counts.Values.Sum());
        var tuples = farm.Db(db => db.Tuples.Where(t => t.SweepId == id).ToList());
        var keys = await farm.Store.ListAsync("demo/");
        Assert.Equal(tuples.Count * 3, keys.Count);   // image, its thumbnail, record
        foreach (var t in tuples)
        {
            Assert.Equal($"demo/{t.Version}/{t.Op}/{t.Unit}/{t.Technique}/{t.ParamsHash}.png", t.ImageKey);
            var png = await farm.Store.GetAsync(t.ImageKey!);
            var image = ImageFile.Decode(png!);
            Assert.Equal((32, 32), (image.Width, image.Height));
            // The worker's thumbnail: a 32 px render is within 96 px, so the same pixels (never upscaled).
            Assert.Equal(png, await farm.Store.GetAsync($"demo/{t.Version}/{t.Op}/{t.Unit}/{t.Technique}/{t.ParamsHash}.96px.png"));
            var record = JsonDocument.Parse((await farm.Store.GetAsync(t.RecordKey!))!).RootElement;
            Assert.Equal(8, record.GetProperty("trajectory").GetArrayLength());
        }
        Assert.Equal(tuples.Count, farm.Db(db => db.Results.Count()));
        var page = await farm.Http.GetStringAsync("/");
        Assert.Contains(id.ToString(), page, StringComparison.Ordinal);
        Assert.Contains($"<img src=\"/objects/{tuples[0].Model}/", page, StringComparison.Ordinal);
        // A finished sweep cannot be paused (it would only look unfinished).
        using (var pause = await farm.Http.PostAsync($"/api/sweeps/{id}/pause", null))
            Assert.Equal((HttpStatusCode.Conflict, "application/problem+json"), (pause.StatusCode, pause.Content.Headers.ContentType?.MediaType));
        Assert.Equal("done", (await farm.StatusAsync(id)).State);
        // The list says what the sweep's own status says, in the same time format.
        var listed = Assert.Single((await farm.Http.GetFromJsonAsync<List<SweepSummary>>("/api/sweeps", InProcessFarm.Web))!, s => s.Id == id);
        Assert.Equal(("done", status.CreatedAt, status.FinishedAt), (listed.State, listed.CreatedAt, listed.FinishedAt));
        Assert.Matches("\"createdAt\":\"20\\d\\d-", await farm.Http.GetStringAsync("/api/sweeps"));

        // The same sweep again: everything exists with this parameters hash, nothing renders.
        var again = await farm.WaitAsync(await farm.SweepAsync(request), TimeSpan.FromSeconds(30));
        Assert.Equal(("done", again.Total), (again.State, again.Reused));
        Assert.Equal(0, farm.Db(db => db.Packets.Count(p => p.SweepId == again.Id)));
    }

    [Fact]
    public async Task ASingleRenderTakesThePriorityLaneAndKeepsEachParameterSet()
    {
        await using var farm = await InProcessFarm.StartAsync();
        var ids = new List<Guid>();
        foreach (var seed in new[] { 1, 2 })
        {
            using var response = await farm.Http.PostAsJsonAsync("/api/renders", new { model = "demo", op = "conv3_0", unit = 5, technique = "neuron", parameters = new { steps = 8, size = 32, seed } });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
        }
        foreach (var id in ids)
        {
            await farm.WaitAsync(id, Patience);
            var render = await farm.Http.GetFromJsonAsync<JsonElement>($"/api/renders/{id}");
            Assert.Equal("done", render.GetProperty("state").GetString());
            var png = await farm.Http.GetByteArrayAsync(render.GetProperty("imageUrl").GetString());
            Assert.Equal(32, ImageFile.Decode(png).Width);
        }
        Assert.All(farm.Db(db => db.Packets.ToList()), p => Assert.Equal(1, p.Priority));
        var unit = await farm.Http.GetFromJsonAsync<JsonElement>("/api/models/demo/conv3/5");
        Assert.Equal(2, unit.GetProperty("results").GetArrayLength());
    }

    [Fact]
    public async Task AUnitRenderedInAPacketAndAloneWritesTheSamePixelsUnderTheSameKey()
    {
        await using var farm = await InProcessFarm.StartAsync(settings: new Dictionary<string, string?> { ["Coordinator:PacketSize"] = "8" });
        var parameters = new { steps = 8, size = 32, seed = 3 };
        var id = await farm.SweepAsync(new { model = "demo", ops = new[] { "conv2" }, techniques = new[] { "channel" }, parameters });
        Assert.Equal("done", (await farm.WaitAsync(id, Patience)).State);
        var packed = farm.Db(db => db.Tuples.Single(t => t.SweepId == id && t.Unit == 13));
        var inPacket = ImageFile.ToRgb24(ImageFile.Decode((await farm.Store.GetAsync(packed.ImageKey!))!).Pixels, 32, 32);

        // Unit 13 was at position 5 of a packet of 8; rendered again alone (a retry or a re-render).
        using var response = await farm.Http.PostAsJsonAsync("/api/renders", new { model = "demo", op = "conv2", unit = 13, technique = "channel", parameters, force = true });
        var render = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal("done", (await farm.WaitAsync(render, Patience)).State);
        var alone = farm.Db(db => db.Tuples.Single(t => t.SweepId == render));
        Assert.Equal(packed.ImageKey, alone.ImageKey);
        var again = ImageFile.ToRgb24(ImageFile.Decode((await farm.Store.GetAsync(alone.ImageKey!))!).Pixels, 32, 32);
        Assert.True(inPacket.Zip(again).All(p => Math.Abs(p.First - p.Second) <= 1), "unit 13 alone differs from unit 13 in its packet");
        var neighbour = farm.Db(db => db.Tuples.Single(t => t.SweepId == id && t.Unit == 12));
        var other = ImageFile.ToRgb24(ImageFile.Decode((await farm.Store.GetAsync(neighbour.ImageKey!))!).Pixels, 32, 32);
        Assert.False(other.Zip(again).All(p => Math.Abs(p.First - p.Second) <= 1));   // the check can fail
    }

    [Fact]
    public async Task BadParametersFailWithTheirReasonAndAreNotRetried()
    {
        await using var farm = await InProcessFarm.StartAsync(settings: new Dictionary<string, string?> { ["Worker:MaxImageSize"] = "32" });
        var id = await farm.SweepAsync(new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 48 } });
        var status = await farm.WaitAsync(id, Patience);
        Assert.Equal("failed", status.State);
        Assert.Equal(16, status.Counts["failed"]);
        var failure = Assert.Single(status.Failures);
        Assert.Contains("exceeds this worker's limit of 32", failure.Reason, StringComparison.Ordinal);
        Assert.All(farm.Db(db => db.Tuples.ToList()), t => Assert.Equal(0, t.Attempts));
    }

    [Fact]
    public async Task TransientFailuresAreRetriedAndExhaustedRetriesCanBeRetriedLater()
    {
        // RetryLimit 1: the first packet fails twice (two injected failures) and is faulted;
        // the later ones succeed. retry-failed then renders the faulted tuples.
        await using var farm = await InProcessFarm.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Worker:InjectTransientFailures"] = "3", ["Worker:RetryLimit"] = "1", ["Coordinator:PacketSize"] = "8", ["Coordinator:MaxInFlightPackets"] = "1",
        });
        var id = await farm.SweepAsync(new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 } });
        var status = await farm.WaitAsync(id, Patience);
        Assert.Equal("failed", status.State);
        Assert.Equal((8, 8), (status.Counts["done"], status.Counts["failed"]));
        Assert.Contains("injected transient failure", Assert.Single(status.Failures).Reason, StringComparison.Ordinal);
        // The second packet failed once (third injection) and succeeded on its retry.
        Assert.Contains(farm.Db(db => db.Tuples.Where(t => t.State == TupleStates.Done).Select(t => t.Attempts).ToList()), a => a == 2);

        using var retry = await farm.Http.PostAsync($"/api/sweeps/{id}/retry-failed", null);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        status = await farm.WaitAsync(id, Patience);
        Assert.Equal("done", status.State);
        Assert.Equal(16, status.Counts["done"]);
    }

    [Fact]
    public async Task PauseHoldsBackPacketsResumeFinishesCancelStops()
    {
        await using var farm = await InProcessFarm.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Coordinator:PacketSize"] = "4", ["Coordinator:MaxInFlightPackets"] = "1",
        });
        // Created paused: expanded, but not one packet leaves until it is resumed.
        var request = new { model = "demo", ops = new[] { "conv2" }, techniques = new[] { "channel" }, parameters = new { steps = 8, size = 32 }, paused = true };
        var id = await farm.SweepAsync(request);
        await Task.Delay(1000);
        var held = await farm.StatusAsync(id);
        Assert.Equal(("paused", 32), (held.State, held.Counts["pending"]));
        Assert.Equal(8, farm.Db(db => db.Packets.Count(p => p.SweepId == id && p.State == PacketStates.Pending)));
        var resumed = await (await farm.Http.PostAsync($"/api/sweeps/{id}/resume", null)).Content.ReadFromJsonAsync<SweepStatus>(InProcessFarm.Web);
        Assert.Equal("active", resumed!.State);
        Assert.Equal("done", (await farm.WaitAsync(id, Patience)).State);

        // Paused while a packet renders: that packet finishes, nothing more is sent.
        // Packets here take about a second each (hundreds of steps), far longer than the
        // HTTP round trip between seeing one run and pausing.
        var slow = request with { parameters = new { steps = 400, size = 32 }, paused = false };
        var second = await farm.SweepAsync(slow);
        await farm.WaitAsync(second, Patience, s => s.Counts["running"] > 0);
        var paused = await (await farm.Http.PostAsync($"/api/sweeps/{second}/pause", null)).Content.ReadFromJsonAsync<SweepStatus>(InProcessFarm.Web);
        Assert.Equal("paused", paused!.State);
        var settled = await farm.WaitAsync(second, Patience, s => s.Counts["queued"] + s.Counts["running"] == 0);
        Assert.InRange(settled.Counts["done"], 4, 8);
        await Task.Delay(1000);
        Assert.Equal(settled.Counts["done"], (await farm.StatusAsync(second)).Counts["done"]);

        // Cancelled (from paused): every unsent tuple is cancelled, the rendered ones are kept.
        var cancelled = await (await farm.Http.PostAsync($"/api/sweeps/{second}/cancel", null)).Content.ReadFromJsonAsync<SweepStatus>(InProcessFarm.Web);
        Assert.Equal("cancelled", cancelled!.State);
        Assert.Equal((settled.Counts["done"], 32 - settled.Counts["done"]), (cancelled.Counts["done"], cancelled.Counts["cancelled"]));
        using var resumeCancelled = await farm.Http.PostAsync($"/api/sweeps/{second}/resume", null);
        Assert.Equal(HttpStatusCode.Conflict, resumeCancelled.StatusCode);
    }

    [Fact]
    public async Task TheReaperRequeuesAPacketWhoseHeartbeatsShowNoProgress()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false, new Dictionary<string, string?>
        {
            ["Coordinator:LeaseSeconds"] = "60", ["Coordinator:StallSeconds"] = "2", ["Coordinator:ReaperIntervalSeconds"] = "1",
        });
        var id = await farm.SweepAsync(new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 } });
        PacketRow Packet() => farm.Db(db => db.Packets.Single(p => p.SweepId == id));
        await Until(() => Packet().Dispatches == 1, "the packet was never sent");
        var packet = Packet();
        var bus = farm.App.Services.GetRequiredService<IBus>();
        await bus.Publish(new PacketStarted { PacketId = packet.Id, WorkerId = "stuck", Attempt = 1, Dispatch = 1 });

        // Heartbeats whose steps advance keep the packet past StallSeconds...
        for (var step = 1; step <= 8; step++)
        {
            await bus.Publish(new PacketHeartbeat { PacketId = packet.Id, WorkerId = "stuck", StepsDone = step * 10, Dispatch = 1 });
            await Task.Delay(500);
        }
        Assert.Equal((1, PacketStates.Running, 80), (Packet().Dispatches, Packet().State, Packet().StepsDone));

        // ...heartbeats that repeat the same step do not: the packet is sent again.
        var stuckSince = DateTime.UtcNow;
        while (Packet().Dispatches == 1)
        {
            Assert.True(DateTime.UtcNow < stuckSince.AddSeconds(30), "the stuck packet was not sent again");
            await bus.Publish(new PacketHeartbeat { PacketId = packet.Id, WorkerId = "stuck", StepsDone = 80, Dispatch = 1 });
            await Task.Delay(300);
        }
        Assert.True(DateTime.UtcNow - stuckSince >= TimeSpan.FromSeconds(1), "requeued before StallSeconds without progress");
        Assert.Equal((PacketStates.Sent, null, 0), (Packet().State, Packet().WorkerId, Packet().StepsDone));

        // The stuck worker's later heartbeats name the old dispatch: they change nothing.
        await bus.Publish(new PacketHeartbeat { PacketId = packet.Id, WorkerId = "stuck", StepsDone = 90, Dispatch = 1 });
        await bus.Publish(new PacketStarted { PacketId = packet.Id, WorkerId = "stuck", Attempt = 2, Dispatch = 1 });
        await Task.Delay(1000);
        Assert.Equal((PacketStates.Sent, null, 0), (Packet().State, Packet().WorkerId, Packet().StepsDone));
        Assert.All(farm.Db(db => db.Tuples.Where(t => t.SweepId == id).ToList()), t => Assert.Equal(1, t.Attempts));
    }

    private static async Task Until(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task TheReaperRequeuesAPacketWhoseWorkerWentQuiet()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false, new Dictionary<string, string?>
        {
            ["Coordinator:LeaseSeconds"] = "1", ["Coordinator:ReaperIntervalSeconds"] = "1",
        });
        var id = await farm.SweepAsync(new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 } });
        var sent = DateTime.UtcNow.AddSeconds(30);
        while (farm.Db(db => db.Packets.Single(p => p.SweepId == id).Dispatches) < 1)
        {
            Assert.True(DateTime.UtcNow < sent, "the packet was never sent");
            await Task.Delay(50);
        }
        var packet = farm.Db(db => db.Packets.Single(p => p.SweepId == id));
        // A worker starts the packet and then says nothing more.
        await farm.App.Services.GetRequiredService<IBus>().Publish(new PacketStarted { PacketId = packet.Id, WorkerId = "ghost", Attempt = 1 });
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (farm.Db(db => db.Packets.Single(p => p.Id == packet.Id).Dispatches) < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the packet was not sent again");
            await Task.Delay(200);
        }
        Assert.All(farm.Db(db => db.Tuples.Where(t => t.SweepId == id).ToList()), t => Assert.Equal(1, t.Attempts));
    }
}
