using Microscope.Coordinator.Data;
using Microscope.Farm.Metrics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator.Metrics;

/// <summary>Reads the farm's queues from the database for the gauges (microscope_packets_open,
/// microscope_tuples_open, microscope_sweeps_active): a scrape never waits on a query, and a
/// busy farm pays for one grouped count every <see cref="Interval"/>. The three counts read one
/// snapshot (a repeatable-read transaction), so a sample never mixes before and after a change
/// (an open tuple beside no active sweep).</summary>
public sealed class QueueSampler(IServiceScopeFactory scopes, ILogger<QueueSampler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                FarmMetrics.SetQueues(await SampleAsync(stopping));
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                logger.LogDebug(e, "queue sample failed");
            }
        }
        while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false));
    }

    public async Task<FarmQueueSnapshot> SampleAsync(CancellationToken cancel)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<FarmDb>();
        await using var snapshot = await db.Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancel);
        string[] openPackets = [PacketStates.Pending, PacketStates.Sent, PacketStates.Running];
        var packets = await db.Packets.AsNoTracking().Where(p => openPackets.Contains(p.State))
            .GroupBy(p => p.State).Select(g => new { g.Key, Count = g.LongCount() }).ToListAsync(cancel);
        var tuples = await OpenTuplesByState(db).ToListAsync(cancel);
        var sweeps = await SweepsWithOpenTuples(db).LongCountAsync(cancel);
        // Every state appears, at 0 when empty, so a dashboard's line drops to 0 instead of vanishing.
        return new FarmQueueSnapshot(
            openPackets.ToDictionary(s => s, s => packets.FirstOrDefault(p => p.Key == s)?.Count ?? 0),
            TupleStates.Open.ToDictionary(s => s, s => tuples.FirstOrDefault(p => p.Key == s)?.Count ?? 0),
            sweeps);
    }

    public sealed record StateCount(string Key, long Count);

    // Both read only the partial index tuples_open (FarmDb): the open states are inlined as
    // constants, so the planner matches the index's WHERE clause (a test checks the plan).

    /// <summary>Open tuples by state.</summary>
    public static IQueryable<StateCount> OpenTuplesByState(FarmDb db) =>
        db.Tuples.AsNoTracking().Where(t => TupleStates.Open.Contains(t.State))
            .GroupBy(t => t.State).Select(g => new StateCount(g.Key, g.LongCount()));

    /// <summary>The sweeps that have open tuples.</summary>
    public static IQueryable<Guid> SweepsWithOpenTuples(FarmDb db) =>
        db.Tuples.AsNoTracking().Where(t => TupleStates.Open.Contains(t.State)).Select(t => t.SweepId).Distinct();
}
