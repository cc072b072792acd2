using Microscope.Farm.Hosting;

namespace Microscope.Worker;

/// <summary>Section <c>Worker</c>.</summary>
public sealed class WorkerOptions : IValidatedOptions
{
    public const string Section = "Worker";

    /// <summary>cpu, cuda, cuda:N or auto. One worker process per GPU.</summary>
    public string Device { get; set; } = "auto";
    /// <summary>Name in logs and in the tuples it rendered (default: host-pid).</summary>
    public string? Id { get; set; }
    public int HeartbeatSeconds { get; set; } = 5;
    /// <summary>A render with no new step for this long is stuck (a hung GPU call that no
    /// cancellation reaches): the worker logs it and kills its own process, so RabbitMQ
    /// requeues the packet and the orchestrator restarts the worker. 0: off. Longer than the
    /// slowest step and than loading the largest model.</summary>
    public int StallSeconds { get; set; } = 600;
    /// <summary>In-process retries of a packet after a transient error, before it goes to
    /// the error queue and its tuples fail.</summary>
    public int RetryLimit { get; set; } = 3;
    public int RetryIntervalMs { get; set; } = 1000;
    /// <summary>Largest image this worker renders (device memory); larger requests fail
    /// permanently with the reason.</summary>
    public int MaxImageSize { get; set; } = 1024;
    /// <summary>Largest batch rendered at once; bigger packets are rendered in parts.</summary>
    public int MaxBatch { get; set; } = 64;
    /// <summary>On shutdown, finish the packet being rendered (a deployed worker: RabbitMQ would
    /// otherwise hand it to another worker from the start), or drop it at its next step and take
    /// no more (the single-machine demo: its in-memory queue dies with the process, so Ctrl+C
    /// must not wait; the coordinator re-sends what was not reported when its lease runs out).</summary>
    public bool FinishPacketOnShutdown { get; set; } = true;
    /// <summary>Models (versions) kept loaded.</summary>
    public int ModelCacheSize { get; set; } = 2;
    /// <summary>Where files of models added to the running farm (POST /api/models) are kept
    /// once fetched from the object store.</summary>
    public string ModelFolder { get; set; } = Path.Combine(Path.GetTempPath(), "microscope-models");
    /// <summary>Bound of ModelFolder (bytes): beyond it the least recently used files are deleted.</summary>
    public long ModelFolderBytes { get; set; } = 8L * 1024 * 1024 * 1024;
    /// <summary>Dataset examples' data set: a folder of JPEG/PNG images, or (unset) the demo's
    /// procedural set of DatasetImages images. Empty means unset (a ConfigMap can only give "").</summary>
    public string? DatasetFolder { get; set => field = string.IsNullOrWhiteSpace(value) ? null : value; }
    public int DatasetImages { get; set; } = 2048;
    /// <summary>Caricatures' input images: a folder of JPEG/PNG images, or (unset) the demo's procedural inputs.</summary>
    public string? CaricatureFolder { get; set => field = string.IsNullOrWhiteSpace(value) ? null : value; }
    /// <summary>Testing only: the first N packet attempts of this process throw a transient error.</summary>
    public int InjectTransientFailures { get; set; }
    /// <summary>Testing only: the first N packets of this process hang without doing a step.</summary>
    public int InjectStalls { get; set; }
    /// <summary>Testing only: <c>op:unit</c>; a packet holding that unit kills this process as
    /// soon as it has started (a native crash or an out-of-memory kill, every time).</summary>
    public string? InjectCrashOn { get; set => field = string.IsNullOrWhiteSpace(value) ? null : value; }

    public string ResolvedId => string.IsNullOrWhiteSpace(Id) ? $"{Environment.MachineName}-{Environment.ProcessId}" : Id;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        try { Engine.Torch.Device.Parse(Device == "auto" ? "cpu" : Device); }
        catch (ArgumentException) { problems.Add($"Device '{Device}' is not cpu, cuda, cuda:N or auto (set {FarmConfiguration.EnvironmentName(Section, nameof(Device))})"); }
        if (HeartbeatSeconds < 1) problems.Add("HeartbeatSeconds must be at least 1");
        if (StallSeconds < 0) problems.Add("StallSeconds must be 0 (off) or more");
        else if (StallSeconds > 0 && StallSeconds < 2 * HeartbeatSeconds) problems.Add($"StallSeconds {StallSeconds} must be 0 (off) or at least two heartbeats ({2 * HeartbeatSeconds} s): progress is checked at each heartbeat");
        if (RetryLimit < 0) problems.Add("RetryLimit must be 0 or more");
        if (RetryIntervalMs < 0) problems.Add("RetryIntervalMs must be 0 or more");
        if (MaxImageSize < 16) problems.Add("MaxImageSize must be at least 16");
        if (MaxBatch < 1) problems.Add("MaxBatch must be at least 1");
        if (ModelCacheSize < 1) problems.Add("ModelCacheSize must be at least 1");
        if (string.IsNullOrWhiteSpace(ModelFolder)) problems.Add($"ModelFolder is required (set {FarmConfiguration.EnvironmentName(Section, nameof(ModelFolder))})");
        if (ModelFolderBytes < 1024 * 1024) problems.Add("ModelFolderBytes must be at least 1 MiB");
        if (DatasetImages < 1) problems.Add("DatasetImages must be at least 1");
        if (DatasetFolder is not null && !Directory.Exists(DatasetFolder)) problems.Add($"DatasetFolder '{DatasetFolder}' does not exist");
        if (CaricatureFolder is not null && !Directory.Exists(CaricatureFolder)) problems.Add($"CaricatureFolder '{CaricatureFolder}' does not exist");
        if (InjectTransientFailures < 0) problems.Add("InjectTransientFailures must be 0 or more");
        if (InjectStalls < 0) problems.Add("InjectStalls must be 0 or more");
        if (InjectCrashOn is not null && (InjectCrashOn.Split(':') is not [{ Length: > 0 }, var unit] || !int.TryParse(unit, out _)))
            problems.Add($"InjectCrashOn '{InjectCrashOn}' is not op:unit");
        return problems;
    }
}
