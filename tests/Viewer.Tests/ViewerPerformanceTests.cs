using System.Diagnostics;
using System.Globalization;
using System.Net;
using Xunit.Abstractions;

namespace Microscope.Viewer.Tests;

/// <summary>Unit and op pages with 100,000 results in the catalogue (InceptionV1's channel
/// and neuron results under several parameter sets, plus the demo's): server time under
/// 50 ms (issue 6). Measured from 127.0.0.1 with a sequential C# loop; the Server-Timing
/// header gives the viewer's own time. Figures in docs/performance.md.</summary>
[Collection(ViewerCollection.Name)]
public sealed class ViewerPerformanceTests(ViewerFarm farm, ITestOutputHelper output)
{
    private const int Requests = 200;

    [Fact]
    public async Task Unit_and_op_pages_answer_in_under_50_ms_with_100000_results()
    {
        var total = farm.Db(db => db.Results.Count());
        Assert.True(total >= ViewerFarm.CatalogueResults, $"{total} results");
        // Keep the seeded catalogue for measuring with wrk (docs/performance.md).
        if (Environment.GetEnvironmentVariable("VIEWER_PERF_KEEP_DB") is { Length: > 0 } keep)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            await farm.Db(async db => await Microsoft.EntityFrameworkCore.RelationalDatabaseFacadeExtensions.ExecuteSqlAsync(db.Database, $"VACUUM INTO {keep}"));
        }
        var lines = new List<string> { $"results in the catalogue: {total}" };
        foreach (var path in new[] { "/models/inceptionv1/mixed4c/447", "/models/inceptionv1/mixed4c", "/models/demo/conv3/9", "/models/demo/conv3" })
        {
            var (server, client, bytes) = await MeasureAsync(path);
            var line = $"{path}: server p50 {P(server, 0.5):0.0} ms, p95 {P(server, 0.95):0.0} ms, max {server.Max():0.0} ms; " +
                       $"client p50 {P(client, 0.5):0.0} ms, p95 {P(client, 0.95):0.0} ms; {bytes} bytes";
            lines.Add(line);
            output.WriteLine(line);
            // The median is the claim; p95 is reported (this machine's two cores are shared).
            Assert.True(P(server, 0.5) < 50, line);
        }
        var file = Path.Combine(Path.GetDirectoryName(ChromiumBrowser.ScreenshotFolder)!, "viewer-performance.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllLinesAsync(file, lines);
    }

    private async Task<(List<double> Server, List<double> Client, long Bytes)> MeasureAsync(string path)
    {
        var server = new List<double>();
        var client = new List<double>();
        long bytes = 0;
        for (var i = 0; i < Requests + 20; i++)
        {
            var sw = Stopwatch.StartNew();
            using var response = await farm.Http.GetAsync(path);
            var body = await response.Content.ReadAsByteArrayAsync();
            sw.Stop();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            if (i < 20) continue; // warm-up: JIT, query compilation, descriptor cache
            var timing = response.Headers.GetValues("Server-Timing").Single();
            server.Add(double.Parse(timing[(timing.IndexOf("dur=", StringComparison.Ordinal) + 4)..], CultureInfo.InvariantCulture));
            client.Add(sw.Elapsed.TotalMilliseconds);
            bytes = body.Length;
        }
        return (server, client, bytes);
    }

    private static double P(List<double> values, double q)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
    }
}
