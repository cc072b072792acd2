namespace Microscope.Contracts;

// The farm's whole message flow. Every message carries SchemaVersion; fields are only ever
// added (with defaults), never renamed or removed, so a newer worker reads an older
// coordinator's work and the other way round. A breaking change gets a new record type.
//
//   Coordinator --RenderWork (queue render-work | render-work-priority)--> Worker
//   Worker --PacketStarted / PacketHeartbeat / UnitRendered / PacketFinished / WorkFailed--> Coordinator
//   MassTransit --Fault<RenderWork> (retries exhausted, message in the _error queue)--> Coordinator

public static class Queues
{
    public const string RenderWork = "render-work";
    public const string PriorityRenderWork = "render-work-priority";
    public const string CoordinatorEvents = "farm-coordinator";
    public const int SchemaVersion = 1;
}

/// <summary>One tuple of a packet: the row id the coordinator tracks and the unit to render.</summary>
public sealed record PacketUnit(Guid TupleId, int Unit);

/// <summary>A work packet: up to N units of one (model version, op, technique, parameters),
/// rendered by the worker as one batch (one unit per batch index).</summary>
public sealed record RenderWork
{
    public int SchemaVersion { get; init; } = Queues.SchemaVersion;
    public required Guid PacketId { get; init; }
    public Guid? SweepId { get; init; }
    public required string Model { get; init; }
    public required string ModelVersion { get; init; }
    public required string Op { get; init; }
    public required string Technique { get; init; }
    public required RenderSettings Parameters { get; init; }
    public required string ParamsHash { get; init; }
    public required IReadOnlyList<PacketUnit> Units { get; init; }
    /// <summary>How many times the coordinator has sent this packet (1 = first).</summary>
    public int Dispatch { get; init; } = 1;
    /// <summary>Deliveries a worker may start (the broker counts redeliveries of a packet whose
    /// worker crashed): past that the worker reports it failed instead of rendering it again.
    /// 0: no limit (a coordinator older than this field).</summary>
    public int MaxAttempts { get; init; }
}

public sealed record PacketStarted
{
    public int SchemaVersion { get; init; } = Queues.SchemaVersion;
    public required Guid PacketId { get; init; }
    public required string WorkerId { get; init; }
    public required int Attempt { get; init; }
    /// <summary>The RenderWork.Dispatch being rendered (0 from workers older than this field:
    /// accepted for any dispatch).</summary>
    public int Dispatch { get; init; }
    public DateTimeOffset At { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>Sent every few seconds while a packet renders: the reaper leaves it alone while
/// StepsDone advances.</summary>
public sealed record PacketHeartbeat
{
    public int SchemaVersion { get; init; } = Queues.SchemaVersion;
    public required Guid PacketId { get; init; }
    public required string WorkerId { get; init; }
    /// <summary>Optimisation steps (or their equivalent for op jobs) done so far in this packet.</summary>
    public int StepsDone { get; init; }
    /// <summary>As in PacketStarted: a heartbeat of an older dispatch is ignored.</summary>
    public int Dispatch { get; init; }
    public DateTimeOffset At { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>One unit is rendered and both its objects are stored.</summary>
public sealed record UnitRendered
{
    public int SchemaVersion { get; init; } = Queues.SchemaVersion;
    public required Guid PacketId { get; init; }
    public required Guid TupleId { get; init; }
    public required string WorkerId { get; init; }
    public required string ImageKey { get; init; }
    public required string RecordKey { get; init; }
    public double ObjectiveStart { get; init; }
    public double ObjectiveEnd { get; init; }
    public double MsPerStep { get; init; }
    /// <summary>1 for the first try of this delivery; more after in-process retries and redeliveries.</summary>
    public int Attempt { get; init; } = 1;
    public DateTimeOffset At { get; init; } = DateTimeOffset.UtcNow;
}

public sealed record PacketFinished
{
    public int SchemaVersion { get; init; } = Queues.SchemaVersion;
    public required Guid PacketId { get; init; }
    public required string WorkerId { get; init; }
    public double TotalMs { get; init; }
}

/// <summary>A packet cannot be rendered and retrying will not help (bad parameters, unknown
/// op, a size beyond the worker's limit): its tuples fail with the reason.</summary>
public sealed record WorkFailed
{
    public int SchemaVersion { get; init; } = Queues.SchemaVersion;
    public required Guid PacketId { get; init; }
    public required IReadOnlyList<Guid> TupleIds { get; init; }
    public required string WorkerId { get; init; }
    public required string Reason { get; init; }
    public bool Permanent { get; init; } = true;
}

/// <summary>A sweep's progress (the API's GET /api/sweeps/{id} and the CLI's progress bar).</summary>
public sealed record SweepStatus
{
    public required Guid Id { get; init; }
    public required string Kind { get; init; }
    public required string State { get; init; }
    public required string Model { get; init; }
    public required string Version { get; init; }
    public required string ParamsHash { get; init; }
    public required int Total { get; init; }
    public required IReadOnlyDictionary<string, int> Counts { get; init; }
    public int Reused { get; init; }
    public double UnitsPerMinute { get; init; }
    public double? EtaSeconds { get; init; }
    public IReadOnlyList<FailureSummary> Failures { get; init; } = [];
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
}

/// <summary>One sweep in GET /api/sweeps: the state and times as GET /api/sweeps/{id} gives them.</summary>
public sealed record SweepSummary(Guid Id, string Kind, string State, string Model, string Version, string ParamsHash,
    int Total, int Reused, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt);

public sealed record FailureSummary(string Reason, int Count, IReadOnlyList<string> Examples);

/// <summary>The body of POST /api/sweeps.</summary>
public sealed record SweepRequest
{
    public string? Model { get; init; }
    public string? Version { get; init; }
    public IReadOnlyList<string>? Ops { get; init; }
    public IReadOnlyList<string>? Techniques { get; init; }
    /// <summary>Only these units (channels) of each op, e.g. [0..7] for a sample of every op;
    /// default: all of them.</summary>
    public IReadOnlyList<int>? Units { get; init; }
    public RenderSettings? Parameters { get; init; }
    /// <summary>Render again even when a result with the same parameters hash exists.</summary>
    public bool Force { get; init; }
    /// <summary>Units per work packet; the coordinator's default (32) when absent.</summary>
    public int? PacketSize { get; init; }
    /// <summary>Expand the sweep but send nothing until it is resumed (to check its size and
    /// ETA first, or to start it later).</summary>
    public bool Paused { get; init; }
}

/// <summary>The body of POST /api/renders: one unit, on the priority lane.</summary>
public sealed record RenderRequest
{
    public string? Model { get; init; }
    public string? Version { get; init; }
    public string? Op { get; init; }
    public int? Unit { get; init; }
    public string? Technique { get; init; }
    public RenderSettings? Parameters { get; init; }
    public bool Force { get; init; }
    /// <summary>An objective expression ("conv3:9 + 0.5*conv3:17", "conv3@[...]"): renders the
    /// "objective" technique under the expression's first op; op, unit and technique may be left out.</summary>
    public string? Objective { get; init; }
}
