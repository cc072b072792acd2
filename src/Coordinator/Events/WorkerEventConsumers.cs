using MassTransit;
using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Coordinator.Dispatch;
using Microscope.Farm.Hosting;
using Microscope.Farm.Metrics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator.Events;

// What the coordinator does with each worker event. Every handler is idempotent (a
// redelivered or duplicated event changes nothing more): each event is handled once (the
// inbox, in the same transaction as its changes), a tuple becomes done once, a done tuple
// never goes back, results are upserted by their natural key.

public sealed class PacketStartedConsumer(FarmDb db, TimeProvider clock, CoordinatorOptions options, ILogger<PacketStartedConsumer> logger) : IConsumer<PacketStarted>
{
    public Task Consume(ConsumeContext<PacketStarted> context) => Inbox.OnceAsync(db, context, clock, () => HandleAsync(context.Message));

    private async Task HandleAsync(PacketStarted m)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        // A start of an older dispatch (its worker was reaped, the packet was sent again) is
        // late news: the current dispatch's bookkeeping stays.
        // The dispatcher records a dispatch after the broker took it: a start may come first
        // (the packet still pending, one dispatch behind).
        var current = await db.Packets.Where(p => p.Id == m.PacketId && (p.State == PacketStates.Sent || p.State == PacketStates.Running || p.State == PacketStates.Pending)
                && (m.Dispatch == 0 || p.Dispatches == m.Dispatch || (p.State == PacketStates.Pending && p.Dispatches + 1 == m.Dispatch)))
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.State, PacketStates.Running).SetProperty(p => p.Dispatches, p => m.Dispatch == 0 ? p.Dispatches : m.Dispatch).SetProperty(p => p.WorkerId, m.WorkerId).SetProperty(p => p.HeartbeatAt, now)
                .SetProperty(p => p.StepsDone, 0).SetProperty(p => p.ProgressAt, now).SetProperty(p => p.Starts, p => p.Starts + 1));
        if (current == 0) return;
        await db.Tuples.Where(t => t.PacketId == m.PacketId && TupleStates.Open.Contains(t.State))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Running).SetProperty(t => t.Attempts, t => t.Attempts + 1)
                .SetProperty(t => t.WorkerId, m.WorkerId).SetProperty(t => t.UpdatedAt, now));
        // A packet that keeps killing its workers (each crash hands it back to the broker,
        // which delivers it again) fails with the reason; the rest of the sweep goes on.
        var starts = await db.Packets.Where(p => p.Id == m.PacketId).Select(p => p.Starts).FirstAsync();
        if (starts > options.MaxAttempts)
        {
            var reason = $"started {starts} times without finishing (its worker crashed, was killed or stalled each time; last on {m.WorkerId})";
            using var _ = logger.BeginScope(new Dictionary<string, object> { ["PacketId"] = m.PacketId });
            logger.LogWarning("packet failed: {Reason}", reason);
            await PacketFailuresInternal.FailOpenAsync(db, m.PacketId, reason, now, CancellationToken.None);
        }
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
    public Task Consume(ConsumeContext<UnitRendered> context) => Inbox.OnceAsync(db, context, clock, () => HandleAsync(context.Message));

    private async Task HandleAsync(UnitRendered m)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var changed = await TupleResults.RecordDoneAsync(db, m.TupleId, m.ImageKey, m.RecordKey, m.ObjectiveStart, m.ObjectiveEnd, m.MsPerStep, m.WorkerId, now);
        using var _ = logger.BeginScope(new Dictionary<string, object> { ["PacketId"] = m.PacketId, ["TupleId"] = m.TupleId });
        if (!changed) logger.LogInformation("unit {Key} reported again (redelivery): nothing changes", m.ImageKey);
    }
}

public sealed class PacketFinishedConsumer(FarmDb db, TimeProvider clock, PacketDispatcher dispatcher) : IConsumer<PacketFinished>
{
    public async Task Consume(ConsumeContext<PacketFinished> context)
    {
        await Inbox.OnceAsync(db, context, clock, async () =>
        {
            var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
            // Tuples whose UnitRendered never comes are sent again by the Reaper after a lease.
            await db.Packets.Where(p => p.Id == context.Message.PacketId && p.State != PacketStates.Done && p.State != PacketStates.Failed)
                .ExecuteUpdateAsync(s => s.SetProperty(p => p.State, PacketStates.Done).SetProperty(p => p.FinishedAt, now));
        });
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
        await Inbox.OnceAsync(db, context, clock, () => PacketFailures.FailAsync(db, clock, m.PacketId, m.TupleIds, m.Reason, FailureReasons.Rejected));
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
        await Inbox.OnceAsync(db, context, clock, () => PacketFailures.FailAsync(db, clock, work.PacketId, work.Units.Select(u => u.TupleId).ToList(), reason, FailureReasons.Faulted));
        dispatcher.Wake();
    }
}

internal static class PacketFailures
{
    public static async Task FailAsync(FarmDb db, TimeProvider clock, Guid packetId, IReadOnlyList<Guid> tupleIds, string reason, string category)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (reason.Length > 2000) reason = reason[..2000];
        var failed = await db.Tuples.Where(t => tupleIds.Contains(t.Id) && t.State != TupleStates.Done && t.State != TupleStates.Cancelled)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.State, TupleStates.Failed).SetProperty(t => t.Failure, reason).SetProperty(t => t.UpdatedAt, now));
        await db.Packets.Where(p => p.Id == packetId && p.State != PacketStates.Done)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.State, PacketStates.Failed).SetProperty(p => p.FinishedAt, now));
        FarmMetrics.UnitsFailed.Add(failed, new KeyValuePair<string, object?>("reason", category));
    }
}

/// <summary>Each worker event is handled once: its message id is recorded in the inbox in the
/// same transaction as the changes it makes, and a redelivery finds it there.</summary>
internal static class Inbox
{
    public static async Task OnceAsync<T>(FarmDb db, ConsumeContext<T> context, TimeProvider clock, Func<Task> handle) where T : class
    {
        var id = (context.MessageId ?? Guid.NewGuid()).ToString();
        var consumer = typeof(T).Name;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var tx = await db.Database.BeginTransactionAsync();
        var first = await db.Database.ExecuteSqlAsync($"INSERT INTO inbox (message_id, consumer, received_at) VALUES ({id}, {consumer}, {now}) ON CONFLICT DO NOTHING");
        if (first == 1) await handle();
        await tx.CommitAsync();
    }
}

/// <summary>All worker events arrive on one coordinator queue. Retries: database contention
/// (SQLite's single writer, serialisation conflicts) a few times within seconds; an outage
/// (the database cannot be reached) for EventRetryMinutes, backing off to 30 s, so a database
/// restart of several minutes loses nothing.</summary>
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
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Handle<Exception>(e => ProblemResponses.IsOutage(e));
            r.Intervals(OutageIntervals(options.EventRetryMinutes));
        });
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Ignore<Exception>(e => ProblemResponses.IsOutage(e));
            r.Intervals(100, 250, 500, 1000, 2000, 4000);
        });
    }

    /// <summary>0.25, 0.5, 1, 2 ... 30, 30 ... seconds, adding up to <paramref name="minutes"/>.</summary>
    public static TimeSpan[] OutageIntervals(int minutes)
    {
        var intervals = new List<TimeSpan>();
        var total = TimeSpan.Zero;
        var next = TimeSpan.FromMilliseconds(250);
        while (total < TimeSpan.FromMinutes(minutes))
        {
            intervals.Add(next);
            total += next;
            next = TimeSpan.FromSeconds(Math.Min(30, next.TotalSeconds * 2));
        }
        return [.. intervals];
    }
}
