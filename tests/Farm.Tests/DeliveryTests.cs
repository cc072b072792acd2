using System.Net.Http.Json;
using MassTransit;
using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Coordinator.Events;
using Microscope.Farm.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Farm.Tests;

/// <summary>No packet is stranded, none loops: a sent packet whose message was lost, and tuples
/// whose UnitRendered was lost under a finished packet, are sent again; a packet that keeps
/// killing its workers fails with the reason (and retry-failed brings it back); a redelivered
/// event changes nothing twice.</summary>
public class DeliveryTests
{
    private static async Task Until(Func<bool> condition, string failure, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(100);
        }
    }

    /// <summary>Sends the first packet of a new paused sweep of <see cref="Tiny"/> to the work
    /// queue by hand, at the model version <paramref name="version"/> makes of the sweep's, with
    /// the headers a broker or earlier workers would have set.</summary>
    private static async Task<PacketRow> SendFirstPacketByHandAsync(InProcessFarm farm, Func<string, string> version, int maxAttempts,
        Action<SendContext<RenderWork>> headers)
    {
        var id = await farm.SweepAsync(Tiny(paused: true));
        var packet = farm.Db(db => db.Packets.Where(p => p.SweepId == id).OrderBy(p => p.Seq).First());
        var units = farm.Db(db => db.Tuples.Where(t => t.PacketId == packet.Id).OrderBy(t => t.Unit).Select(t => new PacketUnit(t.Id, t.Unit)).ToList());
        var bus = farm.App.Services.GetRequiredService<IBus>();
        var endpoint = await bus.GetSendEndpoint(WorkQueues.Address(bus, Queues.RenderWork));
        var parameters = new RenderSettings { Steps = 4, Size = 32 };
        await endpoint.Send(new RenderWork
        {
            PacketId = packet.Id, SweepId = id, Model = "demo", ModelVersion = version(farm.Db(db => db.Sweeps.Single(s => s.Id == id).Version)), Op = "conv1",
            Technique = "channel", Parameters = parameters, ParamsHash = parameters.Hash(), Units = units, Dispatch = 1, MaxAttempts = maxAttempts,
        }, headers);
        return packet;
    }

    private static object Tiny(bool paused = false, string op = "conv1") =>
        new { model = "demo", ops = new[] { op }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 }, packetSize = 8, paused };

    [Fact]
    public async Task SentPacketsWhoseMessagesWereLostAreSentAgainAndDoNotBlockDispatch()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: true, new Dictionary<string, string?>
        {
            ["Coordinator:SentLeaseSeconds"] = "2", ["Coordinator:LeaseSeconds"] = "2", ["Coordinator:ReaperIntervalSeconds"] = "1",
            ["Coordinator:MaxInFlightPackets"] = "2",
        });
        var id = await farm.SweepAsync(Tiny(paused: true));
        // A coordinator that died after marking its two packets sent, before the broker had them.
        var old = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds();
        await farm.DbAsync(async db =>
        {
            await db.Packets.Where(p => p.SweepId == id).ExecuteUpdateAsync(s => s.SetProperty(p => p.State, PacketStates.Sent).SetProperty(p => p.SentAt, old).SetProperty(p => p.Dispatches, 1));
            await db.Tuples.Where(t => t.SweepId == id).ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Queued));
            await db.Sweeps.Where(s => s.Id == id).ExecuteUpdateAsync(s => s.SetProperty(x => x.State, SweepStates.Active));
        });
        // Both count against MaxInFlightPackets (2): a second sweep waits until they are reclaimed.
        var second = await farm.SweepAsync(Tiny(op: "conv2"));
        var status = await farm.WaitAsync(id, TimeSpan.FromMinutes(2));
        Assert.Equal(("done", 16), (status.State, status.Counts["done"]));
        Assert.All(farm.Db(db => db.Packets.Where(p => p.SweepId == id).ToList()), p => Assert.Equal(2, p.Dispatches));
        Assert.Equal("done", (await farm.WaitAsync(second, TimeSpan.FromMinutes(2))).State);
    }

    [Fact]
    public async Task TuplesLeftRunningUnderAFinishedPacketAreDoneFromTheStoreOrRenderedAgain()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: true, new Dictionary<string, string?>
        {
            ["Coordinator:LeaseSeconds"] = "2", ["Coordinator:ReaperIntervalSeconds"] = "1",
        });
        var id = await farm.SweepAsync(Tiny());
        Assert.Equal("done", (await farm.WaitAsync(id, TimeSpan.FromMinutes(2))).State);
        // The UnitRendered of two tuples was lost; their packet's PacketFinished arrived. The
        // first one's result is in the store; the second one's record never got there.
        var lost = farm.Db(db => db.Tuples.Where(t => t.SweepId == id).OrderBy(t => t.Unit).Take(2).ToList());
        var (stored, missing) = (lost[0], lost[1]);
        File.Delete(Path.Combine(farm.Folder, "objects", missing.RecordKey!));
        var old = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds();
        var ids = lost.Select(t => t.Id).ToList();
        await farm.DbAsync(async db =>
        {
            await db.Tuples.Where(t => ids.Contains(t.Id)).ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Running).SetProperty(t => t.DoneAt, (long?)null)
                .SetProperty(t => t.ObjectiveEnd, (double?)null));
            await db.Database.ExecuteSqlRawAsync("DELETE FROM results");
            await db.Packets.Where(p => p.SweepId == id).ExecuteUpdateAsync(s => s.SetProperty(p => p.FinishedAt, old));
            await db.Sweeps.Where(s => s.Id == id).ExecuteUpdateAsync(s => s.SetProperty(x => x.FinishedAt, (long?)null));
        });
        await Until(() => farm.Db(db => db.Tuples.Count(t => ids.Contains(t.Id) && t.State == TupleStates.Done)) == 2, "the lost tuples were not done again");
        // The stored one is done from its objects (no second attempt, its objective read back from
        // the record); the other is rendered again. Each has one result row.
        var after = farm.Db(db => db.Tuples.Where(t => ids.Contains(t.Id)).OrderBy(t => t.Unit).ToList());
        Assert.Equal((1, stored.ObjectiveEnd, stored.ImageKey), (after[0].Attempts, after[0].ObjectiveEnd, after[0].ImageKey));
        Assert.Equal(2, after[1].Attempts);
        Assert.True(File.Exists(Path.Combine(farm.Folder, "objects", missing.RecordKey!)));
        Assert.Equal(2, farm.Db(db => db.Results.Count()));
        Assert.Equal(15, farm.Db(db => db.Tuples.Count(t => t.SweepId == id && t.Attempts == 1)));
    }

    [Fact]
    public async Task APacketThatKeepsKillingItsWorkersFailsAndRetryFailedBringsItBack()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false, new Dictionary<string, string?> { ["Coordinator:MaxAttempts"] = "2" });
        var id = await farm.SweepAsync(Tiny());
        await Until(() => farm.Db(db => db.Packets.Count(p => p.SweepId == id && p.Dispatches == 1)) == 2, "the packets were not sent");
        var packets = farm.Db(db => db.Packets.Where(p => p.SweepId == id).OrderBy(p => p.Seq).ToList());
        var bus = farm.App.Services.GetRequiredService<IBus>();
        // The broker delivers the first packet again after each crash: three starts, no finish.
        for (var start = 1; start <= 3; start++)
            await bus.Publish(new PacketStarted { PacketId = packets[0].Id, WorkerId = $"w{start}", Attempt = start, Dispatch = 1 });
        await Until(() => farm.Db(db => db.Packets.Single(p => p.Id == packets[0].Id).State) == PacketStates.Failed, "the crash-looping packet did not fail");
        var failed = farm.Db(db => db.Tuples.Where(t => t.PacketId == packets[0].Id).ToList());
        Assert.All(failed, t => Assert.Equal(TupleStates.Failed, t.State));
        Assert.All(failed, t => Assert.StartsWith("started 3 times without finishing", t.Failure));
        Assert.Equal(PacketStates.Sent, farm.Db(db => db.Packets.Single(p => p.Id == packets[1].Id).State));

        using var retry = await farm.Http.PostAsync($"/api/sweeps/{id}/retry-failed", null);
        retry.EnsureSuccessStatusCode();
        await Until(() => farm.Db(db => db.Tuples.Count(t => t.SweepId == id && t.State == TupleStates.Queued)) == 16, "retry-failed did not send them again");
    }

    [Fact]
    public async Task ARedeliveredEventChangesNothingTwice()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        var id = await farm.SweepAsync(Tiny());
        await Until(() => farm.Db(db => db.Packets.Count(p => p.SweepId == id && p.Dispatches == 1)) == 2, "the packets were not sent");
        var packet = farm.Db(db => db.Packets.Where(p => p.SweepId == id).OrderBy(p => p.Seq).First());
        var bus = farm.App.Services.GetRequiredService<IBus>();
        var messageId = NewId.NextGuid();
        for (var i = 0; i < 3; i++)
            await bus.Publish(new PacketStarted { PacketId = packet.Id, WorkerId = "w", Attempt = 1, Dispatch = 1 }, c => c.MessageId = messageId);
        await Until(() => farm.Db(db => db.Packets.Single(p => p.Id == packet.Id).Starts) >= 1, "the start was not recorded");
        await Task.Delay(1000);
        Assert.Equal(1, farm.Db(db => db.Packets.Single(p => p.Id == packet.Id).Starts));
        Assert.All(farm.Db(db => db.Tuples.Where(t => t.PacketId == packet.Id).ToList()), t => Assert.Equal((TupleStates.Running, 1), (t.State, t.Attempts)));
    }

    [Fact]
    public async Task AWorkerRefusesAPacketTheBrokerDeliveredMaxAttemptsTimes()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: true, new Dictionary<string, string?> { ["Coordinator:MaxAttempts"] = "3" });
        // The fourth delivery of a packet whose earlier three crashed their workers.
        var packet = await SendFirstPacketByHandAsync(farm, version => version, maxAttempts: 3, c => c.Headers.Set(WorkQueues.DeliveryCountHeader, 3));
        await Until(() => farm.Db(db => db.Tuples.Count(t => t.PacketId == packet.Id && t.State == TupleStates.Failed)) == 8, "the worker rendered it anyway");
        Assert.All(farm.Db(db => db.Tuples.Where(t => t.PacketId == packet.Id).ToList()), t => Assert.Equal("delivered 4 times: its worker crashed, was killed or stalled each time", t.Failure));
        // Nothing rendered; each tuple's worker log (ObjectKeys.Log) says why it failed.
        var keys = await farm.Store.ListAsync("demo/");
        Assert.Equal(8, keys.Count);
        Assert.All(keys, k => Assert.EndsWith(".log.txt", k, StringComparison.Ordinal));
        foreach (var t in farm.Db(db => db.Tuples.Where(t => t.PacketId == packet.Id).ToList()))
        {
            var log = System.Text.Encoding.UTF8.GetString((await farm.Store.GetAsync(ObjectKeys.Log(new UnitAddress(t.Model, t.Version, t.Op, t.Unit), t.Technique, t.ParamsHash)))!);
            Assert.Contains($"tuple {t.Id}", log, StringComparison.Ordinal);
            Assert.Contains($"WRN packet cannot be rendered: delivered 4 times", log, StringComparison.Ordinal);
            Assert.Contains($"PacketId={packet.Id}", log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AWorkerHandsBackAPacketOfAnotherModelVersion()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: true);
        // A packet of a version no worker here has, handed back 98 times already: this worker
        // hands it back twice more (no start is counted), then fails it naming the version.
        var packet = await SendFirstPacketByHandAsync(farm, _ => "000000000000", maxAttempts: 4,
            c => c.Headers.Set(Microscope.Worker.RenderWorkConsumer.HandBacksHeader, Microscope.Worker.RenderWorkConsumer.MaxHandBacks - 2));
        await Until(() => farm.Db(db => db.Tuples.Count(t => t.PacketId == packet.Id && t.State == TupleStates.Failed)) == 8, "the packet was not failed after its hand-backs");
        var failure = farm.Db(db => db.Tuples.First(t => t.PacketId == packet.Id).Failure)!;
        Assert.StartsWith($"no worker has version 000000000000 of 'demo' (handed back {Microscope.Worker.RenderWorkConsumer.MaxHandBacks} times;", failure);
        Assert.Equal(0, farm.Db(db => db.Packets.Single(p => p.Id == packet.Id).Starts));
        Assert.All(farm.Db(db => db.Tuples.Where(t => t.PacketId == packet.Id).ToList()), t => Assert.Equal(0, t.Attempts));
    }

    [Fact]
    public void EventsAreRetriedForTheConfiguredMinutesBackingOffTo30Seconds()
    {
        var intervals = CoordinatorEventsDefinition<PacketStartedConsumer>.OutageIntervals(15);
        var total = intervals.Aggregate(TimeSpan.Zero, (a, b) => a + b);
        Assert.InRange(total.TotalMinutes, 15, 15.5);
        Assert.Equal(TimeSpan.FromMilliseconds(250), intervals[0]);
        Assert.Equal(TimeSpan.FromSeconds(30), intervals.Max());
    }
}
