using System.Collections.Concurrent;
using System.Diagnostics;

namespace Microscope.Farm.Tests;

/// <summary>MassTransit's own instrumentation makes a packet one trace: the coordinator's send
/// of the work, the worker's consume of it, and the events the worker sends back.</summary>
public class TracingTests
{
    [Fact]
    public async Task A_packets_send_the_workers_consume_and_its_events_share_one_trace()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == Metrics.FarmTelemetry.MassTransitSource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        await using var farm = await InProcessFarm.StartAsync();
        var id = await farm.SweepAsync(new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "channel" }, parameters = new { steps = 2, size = 32 } });
        Assert.Equal("done", (await farm.WaitAsync(id, TimeSpan.FromMinutes(2))).State);

        static string? Tag(Activity a, string name) => a.GetTagItem(name)?.ToString();
        bool About(Activity a, string message) => a.Tags.Any(t => t.Value?.Contains(message, StringComparison.Ordinal) == true) || a.DisplayName.Contains(message, StringComparison.Ordinal);
        var consumedWork = spans.Where(a => a.Kind == ActivityKind.Consumer && About(a, "RenderWork")).ToList();
        Assert.NotEmpty(consumedWork);
        var trace = consumedWork[0].TraceId;
        // The send that started it is in the same trace (the coordinator's dispatch)...
        Assert.Contains(spans, a => a.Kind == ActivityKind.Producer && a.TraceId == trace && About(a, "RenderWork"));
        // ...and so are the worker's reports of the units it rendered, consumed by the coordinator.
        var reports = spans.Where(a => a.Kind == ActivityKind.Consumer && a.TraceId == trace && About(a, "UnitRendered")).ToList();
        Assert.True(reports.Count >= 16, $"{reports.Count} UnitRendered consumes in the packet's trace; spans: {string.Join(", ", spans.Select(a => $"{a.Kind} {a.DisplayName} {Tag(a, "messaging.destination.name")}").Distinct())}");
    }
}
