using System.Diagnostics;
using Microscope.Engine.Imaging;

namespace Microscope.Cli.Tests;

/// <summary>Ctrl+C / SIGTERM while `microscope demo` sweeps: it used to sweep on for minutes.</summary>
public class DemoSignalTests
{
    // SIGTERM, as Kubernetes and `kill` send it; Ctrl+C's SIGINT takes the same path (the host's
    // console lifetime), but a process started in the background of a non-interactive shell, as
    // CI runs tests, inherits SIGINT ignored, so it cannot be tested here.
    [Fact]
    public async Task The_demo_stops_within_ten_seconds_of_SIGTERM_while_sweeping_and_leaves_whole_files()
    {
        const string signal = "TERM";
        var dir = Path.Combine(Path.GetTempPath(), $"ms-demo-signal-{Guid.NewGuid():N}");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "microscope.dll"), "demo", "--steps", "200", "--size", "32",
                     "--packet-size", "8", "--port", "0", "--out", dir, "--exit" })
            psi.ArgumentList.Add(a);
        var stdout = new System.Text.StringBuilder();
        var stderr = new System.Text.StringBuilder();
        using var demo = new Process { StartInfo = psi };
        demo.OutputDataReceived += (_, e) => { lock (stdout) stdout.AppendLine(e.Data); };
        demo.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        demo.Start();
        demo.BeginOutputReadLine();
        demo.BeginErrorReadLine();
        string Err() { lock (stderr) return stderr.ToString(); }
        try
        {
            // Wait until the sweep has rendered something, so the signal lands mid-sweep.
            var objects = Path.Combine(dir, "objects");
            var waited = Stopwatch.StartNew();
            while (!(Directory.Exists(objects) && Directory.EnumerateFiles(objects, "*.json", SearchOption.AllDirectories).Any()))
            {
                Assert.False(demo.HasExited, $"the demo ended before rendering: {Err()}");
                Assert.True(waited.Elapsed < TimeSpan.FromMinutes(3), $"nothing rendered in 3 minutes: {Err()}");
                await Task.Delay(200);
            }
            var signalled = Stopwatch.StartNew();
            using (var kill = Process.Start("kill", [$"-{signal}", demo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            var exited = demo.WaitForExit(TimeSpan.FromSeconds(10));
            var took = signalled.Elapsed;
            Assert.True(exited, $"the demo still ran 10 s after SIG{signal}");
            Assert.Equal(130, demo.ExitCode);
            demo.WaitForExit();
            Assert.Contains("interrupted", Err(), StringComparison.Ordinal);
            lock (stdout) Assert.DoesNotContain("done;", stdout.ToString(), StringComparison.Ordinal);

            // Nothing half-written: no temporary files, every image decodes.
            Assert.Empty(Directory.EnumerateFiles(objects, "*.tmp", SearchOption.AllDirectories));
            var pngs = Directory.EnumerateFiles(objects, "*.png", SearchOption.AllDirectories).ToList();
            Assert.NotEmpty(pngs);
            Assert.All(pngs, png => Assert.Equal(32, ImageFile.Load(png).Width));
            Console.WriteLine($"SIG{signal}: exited {took.TotalSeconds:F1} s after the signal, {pngs.Count} images kept");
        }
        finally
        {
            if (!demo.HasExited) demo.Kill(true);
            Directory.Delete(dir, true);
        }
    }
}
