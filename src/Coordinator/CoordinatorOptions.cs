using Microscope.Farm.Hosting;

namespace Microscope.Coordinator;

/// <summary>Section <c>Coordinator</c>.</summary>
public sealed class CoordinatorOptions : IValidatedOptions
{
    public const string Section = "Coordinator";

    /// <summary>Where the HTTP API listens (port 0: a free port).</summary>
    public string Urls { get; set; } = "http://127.0.0.1:5080";
    /// <summary>Units per work packet (the worker renders a packet as one batch).</summary>
    public int PacketSize { get; set; } = 32;
    /// <summary>Sweep packets on the queue or rendering at once; pausing a sweep stops the
    /// rest from being sent. Set it to a few times the number of workers.</summary>
    public int MaxInFlightPackets { get; set; } = 16;
    public int DispatchIntervalMs { get; set; } = 500;
    /// <summary>A running packet without a heartbeat for this long goes back to the queue.</summary>
    public int LeaseSeconds { get; set; } = 120;
    /// <summary>A running packet whose heartbeats report no new step for this long (a hung
    /// render) goes back to the queue; 0 turns this off. Longer than the slowest step and
    /// than loading the largest model.</summary>
    public int StallSeconds { get; set; } = 600;
    public int ReaperIntervalSeconds { get; set; } = 10;
    /// <summary>A packet sent this long ago that no worker has started (a message the broker
    /// lost) goes back to the queue. Longer than a packet may wait in the queue: MaxInFlightPackets
    /// per worker times the longest packet.</summary>
    public int SentLeaseSeconds { get; set; } = 3600;
    /// <summary>A packet started this many times without finishing (its worker crashed, was
    /// killed or stalled each time) fails with the reason instead of going out again;
    /// retry-failed brings it back. Also RabbitMQ's delivery limit of the work queues.</summary>
    public int MaxAttempts { get; set; } = 4;
    /// <summary>How long a worker event is retried (backing off to 30 s) while the database
    /// cannot be reached, before it goes to the error queue.</summary>
    public int EventRetryMinutes { get; set; } = 15;
    /// <summary>Largest accepted request body (bytes).</summary>
    public long MaxBodyBytes { get; set; } = 64 * 1024;
    public int MaxTuplesPerSweep { get; set; } = 2_000_000;
    /// <summary>Largest model file (and its sidecar or weights) POST /api/models accepts
    /// (bytes); larger uploads are refused with 413 before anything is stored.</summary>
    public long MaxModelBytes { get; set; } = 512L * 1024 * 1024;
    /// <summary>Worker events handled at once (1 on SQLite, which has one writer).</summary>
    public int EventConcurrency { get; set; } = 8;
    /// <summary>Apply schema migrations at start (otherwise run `microscope migrate`).</summary>
    public bool MigrateOnStart { get; set; } = true;
    /// <summary>Models registered at start (comma-separated), besides those registered on first use.</summary>
    public string? RegisterModels { get; set; }
    /// <summary>Comma-separated operator tokens (sweeps, sweep control, models, renders): the
    /// same as the viewer's Viewer:OperatorTokens. Without any token every write is refused.</summary>
    public string? OperatorTokens { get; set; }
    /// <summary>Comma-separated researcher tokens (renders), the same as Viewer:ResearcherTokens.</summary>
    public string? ResearcherTokens { get; set; }
    /// <summary>What one researcher token may render per hour, in steps x pixels (a default
    /// render, 512 steps at 128 px, is 8.4 million); operators have no budget.</summary>
    public long RenderBudgetPerHour { get; set; } = 2_000_000_000;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        foreach (var url in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries))
            if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
                problems.Add($"Urls: '{url}' is not an http URL (set {FarmConfiguration.EnvironmentName(Section, nameof(Urls))})");
        if (PacketSize is < 1 or > 1024) problems.Add("PacketSize must be 1..1024");
        if (MaxInFlightPackets < 1) problems.Add("MaxInFlightPackets must be at least 1");
        if (DispatchIntervalMs < 10) problems.Add("DispatchIntervalMs must be at least 10");
        if (LeaseSeconds < 1) problems.Add("LeaseSeconds must be at least 1");
        if (StallSeconds < 0) problems.Add("StallSeconds must be 0 (off) or more");
        if (ReaperIntervalSeconds < 1) problems.Add("ReaperIntervalSeconds must be at least 1");
        if (SentLeaseSeconds < 1) problems.Add("SentLeaseSeconds must be at least 1");
        if (MaxAttempts is < 1 or > 100) problems.Add("MaxAttempts must be 1..100");
        if (EventRetryMinutes is < 0 or > 1440) problems.Add("EventRetryMinutes must be 0..1440");
        if (MaxBodyBytes < 1024) problems.Add("MaxBodyBytes must be at least 1024");
        if (MaxModelBytes < 1024) problems.Add("MaxModelBytes must be at least 1024");
        if (MaxTuplesPerSweep < 1) problems.Add("MaxTuplesPerSweep must be at least 1");
        if (EventConcurrency < 1) problems.Add("EventConcurrency must be at least 1");
        if (RenderBudgetPerHour < 1) problems.Add("RenderBudgetPerHour must be at least 1");
        problems.AddRange(Microscope.Farm.Security.AccessTokens.Problems(OperatorTokens, ResearcherTokens));
        return problems;
    }
}

public enum DatabaseProvider { Sqlite, Postgres }

/// <summary>Section <c>Database</c>.</summary>
public sealed class DatabaseOptions : IValidatedOptions
{
    public const string Section = "Database";

    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;
    /// <summary>SQLite: <c>Data Source=path</c>; PostgreSQL: <c>Host=...;Port=...;Database=...;Username=...;Password=...</c>.</summary>
    public string? ConnectionString { get; set; }

    public IReadOnlyList<string> Validate() =>
        string.IsNullOrWhiteSpace(ConnectionString)
            ? [$"ConnectionString is required (set {FarmConfiguration.EnvironmentName(Section, nameof(ConnectionString))})"]
            : [];
}
