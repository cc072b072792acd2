using System.Diagnostics;
using System.Text.Json;

namespace Microscope.Cli.Bench;

/// <summary>The naive PyTorch feature-visualisation loop (tools/naive_reference.py, Debian's
/// python3-torch): the reference issue 11's speed targets are ratios to. Runs it as a child
/// process and reads its one JSON line.</summary>
public sealed class NaiveLoop(string script, string python = "/usr/bin/python3")
{
    public sealed record RenderFigures(double MsPerStepMedian, double ObjectiveStart, double ObjectiveEnd);

    /// <summary>The thread count the last render ran with (PyTorch's default when asked for 0).</summary>
    public int LastThreads { get; private set; }

    /// <summary>Finds the script beside the working directory or the CLI's own folder, walking up.</summary>
    public static NaiveLoop Locate()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tools", "naive_reference.py");
                if (File.Exists(candidate)) return new NaiveLoop(candidate);
            }
        throw new FileNotFoundException("tools/naive_reference.py not found: run the bench from the repository (--naive needs it and Debian's python3-torch)");
    }

    public void WriteWeights(string path, int seed) => Run("weights", path, "-", "--seed", seed.ToString());

    public RenderFigures Render(string weights, string op, int batch, int size, int warmup, int steps, int threads, string? imagesOut = null)
    {
        var args = new List<string> { "render", weights, op };
        if (imagesOut is not null) args.Add(imagesOut);
        args.AddRange(["--batch", batch.ToString(), "--size", size.ToString(), "--warmup", warmup.ToString(),
            "--steps", steps.ToString(), "--threads", threads.ToString()]);
        using var json = JsonDocument.Parse(Run([.. args]));
        var r = json.RootElement;
        LastThreads = r.GetProperty("threads").GetInt32();
        return new RenderFigures(r.GetProperty("ms_per_step_median").GetDouble(), r.GetProperty("objective_start").GetDouble(), r.GetProperty("objective_end").GetDouble());
    }

    /// <summary>The objective (channel b of op for image b, mean over space) of float32 images
    /// (B, 3, S, S) in [0, 1], scored by the reference's own PyTorch model.</summary>
    public double[] Score(string weights, string op, string images, int batch, int size)
    {
        using var json = JsonDocument.Parse(Run("score", weights, op, images, "--batch", batch.ToString(), "--size", size.ToString()));
        return [.. json.RootElement.GetProperty("objective").EnumerateArray().Select(v => v.GetDouble())];
    }

    private string Run(params string[] args)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var a in args) start.ArgumentList.Add(a);
        // The reference runs with the machine's default malloc, as a plain loop would: not the
        // huge-page heap the microscope launcher asks glibc for (docs/performance.md).
        start.Environment.Remove("GLIBC_TUNABLES");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {python}");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(script)} {args[0]} failed (exit {process.ExitCode}): {stderr.Result.Trim()}");
        return stdout.Trim().Split('\n').LastOrDefault() ?? "";
    }
}
