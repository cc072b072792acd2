using Microscope.Coordinator.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator.Dispatch;

/// <summary>Puts packets back to pending, so the dispatcher sends them again, when their
/// worker went quiet (running, no heartbeat for LeaseSeconds) or is stuck (heartbeats go on,
/// but no step was done for StallSeconds: a hung GPU call). A worker that crashes outright
/// hands its packet back through the broker already; this covers the hung ones. A late
/// result from the old worker is harmless: keys are deterministic and results idempotent;
/// its later heartbeats name the old dispatch and are ignored.</summary>
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
        var stalled = options.StallSeconds > 0 ? now - options.StallSeconds * 1000L : long.MinValue;
        var stale = await db.Packets
            .Where(p => p.State == PacketStates.Running && ((p.HeartbeatAt ?? p.SentAt ?? 0) < cutoff || (p.ProgressAt != null && p.ProgressAt < stalled)))
            .ToListAsync(cancel);
        foreach (var packet in stale)
        {
            using var _ = logger.BeginScope(new Dictionary<string, object> { ["SweepId"] = packet.SweepId, ["PacketId"] = packet.Id });
            if ((packet.HeartbeatAt ?? packet.SentAt ?? 0) < cutoff)
                logger.LogWarning("packet on worker {Worker} has had no heartbeat for {Lease} s: back to the queue", packet.WorkerId, options.LeaseSeconds);
            else
                logger.LogWarning("packet on worker {Worker} is stuck at step {Steps}: heartbeats but no progress for {Stall} s; back to the queue (restart that worker)",
                    packet.WorkerId, packet.StepsDone, options.StallSeconds);
            packet.State = PacketStates.Pending;
            packet.WorkerId = null;
            await db.Tuples.Where(t => t.PacketId == packet.Id && (t.State == TupleStates.Queued || t.State == TupleStates.Running))
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Pending).SetProperty(t => t.UpdatedAt, now), cancel);
        }
        await db.SaveChangesAsync(cancel);
        return stale.Count;
    }
}
