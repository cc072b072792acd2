namespace Microscope.Coordinator.Data;

// Rows of the farm's database (tables and columns in snake_case, see Migrations.cs).
// Times are Unix milliseconds (UTC): the same column type on PostgreSQL and SQLite.

public static class TupleStates
{
    public const string Pending = "pending";     // waiting for its packet to be sent
    public const string Queued = "queued";       // its packet is on the queue
    public const string Running = "running";     // a worker started its packet
    public const string Done = "done";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public static readonly string[] All = [Pending, Queued, Running, Done, Failed, Cancelled];
    public static readonly string[] Open = [Pending, Queued, Running];
}

public static class PacketStates
{
    public const string Pending = "pending";
    public const string Sent = "sent";
    public const string Running = "running";
    public const string Done = "done";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
}

public static class SweepStates
{
    public const string Active = "active";
    public const string Paused = "paused";
    public const string Cancelled = "cancelled";
}

public sealed class ModelRow
{
    public required string Name { get; set; }
    public required string Version { get; set; }
    public required string DescriptorJson { get; set; }
    public int UnitCount { get; set; }
    public long RegisteredAt { get; set; }
    /// <summary>A model added while the farm runs (POST /api/models): its
    /// <see cref="Microscope.Farm.Models.AddedModel"/> as JSON; null for zoo and configured models.</summary>
    public string? SourceJson { get; set; }
}

public sealed class SweepRow
{
    public Guid Id { get; set; }
    /// <summary>"sweep", or "render" for a researcher's single re-render (priority lane).</summary>
    public required string Kind { get; set; }
    public required string State { get; set; }
    public required string Model { get; set; }
    public required string Version { get; set; }
    public required string OpsJson { get; set; }
    public required string TechniquesJson { get; set; }
    public required string ParametersJson { get; set; }
    public required string ParamsHash { get; set; }
    public bool Force { get; set; }
    public int PacketSize { get; set; }
    public int Priority { get; set; }
    public int Total { get; set; }
    public int Reused { get; set; }
    public long CreatedAt { get; set; }
    public long? FinishedAt { get; set; }
    /// <summary>Who created it: the short id of the token (AccessTokens.IdOf), never the token.</summary>
    public string? Requester { get; set; }
    /// <summary>The client's Idempotency-Key: a repeated create with it returns this sweep.</summary>
    public string? IdempotencyKey { get; set; }
    /// <summary>Steps x pixels x tuples to render (a researcher's hourly render budget counts it).</summary>
    public long Cost { get; set; }
}

public sealed class PacketRow
{
    public Guid Id { get; set; }
    public Guid SweepId { get; set; }
    public required string Op { get; set; }
    public required string Technique { get; set; }
    public int Priority { get; set; }
    /// <summary>Order within the sweep (ops in model order, then units).</summary>
    public int Seq { get; set; }
    public required string State { get; set; }
    public int UnitCount { get; set; }
    public int Dispatches { get; set; }
    /// <summary>Starts reported by workers (PacketStarted of the current dispatch, each event
    /// once): a packet started MaxAttempts times without finishing fails.</summary>
    public int Starts { get; set; }
    public string? WorkerId { get; set; }
    public long CreatedAt { get; set; }
    public long? SentAt { get; set; }
    public long? HeartbeatAt { get; set; }
    /// <summary>The highest StepsDone heartbeats of the current dispatch reported, and when it
    /// last grew: heartbeats without progress do not keep a packet (Coordinator:StallSeconds).</summary>
    public int StepsDone { get; set; }
    public long? ProgressAt { get; set; }
    public long? FinishedAt { get; set; }
}

public sealed class TupleRow
{
    public Guid Id { get; set; }
    public Guid SweepId { get; set; }
    public Guid? PacketId { get; set; }
    public required string Model { get; set; }
    public required string Version { get; set; }
    public required string Op { get; set; }
    public int Unit { get; set; }
    public required string Technique { get; set; }
    public required string ParamsHash { get; set; }
    public required string State { get; set; }
    public int Attempts { get; set; }
    public string? Failure { get; set; }
    public string? ImageKey { get; set; }
    public string? RecordKey { get; set; }
    public double? ObjectiveStart { get; set; }
    public double? ObjectiveEnd { get; set; }
    public double? MsPerStep { get; set; }
    public string? WorkerId { get; set; }
    public bool Reused { get; set; }
    public long UpdatedAt { get; set; }
    public long? DoneAt { get; set; }
}

/// <summary>The catalogue: one finished render per (model version, op, unit, technique,
/// parameters hash). Two parameter sets of one unit are two rows, both kept.</summary>
public sealed class ResultRow
{
    public required string Model { get; set; }
    public required string Version { get; set; }
    public required string Op { get; set; }
    public int Unit { get; set; }
    public required string Technique { get; set; }
    public required string ParamsHash { get; set; }
    public required string ImageKey { get; set; }
    public required string RecordKey { get; set; }
    public double ObjectiveStart { get; set; }
    public double ObjectiveEnd { get; set; }
    public double MsPerStep { get; set; }
    public Guid TupleId { get; set; }
    public long RenderedAt { get; set; }
}

/// <summary>A worker event already handled (its message id and consumer): a redelivered
/// event changes nothing twice. Rows older than a week are removed by the reaper.</summary>
public sealed class InboxRow
{
    public required string MessageId { get; set; }
    public required string Consumer { get; set; }
    public long ReceivedAt { get; set; }
}
