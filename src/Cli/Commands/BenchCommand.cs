using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;

namespace Microscope.Cli.Commands;

/// <summary>`microscope bench`: ms per optimisation step at batch 1 and 8, truncated versus
/// full forward for an early and a late op, and the binding's overhead (managed wall time
/// minus the time spent inside shim entry points).</summary>
public static class BenchCommand
{
    public sealed record StepTiming(string Op, int Batch, int Size, double MsPerStep, double NativeMsPerStep, double OverheadPercent);
    public sealed record TruncationTiming(string Op, int Batch, int Size, double TruncatedMs, double FullMs, double SavingPercent);
    public sealed record BenchReport(string Model, string Device, int Threads, int Steps, IReadOnlyList<StepTiming> RenderSteps, IReadOnlyList<TruncationTiming> Truncation);

    public static Command Create()
    {
        var models = new ModelOptions();
        var steps = new Option<int>("--steps") { Description = "timed steps per measurement", DefaultValueFactory = _ => 30 };
        var size = new Option<int?>("--size") { Description = "image size (default: the model's input size)" };
        var ops = new Option<string[]>("--op") { Description = "ops to time (default: first, middle and last)", AllowMultipleArgumentsPerToken = true };
        var batches = new Option<int[]>("--batch") { Description = "batch sizes", DefaultValueFactory = _ => [1, 8], AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "print JSON" };
        var command = new Command("bench", "Measure render speed (see docs/performance.md).") { steps, size, ops, batches, json };
        models.AddTo(command);
        command.SetAction(r => CommandErrors.Run(() =>
        {
            using var model = models.Load(r);
            var n = r.GetValue(steps);
            var px = r.GetValue(size) ?? model.InputSize;
            var names = model.OpNames;
            var chosen = r.GetValue(ops) is { Length: > 0 } given
                ? given.Select(model.ResolveOp).ToList()
                : new[] { names[0], names[names.Count / 2], names[^1] }.Distinct().ToList();
            var stepTimings = new List<StepTiming>();
            var truncation = new List<TruncationTiming>();
            foreach (var b in r.GetValue(batches)!)
                foreach (var op in chosen)
                {
                    stepTimings.Add(TimeSteps(model, op, b, px, n));
                    if (op != names[^1]) truncation.Add(TimeTruncation(model, op, names[^1], b, px, n));
                    Console.Error.WriteLine($"  measured {op} batch {b}");
                }
            var report = new BenchReport(model.Name + (model.RandomWeights ? " (random weights)" : ""), model.Device.ToString(), torch.ThreadCount, n, stepTimings, truncation);
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(report, Json.Indented));
                return 0;
            }
            Console.WriteLine($"model {report.Model}, device {report.Device}, {report.Threads} threads, {n} steps per figure");
            Console.WriteLine("render step (Fourier image + transforms + forward to op + backward + Adam):");
            Console.WriteLine($"  {"op",-24} {"batch",5} {"size",5} {"ms/step",9} {"in shim",9} {"binding overhead",17}");
            foreach (var t in stepTimings)
                Console.WriteLine($"  {t.Op,-24} {t.Batch,5} {t.Size,5} {t.MsPerStep,9:F2} {t.NativeMsPerStep,9:F2} {t.OverheadPercent,16:F2}%");
            Console.WriteLine("forward + backward, truncated at the op versus the full network:");
            Console.WriteLine($"  {"op",-24} {"batch",5} {"size",5} {"truncated ms",13} {"full ms",9} {"saving",7}");
            foreach (var t in truncation)
                Console.WriteLine($"  {t.Op,-24} {t.Batch,5} {t.Size,5} {t.TruncatedMs,13:F2} {t.FullMs,9:F2} {t.SavingPercent,6:F1}%");
            return 0;
        }));
        return command;
    }

    /// <summary>Whole render steps; the shim's profiler gives the time spent inside native
    /// calls, the rest is the binding's (and managed code's) overhead.</summary>
    private static StepTiming TimeSteps(VisionModel model, string op, int batch, int size, int steps)
    {
        var objective = new ChannelObjective(op, Enumerable.Range(0, batch).ToArray());
        var p = new RenderParameters { Steps = steps, Size = size, Seed = 0 };
        Renderer.Render(model, objective, batch, p with { Steps = 3 });
        torch.profiler.reset();
        torch.profiler.enable(true);
        var result = Renderer.Render(model, objective, batch, p);
        torch.profiler.enable(false);
        var (ns, _) = torch.profiler.read();
        // Evaluation passes before and after the loop are inside the profile but not the
        // wall time: count only the loop's share by timing them the same way.
        var nativeMs = ns / 1e6 / steps;
        var wall = result.MsPerStep;
        var evalNative = EvaluationNativeMs(model, objective, batch, size) * 2 / steps;
        nativeMs -= evalNative;
        return new StepTiming(op, batch, size, wall, nativeMs, Math.Max(0, (wall - nativeMs) / wall * 100));
    }

    private static double EvaluationNativeMs(VisionModel model, Objective objective, int batch, int size)
    {
        using var image = new FourierImage(batch, size, size, new Random(0), model.Device);
        torch.profiler.reset();
        torch.profiler.enable(true);
        Renderer.Evaluate(model, objective, image);
        torch.profiler.enable(false);
        return torch.profiler.read().Nanoseconds / 1e6;
    }

    /// <summary>Truncated and full forward+backward alternate step by step and each figure is
    /// the median, so load from other processes hits both alike.</summary>
    private static TruncationTiming TimeTruncation(VisionModel model, string op, string last, int batch, int size, int steps)
    {
        var objective = new ChannelObjective(op, [0]);
        using var image = new FourierImage(batch, size, size, new Random(0), model.Device);
        double Step(IReadOnlyCollection<string> targets)
        {
            var clock = Stopwatch.StartNew();
            using (torch.NewDisposeScope())
            {
                var x = Renderer.ModelInput(model, image.Image());
                var acts = model.Forward(x, targets);
                (-objective.Evaluate(acts).sum()).backward();
            }
            if (model.Device.Type == DeviceType.CUDA) torch.cuda.synchronize(model.Device);
            return clock.Elapsed.TotalMilliseconds;
        }
        Step([op]);
        Step([op, last]);
        var truncated = new List<double>();
        var full = new List<double>();
        for (var i = 0; i < steps; i++)
        {
            truncated.Add(Step([op]));
            full.Add(Step([op, last]));
        }
        var t = Median(truncated);
        var f = Median(full);
        return new TruncationTiming(op, batch, size, t, f, (f - t) / f * 100);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
    }
}
