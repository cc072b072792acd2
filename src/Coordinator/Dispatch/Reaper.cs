using Microscope.Coordinator.Data;
using Microscope.Farm.Metrics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator.Dispatch;

/// <summary>Reconciles packets that are not final, so none is ever stranded (on start-up
/// and every ReaperIntervalSeconds):
/// <list type="bullet">
/// <item>running, but its worker went quiet (no heartbeat for LeaseSeconds) or is stuck
/// (heartbeats, no new step for StallSeconds): back to the queue; or failed with the reason
/// once it has been started MaxAttempts times (a packet that kills its workers);</item>
/// <item>sent SentLeaseSeconds ago and never started (the broker lost the message): back to
/// the queue;</item>
/// <item>finished (done or failed) LeaseSeconds ago with tuples still queued or running (their
/// UnitRendered was lost): those tuples go back to the queue.</item>
/// </list>
/// Before a packet goes back to the queue (or fails), its tuples whose results are already in
/// the object store are marked done from those objects (<see cref="BucketReconciler"/>); at
/// start-up every tuple in flight is checked that way first.
/// A crashing worker hands its packet back through the broker already. Leases count from the
/// coordinator's start at the earliest: events queued while it was down are read first. A late
/// result from an old worker is harmless: keys are deterministic and results idempotent; its
/// later heartbeats name the old dispatch and are ignored.</summary>
public sealed class Reaper(IServiceScopeFactory scopes, CoordinatorOptions options, TimeProvider clock, PacketDispatcher dispatcher,
    BucketReconciler reconciler, ILogger<Reaper> logger) : BackgroundService
{
    private readonly long _startedAt = clock.GetUtcNow().ToUnixTimeMilliseconds();

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.ReaperIntervalSeconds));
        try
        {
            try
            {
                await ReconcileInFlightAsync(stop);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "start-up reconciliation with the object store failed (the reaper's passes still check each packet they send again)");
            }
            do
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
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Every tuple in flight (queued or running, or pending after an earlier dispatch)
    /// whose result is already stored becomes done: a coordinator that died before recording
    /// a worker's events, or events lost meanwhile, cost no second render.</summary>
    public async Task<int> ReconcileInFlightAsync(CancellationToken cancel)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<FarmDb>();
        var dispatched = db.Packets.Where(p => p.Dispatches > 0).Select(p => (Guid?)p.Id);
        return await reconciler.CompleteFromStoreAsync(db,
            db.Tuples.Where(t => t.State == TupleStates.Queued || t.State == TupleStates.Running || (t.State == TupleStates.Pending && dispatched.Contains(t.PacketId))), cancel);
    }

    public async Task<int> ReapOnceAsync(CancellationToken cancel)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<FarmDb>();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        // Within one lease of start nothing expires: the events queued meanwhile come first.
        var up = now - _startedAt;
        var cutoff = up >= options.LeaseSeconds * 1000L ? now - options.LeaseSeconds * 1000L : long.MinValue;
        var sentCutoff = up >= options.SentLeaseSeconds * 1000L ? now - options.SentLeaseSeconds * 1000L : long.MinValue;
        var stalled = options.StallSeconds > 0 && now - _startedAt >= options.StallSeconds * 1000L ? now - options.StallSeconds * 1000L : long.MinValue;
        var reaped = 0;

        var stale = await db.Packets
            .Where(p => (p.State == PacketStates.Running && ((p.HeartbeatAt ?? p.SentAt ?? 0) < cutoff || (p.ProgressAt != null && p.ProgressAt < stalled)))
                || (p.State == PacketStates.Sent && (p.SentAt ?? 0) < sentCutoff))
            .ToListAsync(cancel);
        foreach (var packet in stale)
        {
            using var _ = logger.BeginScope(new Dictionary<string, object> { ["SweepId"] = packet.SweepId, ["PacketId"] = packet.Id });
            var starts = packet.Starts;
            string why;
            if (packet.State == PacketStates.Sent)
                why = $"sent {(now - (packet.SentAt ?? now)) / 1000} s ago and never started (the broker lost it?)";
            else if ((packet.HeartbeatAt ?? packet.SentAt ?? 0) < cutoff)
                why = $"no heartbeat from worker {packet.WorkerId} for {options.LeaseSeconds} s";
            else
                why = $"worker {packet.WorkerId} is stuck at step {packet.StepsDone}: heartbeats but no progress for {options.StallSeconds} s (restart that worker)";
            if (await CompletedFromStoreAsync(db, packet, cancel))
            {
                logger.LogInformation("packet {Why}, but every result is in the object store: done", why);
                reaped++;
                continue;
            }
            if (packet.State == PacketStates.Running && starts >= options.MaxAttempts)
            {
                var reason = $"started {starts} times without finishing (its worker crashed, was killed or stalled each time; last: {why})";
                logger.LogWarning("packet failed: {Reason}", reason);
                await PacketFailuresInternal.FailOpenAsync(db, packet.Id, reason, now, cancel);
            }
            else
            {
                logger.LogWarning("packet back to the queue: {Why}", why);
                await Requeue(db, packet, now, cancel);
            }
            reaped++;
        }
        await db.SaveChangesAsync(cancel);

        // Finished packets whose tuples were never reported (a lost UnitRendered).
        var finishedCutoff = cutoff;
        var orphaned = await db.Packets
            .Where(p => (p.State == PacketStates.Done || p.State == PacketStates.Failed || p.State == PacketStates.Cancelled) && (p.FinishedAt ?? 0) < finishedCutoff
                && db.Tuples.Any(t => t.PacketId == p.Id && (t.State == TupleStates.Queued || t.State == TupleStates.Running)))
            .ToListAsync(cancel);
        foreach (var packet in orphaned)
        {
            using var _ = logger.BeginScope(new Dictionary<string, object> { ["SweepId"] = packet.SweepId, ["PacketId"] = packet.Id });
            var cancelled = await db.Sweeps.AnyAsync(s => s.Id == packet.SweepId && s.State == SweepStates.Cancelled, cancel);
            if (cancelled)
            {
                await db.Tuples.Where(t => t.PacketId == packet.Id && (t.State == TupleStates.Queued || t.State == TupleStates.Running))
                    .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Cancelled).SetProperty(t => t.UpdatedAt, now), cancel);
                continue;
            }
            if (await CompletedFromStoreAsync(db, packet, cancel))
            {
                logger.LogInformation("packet {State} with unreported tuples (a lost event), their results in the object store: done", packet.State);
                continue;
            }
            logger.LogWarning("packet {State} with unreported tuples (a lost event): those go back to the queue", packet.State);
            await Requeue(db, packet, now, cancel);
            reaped++;
        }
        await db.SaveChangesAsync(cancel);

        // The inbox only has to outlive redeliveries.
        var weekAgo = now - 7 * 24 * 3600_000L;
        await db.Inbox.Where(i => i.ReceivedAt < weekAgo).ExecuteDeleteAsync(cancel);
        return reaped;
    }

    /// <summary>Whether nothing of the packet is left to render once its stored results count.</summary>
    private async Task<bool> CompletedFromStoreAsync(FarmDb db, PacketRow packet, CancellationToken cancel)
    {
        var id = packet.Id;
        await reconciler.CompleteFromStoreAsync(db, db.Tuples.Where(t => t.PacketId == id), cancel);
        return !await db.Tuples.AnyAsync(t => t.PacketId == id && TupleStates.Open.Contains(t.State), cancel);
    }

    private static async Task Requeue(FarmDb db, PacketRow packet, long now, CancellationToken cancel)
    {
        // A packet whose tuples were lost after it finished starts a fresh count of attempts.
        if (packet.State is PacketStates.Done or PacketStates.Failed or PacketStates.Cancelled) packet.Starts = 0;
        packet.State = PacketStates.Pending;
        packet.WorkerId = null;
        packet.FinishedAt = null;
        await db.Tuples.Where(t => t.PacketId == packet.Id && (t.State == TupleStates.Queued || t.State == TupleStates.Running))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Pending).SetProperty(t => t.UpdatedAt, now), cancel);
    }
}

internal static class PacketFailuresInternal
{
    /// <summary>The packet and its open tuples fail with the reason (retry-failed sends them again).</summary>
    public static async Task FailOpenAsync(FarmDb db, Guid packetId, string reason, long now, CancellationToken cancel)
    {
        var failed = await db.Tuples.Where(t => t.PacketId == packetId && TupleStates.Open.Contains(t.State))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Failed).SetProperty(t => t.Failure, reason).SetProperty(t => t.UpdatedAt, now), cancel);
        FarmMetrics.UnitsFailed.Add(failed, new KeyValuePair<string, object?>("reason", FailureReasons.Crashed));
        await db.Packets.Where(p => p.Id == packetId)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.State, PacketStates.Failed).SetProperty(p => p.FinishedAt, now), cancel);
    }
}
