using System.Net;
using System.Text.Json;

namespace Microscope.Farm.Tests;

/// <summary>Serilog.AspNetCore request logging on the coordinator: one structured event per
/// request with its status, elapsed time and the sweep id of the route, written through the
/// Serilog settings an operator would use (a File sink in compact JSON).</summary>
public sealed class RequestLoggingTests
{
    [Fact]
    public async Task EachRequestIsOneStructuredEventWithItsStatusAndSweepId()
    {
        var log = Path.Combine(Path.GetTempPath(), "farm-requests-" + Guid.NewGuid().ToString("N")[..8] + ".clef");
        Guid id;
        var missing = Guid.NewGuid();
        try
        {
            await using (var farm = await InProcessFarm.StartAsync(worker: false, new Dictionary<string, string?>
            {
                ["Serilog:MinimumLevel:Default"] = "Information",
                ["Serilog:Using:0"] = "Serilog.Sinks.File",
                ["Serilog:WriteTo:0:Name"] = "File",
                ["Serilog:WriteTo:0:Args:path"] = log,
                ["Serilog:WriteTo:0:Args:formatter"] = "Serilog.Formatting.Compact.CompactJsonFormatter, Serilog.Formatting.Compact",
            }))
            {
                id = await farm.SweepAsync(new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 }, paused = true });
                Assert.Equal(HttpStatusCode.OK, (await farm.Http.GetAsync($"/api/sweeps/{id}")).StatusCode);
                Assert.Equal(HttpStatusCode.NotFound, (await farm.Http.GetAsync($"/api/sweeps/{missing}")).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await farm.Http.GetAsync("/health/live")).StatusCode);
            } // the logger is flushed when the host is disposed

            var requests = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement)
                .Where(e => e.TryGetProperty("SourceContext", out var c) && c.GetString() == "Serilog.AspNetCore.RequestLoggingMiddleware").ToList();
            JsonElement One(string method, string path)
            {
                var matching = requests.Where(e => e.GetProperty("RequestMethod").GetString() == method && e.GetProperty("RequestPath").GetString() == path).ToList();
                Assert.True(matching.Count == 1, $"{matching.Count} events for {method} {path}");
                return matching[0];
            }

            var found = One("GET", $"/api/sweeps/{id}");
            Assert.Equal(200, found.GetProperty("StatusCode").GetInt32());
            Assert.Equal(id.ToString(), found.GetProperty("SweepId").GetString());
            Assert.Contains("sweeps/{id", found.GetProperty("Route").GetString());
            Assert.True(found.GetProperty("Elapsed").GetDouble() > 0);
            Assert.Equal("HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0} ms", found.GetProperty("@mt").GetString());

            var notFound = One("GET", $"/api/sweeps/{missing}");
            Assert.Equal(404, notFound.GetProperty("StatusCode").GetInt32());
            Assert.Equal(missing.ToString(), notFound.GetProperty("SweepId").GetString());

            Assert.Equal(202, One("POST", "/api/sweeps").GetProperty("StatusCode").GetInt32());
            // Probes are Debug: below the Information level, so they do not flood the log.
            Assert.DoesNotContain(requests, e => e.GetProperty("RequestPath").GetString() == "/health/live");
        }
        finally
        {
            File.Delete(log);
        }
    }
}
