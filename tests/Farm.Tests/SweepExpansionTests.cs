using System.Diagnostics;
using System.Net.Http.Json;
using Microscope.Coordinator.Data;
using Microscope.Coordinator.Models;
using Microscope.Engine.Models;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Microscope.Farm.Tests;

/// <summary>Expansion and packing, without a worker (nothing is rendered).</summary>
public class SweepExpansionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task EveryUnitOfEveryOpAndTechniqueIsOneTuplePackedByOpAndTechnique()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false, new Dictionary<string, string?> { ["Coordinator:MaxInFlightPackets"] = "2" });
        var id = await farm.SweepAsync(new { model = "demo", techniques = new[] { "channel", "neuron" }, parameters = new { steps = 8, size = 32 } });
        var d = await farm.Http.GetFromJsonAsync<ModelDescriptor>("/api/models/demo", InProcessFarm.Web);
        var tuples = farm.Db(db => db.Tuples.Where(t => t.SweepId == id).ToList());
        var packets = farm.Db(db => db.Packets.Where(p => p.SweepId == id).ToList());

        Assert.Equal(234, d!.Ops.Sum(o => o.Channels));
        Assert.Equal(234 * 2, tuples.Count);
        Assert.Equal(tuples.Count, tuples.Select(t => (t.Op, t.Unit, t.Technique)).Distinct().Count());
        foreach (var op in d.Ops)
            foreach (var technique in new[] { "channel", "neuron" })
                Assert.Equal(Enumerable.Range(0, op.Channels), tuples.Where(t => t.Op == op.Name && t.Technique == technique).Select(t => t.Unit).Order());
        Assert.Equal(d.Ops.Sum(o => (o.Channels + 31) / 32) * 2, packets.Count);
        foreach (var p in packets)
        {
            var members = tuples.Where(t => t.PacketId == p.Id).ToList();
            Assert.InRange(members.Count, 1, 32);
            Assert.Equal(p.UnitCount, members.Count);
            Assert.All(members, t => Assert.True(t.Op == p.Op && t.Technique == p.Technique));
        }
        // Only MaxInFlightPackets are handed to the broker; the rest wait.
        await Task.Delay(500);
        Assert.Equal(2, farm.Db(db => db.Packets.Count(p => p.SweepId == id && p.State != PacketStates.Pending)));
        var status = await farm.StatusAsync(id);
        Assert.Equal(468, status.Total);
        Assert.Equal(468, status.Counts.Values.Sum());
    }

    [Fact]
    public async Task A_whole_model_sweep_includes_one_circuits_tuple_per_op_unless_it_names_its_techniques()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        var d = (await farm.Http.GetFromJsonAsync<ModelDescriptor>("/api/models/demo", InProcessFarm.Web))!;
        var ops = d.Ops.Where(o => o.InSweep).ToList();
        // No techniques: the default sweep, channel and neuron per unit and circuits per op.
        var id = await farm.SweepAsync(new { model = "demo", parameters = new { steps = 8, size = 32 }, paused = true });
        var tuples = farm.Db(db => db.Tuples.Where(t => t.SweepId == id).ToList());
        var circuits = tuples.Where(t => t.Technique == "circuits").ToList();
        Assert.Equal(ops.Select(o => o.Name).Order(), circuits.Select(t => t.Op).Order());
        Assert.All(circuits, t => Assert.Equal(-1, t.Unit));
        Assert.Equal(ops.Count, farm.Db(db => db.Packets.Count(p => p.SweepId == id && p.Technique == "circuits" && p.UnitCount == 1)));
        Assert.Equal(234 * 2 + ops.Count, (await farm.StatusAsync(id)).Total);

        // Naming the techniques leaves it out.
        var named = await farm.SweepAsync(new { model = "demo", techniques = new[] { "channel", "neuron" }, parameters = new { steps = 8, size = 32 }, paused = true });
        Assert.Equal(234 * 2, (await farm.StatusAsync(named)).Total);
        Assert.Equal(0, farm.Db(db => db.Tuples.Count(t => t.SweepId == named && t.Technique == "circuits")));
    }

    [Fact]
    public async Task A_sweep_of_some_units_takes_those_channels_of_each_op_and_refuses_one_an_op_lacks()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        var id = await farm.SweepAsync(new { model = "demo", ops = new[] { "conv1", "conv4" }, units = new[] { 3, 0, 3 }, techniques = new[] { "channel", "deepdream" }, paused = true });
        var tuples = farm.Db(db => db.Tuples.Where(t => t.SweepId == id).ToList());
        Assert.Equal([("conv1", 0), ("conv1", 3), ("conv4", 0), ("conv4", 3)],
            tuples.Where(t => t.Technique == "channel").Select(t => (t.Op, t.Unit)).Order());
        // Op-level images stay one per op.
        Assert.Equal(2, tuples.Count(t => t.Technique == "deepdream"));
        Assert.Equal(6, (await farm.StatusAsync(id)).Total);

        using var refused = await farm.Http.PostAsJsonAsync("/api/sweeps", new { model = "demo", ops = new[] { "conv1", "conv4" }, units = new[] { 0, 16 } }, InProcessFarm.Web);
        Assert.Equal(422, (int)refused.StatusCode);
        Assert.Contains("op 'conv1' has units 0..15; 16 out of range", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, farm.Db(db => db.Sweeps.Count()));
    }

    [Fact]
    public async Task A20000UnitSweepExpandsInBulkQuickly()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        // A synthetic model of 40 ops x 500 units (only its descriptor exists).
        var ops = Enumerable.Range(0, 40).Select(i => new OpInfo($"layer{i}", 500, 7, 7, [])).ToList();
        var registry = farm.App.Services.GetRequiredService<ModelRegistry>();
        await registry.RegisterAsync(new ModelDescriptor("synthetic", "none", 224, "none", ops, 0, "0123456789ab", false));

        var clock = Stopwatch.StartNew();
        var id = await farm.SweepAsync(new { model = "synthetic", techniques = new[] { "channel" } });
        var ms = clock.ElapsedMilliseconds;
        output.WriteLine($"20,000-unit sweep expanded and answered in {ms} ms (SQLite)");
        Assert.Equal(20_000, farm.Db(db => db.Tuples.Count(t => t.SweepId == id)));
        Assert.Equal(40 * 16, farm.Db(db => db.Packets.Count(p => p.SweepId == id)));
        Assert.True(ms < 15_000, $"expansion took {ms} ms");
    }
}
