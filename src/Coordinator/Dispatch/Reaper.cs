using Microscope.Coordinator.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator.Dispatch;

/// <summary>Puts packets whose worker went quiet (running, no heartbeat for LeaseSeconds)
/// back to pending, so the dispatcher sends them again. A worker that crashes outright hands
/// its packet back through the broker already; this covers the hung ones. A late result from
/// the old worker is harmless: keys are deterministic and results idempotent.</summary>
public sealed class Reaper(IServiceScopeFactory scopes, CoordinatorOptions options, TimeProvider clock, PacketDispatcher dispatcher,
    ILogger<Reaper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.ReaperIntervalSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    if (await ReapOnceAsync(stop) > 0) dispatcher.Wake();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "reaper pass failed");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async Task<int> ReapOnceAsync(CancellationToken cancel)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<FarmDb>();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var cutoff = now - options.LeaseSeconds * 1000L;
        var stale = await db.Packets
            .Where(p => p.State == PacketStates.Running && (p.HeartbeatAt ?? p.SentAt ?? 0) < cutoff)
            .ToListAsync(cancel);
        foreach (var packet in stale)
        {
            using var _ = logger.BeginScope(new Dictionary<string, object> { ["SweepId"] = packet.SweepId, ["PacketId"] = packet.Id });
            logger.LogWarning("packet on worker {Worker} has had no heartbeat for {Lease} s: back to the queue", packet.WorkerId, options.LeaseSeconds);
            packet.State = PacketStates.Pending;
            packet.WorkerId = null;
            await db.Tuples.Where(t => t.PacketId == packet.Id && (t.State == TupleStates.Queued || t.State == TupleStates.Running))
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Pending).SetProperty(t => t.UpdatedAt, now), cancel);
        }
        await db.SaveChangesAsync(cancel);
        return stale.Count;
    }
}
