using System.Diagnostics.Metrics;

namespace Microscope.Farm.Metrics;

/// <summary>The farm's instruments, one meter for every service (coordinator, worker, viewer).
/// OpenTelemetry exports them; Prometheus sees the names with dots as underscores, the unit
/// appended and <c>_total</c> on counters (docs/operations.md, "Metrics", lists them all).
/// Static, like an ActivitySource: instruments are cheap no-ops until a listener subscribes.</summary>
public static class FarmMetrics
{
    public const string MeterName = "Microscope.Farm";
    private static readonly Meter Meter = new(MeterName, "1.0");

    // Latency buckets in seconds: a local SQLite call takes ~0.1 ms, an S3 PUT across a
    // cluster tens of ms, a stuck one seconds.
    private static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    // ms per optimisation step: 1 ms (demo at 32 px) to seconds (a large model at 512 px on a CPU).
    private static readonly double[] StepBuckets = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
    // Packet durations in seconds: a packet of small renders takes seconds, a GPU packet of 32 full renders minutes.
    private static readonly double[] PacketBuckets = [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

    /// <summary>Units a worker rendered and stored (tags model, op, technique).</summary>
    public static readonly Counter<long> UnitsRendered = Meter.CreateCounter<long>("microscope.units.rendered", "{unit}",
        "Units rendered and stored by this worker");

    /// <summary>Units the coordinator marked failed (tag reason: <see cref="FailureReasons"/>).</summary>
    public static readonly Counter<long> UnitsFailed = Meter.CreateCounter<long>("microscope.units.failed", "{unit}",
        "Units marked failed, by reason");

    public static readonly Histogram<double> StepDuration = Meter.CreateHistogram("microscope.render.step.duration", "ms",
        "Milliseconds per optimisation step of a unit's render, by model, op and technique", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });

    public static readonly Histogram<double> PacketDuration = Meter.CreateHistogram("microscope.packet.duration", "s",
        "Seconds a worker took for a work packet, by model, technique and outcome", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PacketBuckets });

    public static readonly Histogram<double> StorageDuration = Meter.CreateHistogram("microscope.storage.duration", "s",
        "Object store call latency, by operation (put, get, list) and store (folder, s3)", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    public static readonly Histogram<double> DatabaseDuration = Meter.CreateHistogram("microscope.db.command.duration", "s",
        "Database command latency, by provider and kind (reader, nonquery, scalar) and outcome", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    private static volatile FarmQueueSnapshot _queues = FarmQueueSnapshot.Empty;

    static FarmMetrics()
    {
        Meter.CreateObservableGauge("microscope.packets.open", () => _queues.Packets.Select(p => new Measurement<long>(p.Value, new KeyValuePair<string, object?>("state", p.Key))),
            "{packet}", "Work packets not finished, by state (sent: waiting on the queue; running: a worker has it)");
        Meter.CreateObservableGauge("microscope.tuples.open", () => _queues.Tuples.Select(p => new Measurement<long>(p.Value, new KeyValuePair<string, object?>("state", p.Key))),
            "{unit}", "Units not finished, by state (pending: not yet sent; queued; running)");
        Meter.CreateObservableGauge("microscope.sweeps.active", () => _queues.ActiveSweeps, "{sweep}", "Sweeps with units still to render");
        // Where the render runs on the CPU this is the device's memory; CUDA's own allocator is not read yet.
        Meter.CreateObservableGauge("microscope.process.memory", () => Environment.WorkingSet, "By", "Resident memory of this process");
    }

    /// <summary>Replaces the queue figures the gauges report (the coordinator samples them from its database).</summary>
    public static void SetQueues(FarmQueueSnapshot snapshot) => _queues = snapshot;
}

/// <summary>Open packets and tuples by state, as last read from the database.</summary>
public sealed record FarmQueueSnapshot(IReadOnlyDictionary<string, long> Packets, IReadOnlyDictionary<string, long> Tuples, long ActiveSweeps)
{
    public static readonly FarmQueueSnapshot Empty = new(new Dictionary<string, long>(), new Dictionary<string, long>(), 0);
}

/// <summary>The few values of the <c>reason</c> tag of <see cref="FarmMetrics.UnitsFailed"/>
/// (the free-text reason stays in the tuple's Failure and the logs).</summary>
public static class FailureReasons
{
    /// <summary>The worker refused the packet: bad parameters, unknown model version, too large.</summary>
    public const string Rejected = "rejected";
    /// <summary>Transient errors outlasted the worker's retries (the packet went to the error queue).</summary>
    public const string Faulted = "faulted";
    /// <summary>Started MaxAttempts times without finishing: its workers crashed, were killed or stalled.</summary>
    public const string Crashed = "crashed";
}
