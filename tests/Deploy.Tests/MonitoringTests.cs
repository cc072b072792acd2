using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microscope.Farm.Metrics;
using static Microscope.Deploy.Tests.Yaml;

namespace Microscope.Deploy.Tests;

/// <summary>deploy/grafana and deploy/prometheus against the farm's code: the dashboard asks only
/// for metrics the services export and shows every one of them; the pods Prometheus scrapes
/// announce the ports the services serve /metrics on.</summary>
public sealed partial class MonitoringTests
{
    private static string Dashboard => Path.Combine(RepositoryPaths.Root, "deploy", "grafana", "microscope-farm.json");

    /// <summary>The Prometheus names of the farm's instruments (OpenTelemetry's exporter: dots to
    /// underscores, the unit appended, _total on counters, _bucket/_sum/_count on histograms).</summary>
    public static IReadOnlyDictionary<string, string[]> ExportedNames()
    {
        RuntimeHelpers.RunClassConstructor(typeof(FarmMetrics).TypeHandle);
        var names = new Dictionary<string, string[]>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name != FarmMetrics.MeterName) return;
            var unit = instrument.Unit switch { "ms" => "_milliseconds", "s" => "_seconds", "By" => "_bytes", _ => "" };
            var stem = instrument.Name.Replace('.', '_') + unit;
            var type = instrument.GetType().GetGenericTypeDefinition();
            names[instrument.Name] = type == typeof(Counter<>) ? [stem + "_total"]
                : type == typeof(Histogram<>) ? [stem + "_bucket", stem + "_sum", stem + "_count"]
                : [stem];
        };
        listener.Start();
        return names;
    }

    [Fact]
    public void The_dashboard_queries_only_exported_metrics_and_every_one_of_them()
    {
        var exported = ExportedNames();
        Assert.True(exported.Count >= 9, string.Join(", ", exported.Keys));
        using var doc = JsonDocument.Parse(File.ReadAllText(Dashboard));
        var expressions = doc.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!).ToList();
        Assert.NotEmpty(expressions);
        var used = expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).ToHashSet();
        var known = exported.Values.SelectMany(n => n).ToHashSet();
        var unknown = used.Where(u => !known.Contains(u)).ToList();
        Assert.True(unknown.Count == 0, "the dashboard asks for metrics no service exports: " + string.Join(", ", unknown));
        var unshown = exported.Where(e => !e.Value.Any(used.Contains)).Select(e => e.Key).ToList();
        Assert.True(unshown.Count == 0, "no panel shows: " + string.Join(", ", unshown));
    }

    [Theory, MemberData(nameof(FileTests.Overlays), MemberType = typeof(FileTests))]
    public void Scraped_pods_announce_the_port_their_service_serves_metrics_on(string overlay)
    {
        var rendered = OverlayTests.Overlay(overlay);
        foreach (var service in new[] { "coordinator", "worker" })
        {
            var deployment = rendered.Get("Deployment", service);
            var annotations = Map(At(deployment.Body, "spec", "template", "metadata", "annotations"));
            Assert.NotNull(annotations);
            Assert.Equal("true", Str(annotations!["prometheus.io/scrape"]));
            Assert.Equal("/metrics", Str(annotations["prometheus.io/path"]));
            var port = Str(annotations["prometheus.io/port"]);
            var ports = Kustomize.Containers(deployment).SelectMany(c => Maps(c.GetValueOrDefault("ports"))).Select(p => StrAt(p, "containerPort")).ToList();
            Assert.Contains(port, ports);
            var settings = Kustomize.ReadEnvFile(Path.Combine(RepositoryPaths.Overlay(overlay), "settings", $"{service}.env"));
            if (service == "worker")
            {
                var telemetry = new TelemetryOptions { WorkerMetricsUrl = settings["MICROSCOPE_TELEMETRY__WORKERMETRICSURL"] };
                Assert.Empty(telemetry.Validate());
                Assert.Equal(port, telemetry.WorkerMetricsListener!.Value.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                Assert.Equal("true", settings["MICROSCOPE_TELEMETRY__METRICS"]);
                Assert.EndsWith(":" + port, settings["MICROSCOPE_COORDINATOR__URLS"], StringComparison.Ordinal);
            }
        }
    }

    [GeneratedRegex(@"\bmicroscope_[a-z_]+")]
    private static partial Regex MetricName();
}
