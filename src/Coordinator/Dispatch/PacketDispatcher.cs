using System.Text.Json;
using System.Threading.Channels;
using MassTransit;
using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Farm.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator.Dispatch;

/// <summary>Sends pending packets to the workers' queues: every priority packet (single
/// re-renders) at once, sweep packets only while fewer than MaxInFlightPackets are queued or
/// rendering, so pausing or cancelling a sweep takes effect within a few packets and a big
/// sweep never floods the broker. Woken by new work and finished packets, and on a timer.</summary>
public sealed class PacketDispatcher(IServiceScopeFactory scopes, IBus bus, CoordinatorOptions options, TimeProvider clock,
    ILogger<PacketDispatcher> logger) : BackgroundService
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _wake.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                while (await DispatchOnceAsync(stop) > 0) { }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "dispatch failed; trying again");
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
            timeout.CancelAfter(options.DispatchIntervalMs);
            try { await _wake.Reader.ReadAsync(timeout.Token); }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested) { }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Sends what may be sent now; returns the number of packets sent.</summary>
    public async Task<int> DispatchOnceAsync(CancellationToken cancel)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<FarmDb>();
        var active = db.Sweeps.Where(s => s.State == SweepStates.Active).Select(s => s.Id);
        var inFlight = await db.Packets.CountAsync(p => p.Priority == 0 && (p.State == PacketStates.Sent || p.State == PacketStates.Running), cancel);
        var budget = Math.Max(0, options.MaxInFlightPackets - inFlight);
        var candidates = await db.Packets
            .Where(p => p.State == PacketStates.Pending && p.Priority > 0 && active.Contains(p.SweepId))
            .OrderBy(p => p.CreatedAt).Take(100).ToListAsync(cancel);
        if (budget > 0)
            candidates.AddRange(await db.Packets
                .Where(p => p.State == PacketStates.Pending && p.Priority == 0 && active.Contains(p.SweepId))
                .OrderBy(p => p.CreatedAt).ThenBy(p => p.Seq).Take(budget).ToListAsync(cancel));
        if (candidates.Count == 0) return 0;

        var sweepIds = candidates.Select(p => p.SweepId).Distinct().ToList();
        var sweeps = await db.Sweeps.AsNoTracking().Where(s => sweepIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, cancel);
        var sent = 0;
        foreach (var packet in candidates)
        {
            var sweep = sweeps[packet.SweepId];
            var units = await db.Tuples.AsNoTracking()
                .Where(t => t.PacketId == packet.Id && TupleStates.Open.Contains(t.State))
                .OrderBy(t => t.Unit).Select(t => new PacketUnit(t.Id, t.Unit)).ToListAsync(cancel);
            var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
            if (units.Count == 0)
            {
                packet.State = PacketStates.Done;
                packet.FinishedAt = now;
                await db.SaveChangesAsync(cancel);
                continue;
            }
            var work = new RenderWork
            {
                PacketId = packet.Id,
                SweepId = sweep.Id,
                Model = sweep.Model,
                ModelVersion = sweep.Version,
                Op = packet.Op,
                Technique = packet.Technique,
                Parameters = JsonSerializer.Deserialize<RenderSettings>(sweep.ParametersJson)!,
                ParamsHash = sweep.ParamsHash,
                Units = units,
                Dispatch = packet.Dispatches + 1,
                MaxAttempts = options.MaxAttempts,
            };
            // Send first, then record it (the broker confirms the send): a coordinator that dies
            // between the two leaves the packet pending, sent again later (a duplicate is
            // harmless, keys and results are idempotent), never "sent" with no message. A
            // message the broker loses after confirming is caught by the sent lease (Reaper).
            var endpoint = await bus.GetSendEndpoint(WorkQueues.Address(bus, packet.Priority > 0 ? Queues.PriorityRenderWork : Queues.RenderWork));
            await endpoint.Send(work, cancel);
            await using (var tx = await db.Database.BeginTransactionAsync(CancellationToken.None))
            {
                // A worker may have started it already (PacketStarted of this dispatch moved it
                // to running): then only the tuples still pending change.
                var id = packet.Id;
                await db.Packets.Where(p => p.Id == id && p.State == PacketStates.Pending)
                    .ExecuteUpdateAsync(s => s.SetProperty(p => p.State, PacketStates.Sent).SetProperty(p => p.Dispatches, work.Dispatch)
                        .SetProperty(p => p.SentAt, now).SetProperty(p => p.HeartbeatAt, (long?)null).SetProperty(p => p.StepsDone, 0)
                        .SetProperty(p => p.ProgressAt, (long?)null).SetProperty(p => p.WorkerId, (string?)null), CancellationToken.None);
                await db.Tuples.Where(t => t.PacketId == packet.Id && t.State == TupleStates.Pending)
                    .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Queued).SetProperty(t => t.UpdatedAt, now), CancellationToken.None);
                await tx.CommitAsync(CancellationToken.None);
            }
            using (logger.BeginScope(new Dictionary<string, object> { ["SweepId"] = sweep.Id, ["PacketId"] = packet.Id }))
                logger.LogInformation("sent packet {Op}/{Technique} x{Units} (dispatch {Dispatch})", packet.Op, packet.Technique, units.Count, packet.Dispatches);
            sent++;
        }
        return sent;
    }
}
