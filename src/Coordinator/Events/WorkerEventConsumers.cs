using MassTransit;
using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Coordinator.Dispatch;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator.Events;

// What the coordinator does with each worker event. Every handler is idempotent (a
// redelivered or duplicated event changes nothing more): a tuple becomes done once, a done
// tuple never goes back, results are upserted by their natural key.

public sealed class PacketStartedConsumer(FarmDb db, TimeProvider clock) : IConsumer<PacketStarted>
{
    public async Task Consume(ConsumeContext<PacketStarted> context)
    {
        var m = context.Message;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        // A start of an older dispatch (its worker was reaped, the packet was sent again) is
        // late news: the current dispatch's bookkeeping stays.
        var current = await db.Packets.Where(p => p.Id == m.PacketId && (p.State == PacketStates.Sent || p.State == PacketStates.Running || p.State == PacketStates.Pending)
                && (m.Dispatch == 0 || p.Dispatches == m.Dispatch))
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.State, PacketStates.Running).SetProperty(p => p.WorkerId, m.WorkerId).SetProperty(p => p.HeartbeatAt, now)
                .SetProperty(p => p.StepsDone, 0).SetProperty(p => p.ProgressAt, now));
        if (current == 0) return;
        await db.Tuples.Where(t => t.PacketId == m.PacketId && TupleStates.Open.Contains(t.State))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Running).SetProperty(t => t.Attempts, t => t.Attempts + 1)
                .SetProperty(t => t.WorkerId, m.WorkerId).SetProperty(t => t.UpdatedAt, now));
    }
}

public sealed class PacketHeartbeatConsumer(FarmDb db, TimeProvider clock) : IConsumer<PacketHeartbeat>
{
    public async Task Consume(ConsumeContext<PacketHeartbeat> context)
    {
        var m = context.Message;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        // The lease is renewed by any heartbeat; ProgressAt only when StepsDone grew.
        await db.Packets.Where(p => p.Id == m.PacketId && (p.State == PacketStates.Sent || p.State == PacketStates.Running)
                && (m.Dispatch == 0 || p.Dispatches == m.Dispatch))
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.State, PacketStates.Running).SetProperty(p => p.WorkerId, m.WorkerId).SetProperty(p => p.HeartbeatAt, now)
                .SetProperty(p => p.ProgressAt, p => m.StepsDone > p.StepsDone || p.ProgressAt == null ? now : p.ProgressAt)
                .SetProperty(p => p.StepsDone, p => m.StepsDone > p.StepsDone ? m.StepsDone : p.StepsDone));
    }
}

public sealed class UnitRenderedConsumer(FarmDb db, TimeProvider clock, ILogger<UnitRenderedConsumer> logger) : IConsumer<UnitRendered>
{
    public async Task Consume(ConsumeContext<UnitRendered> context)
    {
        var m = context.Message;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var id = m.TupleId;
        var changed = await db.Tuples.Where(t => t.Id == id && t.State != TupleStates.Done)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Done).SetProperty(t => t.ImageKey, m.ImageKey)
                .SetProperty(t => t.RecordKey, m.RecordKey).SetProperty(t => t.ObjectiveStart, m.ObjectiveStart)
                .SetProperty(t => t.ObjectiveEnd, m.ObjectiveEnd).SetProperty(t => t.MsPerStep, m.MsPerStep)
                .SetProperty(t => t.WorkerId, m.WorkerId).SetProperty(t => t.Failure, (string?)null)
                .SetProperty(t => t.UpdatedAt, now).SetProperty(t => t.DoneAt, now));
        var tupleId = id.ToString();
        // One statement on both databases (SQLite needs the WHERE before ON CONFLICT).
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO results (model, version, op, unit, technique, params_hash, image_key, record_key,
                                 objective_start, objective_end, ms_per_step, tuple_id, rendered_at)
            SELECT model, version, op, unit, technique, params_hash, {m.ImageKey}, {m.RecordKey},
                   {m.ObjectiveStart}, {m.ObjectiveEnd}, {m.MsPerStep}, id, {now}
            FROM tuples WHERE id = {tupleId}
            ON CONFLICT (model, version, op, unit, technique, params_hash) DO UPDATE SET
                image_key = excluded.image_key, record_key = excluded.record_key,
                objective_start = excluded.objective_start, objective_end = excluded.objective_end,
                ms_per_step = excluded.ms_per_step, tuple_id = excluded.tuple_id, rendered_at = excluded.rendered_at
            """);
        using var _ = logger.BeginScope(new Dictionary<string, object> { ["PacketId"] = m.PacketId, ["TupleId"] = m.TupleId });
        if (changed == 0) logger.LogInformation("unit {Key} reported again (redelivery): nothing changes", m.ImageKey);
    }
}

public sealed class PacketFinishedConsumer(FarmDb db, TimeProvider clock, PacketDispatcher dispatcher) : IConsumer<PacketFinished>
{
    public async Task Consume(ConsumeContext<PacketFinished> context)
    {
        var m = context.Message;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await db.Packets.Where(p => p.Id == m.PacketId && p.State != PacketStates.Done && p.State != PacketStates.Failed)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.State, PacketStates.Done).SetProperty(p => p.FinishedAt, now));
        dispatcher.Wake();
    }
}

/// <summary>A permanent failure reported by the worker (bad parameters and the like): the
/// tuples fail with the reason and are not retried.</summary>
public sealed class WorkFailedConsumer(FarmDb db, TimeProvider clock, PacketDispatcher dispatcher, ILogger<WorkFailedConsumer> logger) : IConsumer<WorkFailed>
{
    public async Task Consume(ConsumeContext<WorkFailed> context)
    {
        var m = context.Message;
        using var _ = logger.BeginScope(new Dictionary<string, object> { ["PacketId"] = m.PacketId });
        logger.LogWarning("packet failed on {Worker}: {Reason}", m.WorkerId, m.Reason);
        await PacketFailures.FailAsync(db, clock, m.PacketId, m.TupleIds, m.Reason);
        dispatcher.Wake();
    }
}

/// <summary>A packet whose transient errors outlasted the worker's retries: MassTransit moved
/// it to the error queue and published this fault; its tuples show as failed with the
/// exception, ready for retry-failed.</summary>
public sealed class RenderWorkFaultConsumer(FarmDb db, TimeProvider clock, PacketDispatcher dispatcher, ILogger<RenderWorkFaultConsumer> logger) : IConsumer<Fault<RenderWork>>
{
    public async Task Consume(ConsumeContext<Fault<RenderWork>> context)
    {
        var work = context.Message.Message;
        var reason = "render failed after retries: " + string.Join("; ", context.Message.Exceptions.Select(e => e.Message));
        using var _ = logger.BeginScope(new Dictionary<string, object> { ["PacketId"] = work.PacketId });
        logger.LogWarning("packet faulted: {Reason}", reason);
        await PacketFailures.FailAsync(db, clock, work.PacketId, work.Units.Select(u => u.TupleId).ToList(), reason);
        dispatcher.Wake();
    }
}

internal static class PacketFailures
{
    public static async Task FailAsync(FarmDb db, TimeProvider clock, Guid packetId, IReadOnlyList<Guid> tupleIds, string reason)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (reason.Length > 2000) reason = reason[..2000];
        await db.Tuples.Where(t => tupleIds.Contains(t.Id) && t.State != TupleStates.Done && t.State != TupleStates.Cancelled)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Failed).SetProperty(t => t.Failure, reason).SetProperty(t => t.UpdatedAt, now));
        await db.Packets.Where(p => p.Id == packetId && p.State != PacketStates.Done)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.State, PacketStates.Failed).SetProperty(p => p.FinishedAt, now));
    }
}

/// <summary>All worker events arrive on one coordinator queue. Retries cover database
/// contention (SQLite's single writer, serialisation conflicts).</summary>
public sealed class CoordinatorEventsDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    private readonly CoordinatorOptions options;
    private readonly DatabaseOptions database;

    public CoordinatorEventsDefinition(CoordinatorOptions options, DatabaseOptions database)
    {
        this.options = options;
        this.database = database;
        EndpointName = Queues.CoordinatorEvents;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<TConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.ConcurrentMessageLimit = database.Provider == DatabaseProvider.Sqlite ? 1 : options.EventConcurrency;
        endpointConfigurator.UseMessageRetry(r => r.Intervals(100, 250, 500, 1000, 2000, 4000));
    }
}
