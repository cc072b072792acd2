using System.Diagnostics;
using MassTransit;
using Microscope.Contracts;
using Microscope.Farm.Messaging;
using Microscope.Farm.Metrics;
using Microscope.Farm.Rendering;
using Microscope.Farm.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microscope.Worker;

/// <summary>Renders a work packet: one device at a time, heartbeats while rendering, every file
/// of every tuple (PNG/SVG images and a JSON record) uploaded under deterministic keys (a redelivered packet overwrites
/// the same objects), each unit reported as soon as it is stored. Permanent problems are
/// reported as WorkFailed and the message is consumed; anything else is thrown, retried by
/// the endpoint's retry policy, and after that lands in the error queue.</summary>
public class RenderWorkConsumer(PacketRenderer renderer, IObjectStore store, DeviceGate gate, WorkerOptions options, FaultInjector injector,
    StallWatchdog watchdog, IHostApplicationLifetime lifetime, ILogger<RenderWorkConsumer> logger) : IConsumer<RenderWork>
{
    protected virtual bool Priority => false;

    public async Task Consume(ConsumeContext<RenderWork> context)
    {
        var work = context.Message;
        var workerId = options.ResolvedId;
        using var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["SweepId"] = work.SweepId ?? Guid.Empty, ["PacketId"] = work.PacketId, ["Worker"] = workerId,
        });
        // What this packet logs is also kept, for its tuples' logs if they fail (PacketLog).
        var log = new PacketLog(logger, work, workerId);
        // A packet the broker has delivered MaxAttempts times already killed or stalled a
        // worker each time: it fails with the reason instead of crash-looping the fleet.
        var deliveries = WorkQueues.EarlierDeliveries(context);
        if (work.MaxAttempts > 0 && deliveries >= work.MaxAttempts)
        {
            await Fail(context, work, workerId, log, $"delivered {deliveries + 1} times: its worker crashed, was killed or stalled each time");
            return;
        }
        var problems = renderer.Check(work);
        if (problems.Count > 0)
        {
            await Fail(context, work, workerId, log, string.Join("; ", problems));
            return;
        }

        // The consume token is not passed to the render: on shutdown the packet is finished
        // (within the host's shutdown timeout) unless FinishPacketOnShutdown is off; a killed
        // process hands it back through the broker.
        var stopping = options.FinishPacketOnShutdown ? CancellationToken.None : lifetime.ApplicationStopping;
        if (stopping.IsCancellationRequested) return;
        using var lease = await gate.EnterAsync(Priority, context.CancellationToken);
        // A rollout: another model version than this worker's weights goes back to the queue
        // for a worker that has it (not counted as a start), within a bound.
        string have;
        try { have = await renderer.VersionForAsync(work.Model, work.ModelVersion, context.CancellationToken); }
        catch (PermanentRenderException e)
        {
            await Fail(context, work, workerId, log, e.Message);
            return;
        }
        if (have != work.ModelVersion)
        {
            await HandBackAsync(context, work, workerId, have, log);
            return;
        }
        var attempt = context.GetRetryAttempt() + context.GetRedeliveryCount() + deliveries + 1;
        await context.Publish(new PacketStarted { PacketId = work.PacketId, WorkerId = workerId, Attempt = attempt, Dispatch = work.Dispatch });
        log.LogInformation("rendering {Model}/{Op} {Technique} x{Units}, {Steps} steps at {Size} px (attempt {Attempt}, dispatch {Dispatch})",
            work.Model, work.Op, work.Technique, work.Units.Count, work.Parameters.Steps, work.Parameters.Size, attempt, work.Dispatch);
        injector.MaybeCrash(work);

        var steps = 0;
        using var stopHeartbeat = new CancellationTokenSource();
        var heartbeat = Heartbeat(context, work, workerId, () => Volatile.Read(ref steps), stopHeartbeat.Token);
        var started = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            injector.MaybeFail();
            await injector.MaybeStallAsync();
            await renderer.RenderAsync(work, new Progress(v => Volatile.Write(ref steps, v)), async unit =>
            {
                var address = new UnitAddress(work.Model, work.ModelVersion, work.Op, unit.Unit.Unit);
                // One after the other, the record (".json") last: a stored record means every
                // file of the result is stored (the coordinator's BucketReconciler relies on it).
                foreach (var file in unit.Files)
                {
                    var key = file.ModelKey is { } name ? ObjectKeys.InModel(work.Model, work.ModelVersion, name) : ObjectKeys.File(address, work.Technique, work.ParamsHash, file.Suffix);
                    await store.PutAsync(key, file.Content, file.ContentType, CancellationToken.None);
                }
                var recordKey = ObjectKeys.File(address, work.Technique, work.ParamsHash, unit.Files.First(f => f.Suffix == ".json").Suffix);
                var imageKey = ResultImageKey.Of(address, work.Technique, work.ParamsHash, unit.Files.Where(f => f.ModelKey is null).Select(f => f.Suffix))
                    ?? throw new InvalidOperationException($"{work.Technique} stored no image");
                var tags = new TagList { { "model", work.Model }, { "op", work.Op }, { "technique", work.Technique } };
                FarmMetrics.UnitsRendered.Add(1, tags);
                if (unit.MsPerStep > 0) FarmMetrics.StepDuration.Record(unit.MsPerStep, tags);
                await context.Publish(new UnitRendered
                {
                    PacketId = work.PacketId, TupleId = unit.Unit.TupleId, WorkerId = workerId, ImageKey = imageKey, RecordKey = recordKey,
                    ObjectiveStart = unit.ObjectiveStart, ObjectiveEnd = unit.ObjectiveEnd, MsPerStep = unit.MsPerStep, Attempt = attempt,
                });
            }, stopping);
        }
        catch (PermanentRenderException e)
        {
            RecordPacket(work, started, "rejected");
            await Fail(context, work, workerId, log, e.Message);
            return;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            RecordPacket(work, started, "dropped");
            log.LogWarning("shutting down: packet {Packet} dropped unfinished", work.PacketId);
            return;
        }
        catch
        {
            RecordPacket(work, started, "error");
            throw;
        }
        finally
        {
            await stopHeartbeat.CancelAsync();
            await heartbeat;
        }
        RecordPacket(work, started, "done");
        await context.Publish(new PacketFinished { PacketId = work.PacketId, WorkerId = workerId, TotalMs = started.Elapsed.TotalMilliseconds });
        log.LogInformation("packet done in {Seconds:F1} s", started.Elapsed.TotalSeconds);
    }

    private static void RecordPacket(RenderWork work, System.Diagnostics.Stopwatch started, string outcome) =>
        FarmMetrics.PacketDuration.Record(started.Elapsed.TotalSeconds, new TagList { { "model", work.Model }, { "technique", work.Technique }, { "outcome", outcome } });

    public const string HandBacksHeader = "Microscope-Hand-Backs";
    public const int MaxHandBacks = 100;

    private async Task HandBackAsync(ConsumeContext<RenderWork> context, RenderWork work, string workerId, string have, PacketLog log)
    {
        var handBacks = context.Headers.TryGetHeader(HandBacksHeader, out var h) && int.TryParse(Convert.ToString(h, System.Globalization.CultureInfo.InvariantCulture), out var n) ? n : 0;
        if (handBacks >= MaxHandBacks)
        {
            await Fail(context, work, workerId, log, $"no worker has version {work.ModelVersion} of '{work.Model}' (handed back {handBacks} times; this worker's is {have})");
            return;
        }
        log.LogInformation("handing the packet back: this worker's weights of {Model} are version {Have}; it asks for {Version}", work.Model, have, work.ModelVersion);
        // A pause, so a fleet without that version does not spin on the packet.
        await Task.Delay(TimeSpan.FromMilliseconds(options.RetryIntervalMs * 2));
        var endpoint = await context.GetSendEndpoint(WorkQueues.Address(context.ReceiveContext.InputAddress, Priority ? Queues.PriorityRenderWork : Queues.RenderWork));
        await endpoint.Send(work, c => c.Headers.Set(HandBacksHeader, handBacks + 1));
    }

    private async Task Fail(ConsumeContext context, RenderWork work, string workerId, PacketLog log, string reason)
    {
        log.LogWarning("packet cannot be rendered: {Reason}", reason);
        // Stored before the failure is reported, so a page that shows the failure finds them.
        await log.UploadAsync(store, CancellationToken.None);
        await context.Publish(new WorkFailed
        {
            PacketId = work.PacketId, TupleIds = work.Units.Select(u => u.TupleId).ToList(), WorkerId = workerId, Reason = reason,
        });
    }

    private async Task Heartbeat(ConsumeContext context, RenderWork work, string workerId, Func<int> steps, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.HeartbeatSeconds));
        var last = 0;
        var sinceLastStep = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var done = steps();
                if (done != last)
                {
                    last = done;
                    sinceLastStep.Restart();
                }
                else if (options.StallSeconds > 0 && sinceLastStep.Elapsed >= TimeSpan.FromSeconds(options.StallSeconds))
                {
                    watchdog.Stuck(work, done, sinceLastStep.Elapsed);
                }
                await context.Publish(new PacketHeartbeat { PacketId = work.PacketId, WorkerId = workerId, StepsDone = done, Dispatch = work.Dispatch }, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "heartbeat failed");
        }
    }

    private sealed class Progress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}

/// <summary>Consumes the priority lane (single re-renders) with the same code.</summary>
public sealed class PriorityRenderWorkConsumer(PacketRenderer renderer, IObjectStore store, DeviceGate gate, WorkerOptions options,
    FaultInjector injector, StallWatchdog watchdog, IHostApplicationLifetime lifetime, ILogger<RenderWorkConsumer> logger)
    : RenderWorkConsumer(renderer, store, gate, options, injector, watchdog, lifetime, logger)
{
    protected override bool Priority => true;
}

/// <summary>Prefetch 1 and one message at a time per endpoint (the device gate serialises
/// the two lanes), retries with a fixed interval for transient errors.</summary>
public sealed class RenderWorkConsumerDefinition : ConsumerDefinition<RenderWorkConsumer>
{
    private readonly WorkerOptions _options;

    public RenderWorkConsumerDefinition(WorkerOptions options)
    {
        _options = options;
        EndpointName = Queues.RenderWork;
        ConcurrentMessageLimit = 1;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<RenderWorkConsumer> consumer, IRegistrationContext context) =>
        RenderLane.Configure(endpoint, _options);
}

public sealed class PriorityRenderWorkConsumerDefinition : ConsumerDefinition<PriorityRenderWorkConsumer>
{
    private readonly WorkerOptions _options;

    public PriorityRenderWorkConsumerDefinition(WorkerOptions options)
    {
        _options = options;
        EndpointName = Queues.PriorityRenderWork;
        ConcurrentMessageLimit = 1;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<PriorityRenderWorkConsumer> consumer, IRegistrationContext context) =>
        RenderLane.Configure(endpoint, _options);
}

internal static class RenderLane
{
    public static void Configure(IReceiveEndpointConfigurator endpoint, WorkerOptions options)
    {
        endpoint.PrefetchCount = 1;
        endpoint.ConcurrentMessageLimit = 1;
        endpoint.UseMessageRetry(r =>
        {
            r.Ignore<PermanentRenderException>();
            r.Interval(options.RetryLimit, TimeSpan.FromMilliseconds(options.RetryIntervalMs));
        });
    }
}

/// <summary>Testing only: the faults Worker:InjectTransientFailures, InjectStalls and
/// InjectCrashOn ask for, to prove retries, stall detection and bounded redelivery end to end.</summary>
public sealed class FaultInjector(WorkerOptions options, ILogger<FaultInjector> logger)
{
    private int _failures = options.InjectTransientFailures;
    private int _stalls = options.InjectStalls;

    public void MaybeFail()
    {
        if (Interlocked.Decrement(ref _failures) >= 0)
            throw new InvalidOperationException("injected transient failure (Worker:InjectTransientFailures)");
    }

    /// <summary>Never completes, like a hung GPU call, for the first InjectStalls packets.</summary>
    public Task MaybeStallAsync() => Interlocked.Decrement(ref _stalls) >= 0 ? Task.Delay(Timeout.Infinite) : Task.CompletedTask;

    /// <summary>Kills this process when the packet holds the unit InjectCrashOn names.</summary>
    public void MaybeCrash(RenderWork work)
    {
        if (options.InjectCrashOn?.Split(':') is not [var op, var unit] || work.Op != op || work.Units.All(u => u.Unit.ToString(System.Globalization.CultureInfo.InvariantCulture) != unit)) return;
        logger.LogCritical("injected crash (Worker:InjectCrashOn {Unit}): killing this worker with packet {PacketId} in hand", options.InjectCrashOn, work.PacketId);
        System.Diagnostics.Process.GetCurrentProcess().Kill();
    }
}

/// <summary>What a worker does when its render is stuck (Worker:StallSeconds without a step):
/// the render thread cannot be cancelled (it may sit in a GPU call), so the process kills
/// itself. RabbitMQ requeues the unacknowledged packet for another worker at once, the
/// orchestrator restarts this one, and the coordinator's reaper covers a broker that is slow
/// to notice (Coordinator:StallSeconds).</summary>
public class StallWatchdog(ILogger<StallWatchdog> logger)
{
    public virtual void Stuck(RenderWork work, int steps, TimeSpan since)
    {
        logger.LogCritical("render of packet {PacketId} ({Op} {Technique}) stuck at step {Steps}: no progress for {Seconds:F0} s (Worker:StallSeconds); killing this worker so the packet goes back to the queue and the worker restarts",
            work.PacketId, work.Op, work.Technique, steps, since.TotalSeconds);
        System.Diagnostics.Process.GetCurrentProcess().Kill();
    }
}
