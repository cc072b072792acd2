using Microscope.Farm.Hosting;

namespace Microscope.Farm.Metrics;

/// <summary>Section <c>Telemetry</c>: metrics and traces (docs/operations.md, "Metrics and traces").</summary>
public sealed class TelemetryOptions : IValidatedOptions
{
    public const string Section = "Telemetry";

    /// <summary>Serve Prometheus metrics at <c>/metrics</c> on the coordinator's and viewer's port.</summary>
    public bool Metrics { get; set; } = true;
    /// <summary>A worker has no HTTP port of its own: where its metrics listener serves
    /// <c>/metrics</c>, as an HttpListener prefix such as <c>http://+:9464/</c>. Empty: none
    /// (the default, so two workers on one machine do not fight over a port).</summary>
    public string? WorkerMetricsUrl { get; set => field = string.IsNullOrWhiteSpace(value) ? null : value; }
    /// <summary>An OTLP collector (gRPC, e.g. http://otel-collector:4317) to send traces to:
    /// the API's requests, MassTransit's send/receive/consume spans, HTTP and S3 calls. Empty: no traces.</summary>
    public string? OtlpEndpoint { get; set => field = string.IsNullOrWhiteSpace(value) ? null : value; }

    /// <summary>WorkerMetricsUrl's host (+ or * for every interface) and port, or null.</summary>
    public (string Host, int Port)? WorkerMetricsListener
    {
        get
        {
            var m = System.Text.RegularExpressions.Regex.Match(WorkerMetricsUrl ?? "", @"^http://([^:/\s]+):(\d{1,5})/$");
            return m.Success && int.TryParse(m.Groups[2].Value, out var port) && port is > 0 and < 65536 ? (m.Groups[1].Value, port) : null;
        }
    }

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (WorkerMetricsUrl is not null && WorkerMetricsListener is null)
            problems.Add($"WorkerMetricsUrl '{WorkerMetricsUrl}' is not http://HOST:PORT/, such as http://+:9464/ (set {FarmConfiguration.EnvironmentName(Section, nameof(WorkerMetricsUrl))})");
        if (OtlpEndpoint is not null && (!Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var o) || o.Scheme is not ("http" or "https")))
            problems.Add($"OtlpEndpoint '{OtlpEndpoint}' is not an http(s) URL (set {FarmConfiguration.EnvironmentName(Section, nameof(OtlpEndpoint))})");
        return problems;
    }
}
