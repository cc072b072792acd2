using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Microscope.Cli.Bench;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;

namespace Microscope.Cli.Commands;

/// <summary>`microscope bench`: ms per optimisation step and the binding's overhead, truncated
/// versus full forward, and on request what unit pruning saves, a full channel sweep's units per
/// hour, and the speed-up over the naive PyTorch loop (docs/performance.md). Every figure is the
/// median of the timed steps of interleaved rounds, each measurement after its own warm-up.</summary>
public static class BenchCommand
{
    public sealed record StepTiming(string Op, int Batch, int Size, Precision Precision, double MsPerStep, double NativeMsPerStep, double OverheadPercent);
    public sealed record TruncationTiming(string Op, int Batch, int Size, double TruncatedMs, double FullMs, double SavingPercent);
    public sealed record PruningTiming(string Op, int Batch, int Size, double WholeOpMs, double OwnUnitsMs, double SpeedUp);
    public sealed record SweepOp(string Op, int Units, double MsPerStep, double Hours);
    public sealed record SweepEstimate(int Batch, int Size, int Steps, int Units, double Hours, double UnitsPerHour, IReadOnlyList<SweepOp> Ops);
    public sealed record NaiveComparison(string Op, int Batch, int Size, Precision Precision, int NaiveThreads, double NaiveMsPerStep, double MsPerStep, double SpeedUp,
        int ObjectiveSteps, double NaiveObjective, double Objective, double ObjectiveByEngine);
    public sealed record BenchReport(string Model, string Device, int Threads, int Steps, int Rounds, IReadOnlyList<StepTiming> RenderSteps,
        IReadOnlyList<TruncationTiming> Truncation, IReadOnlyList<PruningTiming>? Pruning, SweepEstimate? Sweep, IReadOnlyList<NaiveComparison>? Naive,
        IReadOnlyList<StepProfile.Report>? Profiles);

    public static Command Create()
    {
        var models = new ModelOptions();
        var steps = new Option<int>("--steps") { Description = "timed steps per measurement", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "untimed steps before each measurement", DefaultValueFactory = _ => 2 };
        var rounds = new Option<int>("--rounds") { Description = "interleaved rounds (figures are medians over all of them)", DefaultValueFactory = _ => 3 };
        var size = new Option<int?>("--size") { Description = "image size (default: the model's input size)" };
        var ops = new Option<string[]>("--op") { Description = "ops to time (default: first, middle and last)", AllowMultipleArgumentsPerToken = true };
        var batches = new Option<int[]>("--batch") { Description = "batch sizes", DefaultValueFactory = _ => [1, 8], AllowMultipleArgumentsPerToken = true };
        var pruning = new Option<bool>("--pruning") { Description = "also time each op with unit pruning off (the whole op computed) against on" };
        var sweep = new Option<bool>("--sweep") { Description = "estimate a full channel sweep at --sweep-steps: every swept op timed at the largest --batch" };
        var sweepSteps = new Option<int>("--sweep-steps") { Description = "render steps per unit in the sweep estimate", DefaultValueFactory = _ => 512 };
        var naive = new Option<bool>("--naive") { Description = "compare with the naive PyTorch loop (tools/naive_reference.py, InceptionV1 only) on the same seeded weights" };
        var naiveSteps = new Option<int>("--objective-steps") { Description = "with --naive: steps of the render both loops make to compare the objective reached", DefaultValueFactory = _ => 32 };
        var naiveThreads = new Option<int>("--naive-threads") { Description = "with --naive: threads the PyTorch loop uses (0: PyTorch's default on this machine)", DefaultValueFactory = _ => 0 };
        var profile = new Option<bool>("--profile") { Description = "also profile one render step per op at the largest --batch: phases, each layer's forward, GFLOP/s" };
        var peak = new Option<double?>("--peak-gflops") { Description = "with --profile: the device's peak GFLOP/s, to print the achieved share" };
        var precisions = PrecisionOption.CreateList("convolution arithmetic, fp32 and/or bf16 (docs/performance.md): the step table interleaves every one given; the other tables use the first");
        var json = new Option<bool>("--json") { Description = "print JSON" };
        var command = new Command("bench", "Measure render speed (see docs/performance.md).")
            { steps, warmup, rounds, size, ops, batches, precisions, pruning, sweep, sweepSteps, naive, naiveSteps, naiveThreads, profile, peak, json };
        models.AddTo(command);
        command.SetAction(r => CommandErrors.Run(() =>
        {
            var n = r.GetValue(steps);
            var w = r.GetValue(warmup);
            var rc = r.GetValue(rounds);
            if (n < 1 || w < 0 || rc < 1) throw new ArgumentException("--steps and --rounds must be at least 1, --warmup at least 0");
            string? naiveWeights = null;
            NaiveLoop? reference = null;
            if (r.GetValue(naive))
            {
                if (r.GetValue(models.Model) != "inceptionv1") throw new ArgumentException("--naive compares InceptionV1 only (the reference loop defines that network): add --model inceptionv1");
                if (r.GetValue(models.Weights) is null && r.GetValue(models.RandomWeights) is not null)
                    throw new ArgumentException("--naive makes its own seeded weights for both loops: leave out --random-weights");
                reference = NaiveLoop.Locate();
                naiveWeights = r.GetValue(models.Weights);
                if (naiveWeights is null)
                {
                    naiveWeights = Path.Combine(Path.GetTempPath(), "microscope-bench-inceptionv1-seed0.safetensors");
                    if (!File.Exists(naiveWeights))
                    {
                        // Written beside and moved, so a concurrent bench never reads half a file.
                        var partial = naiveWeights + $".{Environment.ProcessId}.partial";
                        reference.WriteWeights(partial, 0);
                        File.Move(partial, naiveWeights, overwrite: true);
                    }
                }
            }
            using var model = naiveWeights is null ? models.Load(r) : ModelZoo.Load("inceptionv1", new WeightsSource.File(naiveWeights), Engine.Torch.Device.Resolve(r.GetValue(models.Device)));
            var px = r.GetValue(size) ?? model.InputSize;
            var names = model.OpNames;
            var chosen = r.GetValue(ops) is { Length: > 0 } given
                ? given.Select(model.ResolveOp).ToList()
                : new[] { names[0], names[names.Count / 2], names[^1] }.Distinct().ToList();
            var arithmetic = r.Values(precisions);
            var first = arithmetic[0];
            var configs = (from b in r.GetValue(batches)! from op in chosen from a in arithmetic select (Op: op, Batch: b, Precision: a)).ToList();

            // Render steps (and, with --pruning, the same steps with the whole op), interleaved.
            var samples = configs.ToDictionary(c => c, _ => new List<StepTimer.Sample>());
            var wholeOp = configs.ToDictionary(c => c, _ => new List<StepTimer.Sample>());
            for (var round = 0; round < rc; round++)
                foreach (var c in configs)
                {
                    var objective = new ChannelObjective(c.Op, Units(model, c.Op, c.Batch));
                    samples[c].Add(StepTimer.Measure(model, objective, c.Batch, px, w, n, c.Precision));
                    if (r.GetValue(pruning) && c.Precision == first)
                    {
                        model.PruneUnits = false;
                        try { wholeOp[c].Add(StepTimer.Measure(model, objective, c.Batch, px, w, n, c.Precision)); }
                        finally { model.PruneUnits = true; }
                    }
                    Console.Error.WriteLine($"  round {round + 1}/{rc}: {c.Op} batch {c.Batch} {c.Precision.Name()}");
                }
            var stepTimings = configs.Select(c =>
            {
                var ms = StepTimer.Median(samples[c].SelectMany(s => s.StepMs));
                var native = StepTimer.Median(samples[c].Select(s => s.NativeMs / n));
                return new StepTiming(c.Op, c.Batch, px, c.Precision, ms, native, Math.Max(0, (ms - native) / ms * 100));
            }).ToList();
            var pruningTimings = r.GetValue(pruning)
                ? configs.Where(c => c.Precision == first).Select(c =>
                {
                    var own = StepTimer.Median(samples[c].SelectMany(s => s.StepMs));
                    var whole = StepTimer.Median(wholeOp[c].SelectMany(s => s.StepMs));
                    return new PruningTiming(c.Op, c.Batch, px, whole, own, whole / own);
                }).ToList()
                : null;
            List<TruncationTiming> truncation;
            using (first.Use())
                truncation = [.. configs.Where(c => c.Op != names[^1] && c.Precision == first)
                    .Select(c => TimeTruncation(model, c.Op, names[^1], c.Batch, px, n * rc))];
            var sweepEstimate = r.GetValue(sweep) ? EstimateSweep(model, r.GetValue(batches)!.Max(), px, w, r.GetValue(sweepSteps), first) : null;
            var naiveComparisons = reference is null ? null
                : chosen.Select(op => CompareWithNaive(model, reference, naiveWeights!, op, r.GetValue(batches)!.Max(), px, w, n, rc, r.GetValue(naiveSteps), r.GetValue(naiveThreads), first)).ToList();
            var profiles = r.GetValue(profile)
                ? chosen.Select(op => StepProfile.Measure(model, op, Units(model, op, r.GetValue(batches)!.Max()), px, w, n, first)).ToList()
                : null;

            var report = new BenchReport(model.Name + (model.RandomWeights ? " (random weights)" : ""), model.Device.ToString(), torch.ThreadCount, n, rc,
                stepTimings, truncation, pruningTimings, sweepEstimate, naiveComparisons, profiles);
            if (r.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(report, Json.Indented));
            else
            {
                Print(report);
                foreach (var p in profiles ?? []) StepProfile.Print(p, r.GetValue(peak));
            }
            return 0;
        }));
        return command;
    }

    /// <summary>Units 0..batch-1 of the op (wrapping round a small op).</summary>
    private static int[] Units(VisionModel model, string op, int batch)
    {
        var channels = model.Describe().Ops.First(o => o.Name == op).Channels;
        return [.. Enumerable.Range(0, batch).Select(i => i % channels)];
    }

    private static void Print(BenchReport report)
    {
        Console.WriteLine($"model {report.Model}, device {report.Device}, {report.Threads} threads, median of {report.Steps} timed steps x {report.Rounds} interleaved rounds per figure");
        Console.WriteLine("render step (Fourier image + transforms + forward to op + backward + Adam):");
        Console.WriteLine($"  {"op",-24} {"batch",5} {"size",5} {"conv",5} {"ms/step",9} {"in shim",9} {"binding overhead",17}");
        foreach (var t in report.RenderSteps)
            Console.WriteLine($"  {t.Op,-24} {t.Batch,5} {t.Size,5} {t.Precision.Name(),5} {t.MsPerStep,9:F2} {t.NativeMsPerStep,9:F2} {t.OverheadPercent,16:F2}%");
        Console.WriteLine("forward + backward, truncated at the op versus the full network:");
        Console.WriteLine($"  {"op",-24} {"batch",5} {"size",5} {"truncated ms",13} {"full ms",9} {"saving",7}");
        foreach (var t in report.Truncation)
            Console.WriteLine($"  {t.Op,-24} {t.Batch,5} {t.Size,5} {t.TruncatedMs,13:F2} {t.FullMs,9:F2} {t.SavingPercent,6:F1}%");
        if (report.Pruning is { } pruning)
        {
            Console.WriteLine("unit pruning (a channel objective computes only its units) versus the whole op:");
            Console.WriteLine($"  {"op",-24} {"batch",5} {"size",5} {"whole op ms",12} {"own units ms",13} {"speed-up",9}");
            foreach (var t in pruning)
                Console.WriteLine($"  {t.Op,-24} {t.Batch,5} {t.Size,5} {t.WholeOpMs,12:F2} {t.OwnUnitsMs,13:F2} {t.SpeedUp,8:F2}x");
        }
        if (report.Sweep is { } s)
        {
            Console.WriteLine($"full channel sweep, {s.Steps} steps, batch {s.Batch}, {s.Size} px: {s.Units} units in {s.Hours:F1} h = {s.UnitsPerHour:F0} units/hour on this device");
            foreach (var o in s.Ops)
                Console.WriteLine($"  {o.Op,-24} {o.Units,6} units {o.MsPerStep,9:F1} ms/step {o.Hours,8:F2} h");
        }
        if (report.Naive is { } naive)
        {
            Console.WriteLine("versus the naive PyTorch loop (tools/naive_reference.py: whole network, weight gradients), same weights, interleaved:");
            Console.WriteLine($"  naive loop threads: {naive[0].NaiveThreads} (ours: {report.Threads}, {naive[0].Precision.Name()} convolutions)");
            Console.WriteLine($"  {"op",-24} {"batch",5} {"size",5} {"naive ms",9} {"ms/step",9} {"speed-up",9} {"objective naive",16} {"objective ours",15}");
            foreach (var c in naive)
                Console.WriteLine($"  {c.Op,-24} {c.Batch,5} {c.Size,5} {c.NaiveMsPerStep,9:F1} {c.MsPerStep,9:F1} {c.SpeedUp,8:F2}x {c.NaiveObjective,16:F3} {c.Objective,15:F3}");
            Console.WriteLine($"  objective: mean activation of each image's unit after {naive[0].ObjectiveSteps} steps, both loops' images scored by the reference's PyTorch model");
        }
    }

    /// <summary>Every op of the channel sweep timed at one batch size; the sweep renders each op's
    /// units in batches of that size.</summary>
    private static SweepEstimate EstimateSweep(VisionModel model, int batch, int size, int warmup, int sweepSteps, Precision precision)
    {
        var swept = model.Describe().Ops.Where(o => o.InSweep).ToList();
        var ops = new List<SweepOp>();
        foreach (var op in swept)
        {
            var sample = StepTimer.Measure(model, new ChannelObjective(op.Name, Units(model, op.Name, batch)), batch, size, warmup, 3, precision);
            var ms = StepTimer.Median(sample.StepMs);
            var batchesOfOp = (op.Channels + batch - 1) / batch;
            ops.Add(new SweepOp(op.Name, op.Channels, ms, batchesOfOp * sweepSteps * ms / 3.6e6));
            Console.Error.WriteLine($"  sweep estimate: {op.Name} {ms:F0} ms/step");
        }
        var units = ops.Sum(o => o.Units);
        var hours = ops.Sum(o => o.Hours);
        return new SweepEstimate(batch, size, sweepSteps, units, hours, units / hours, ops);
    }

    /// <summary>The naive loop and ours alternate round by round on the same op, batch and weights;
    /// then both render the same number of steps and one model (the reference's) scores both.</summary>
    private static NaiveComparison CompareWithNaive(VisionModel model, NaiveLoop reference, string weights, string op, int batch, int size,
        int warmup, int steps, int rounds, int objectiveSteps, int naiveThreads, Precision precision)
    {
        var naiveMs = new List<double>();
        var ours = new List<double>();
        var objective = new ChannelObjective(op, Units(model, op, batch));
        for (var round = 0; round < rounds; round++)
        {
            naiveMs.Add(reference.Render(weights, op, batch, size, warmup, steps, naiveThreads).MsPerStepMedian);
            ours.Add(StepTimer.Median(StepTimer.Measure(model, objective, batch, size, warmup, steps, precision).StepMs));
            Console.Error.WriteLine($"  naive comparison {op}: round {round + 1}/{rounds}: naive {naiveMs[^1]:F0} ms/step, ours {ours[^1]:F0} ms/step");
        }
        var dir = Directory.CreateTempSubdirectory("microscope-bench-");
        try
        {
            var naiveImages = Path.Combine(dir.FullName, "naive.f32");
            var ourImages = Path.Combine(dir.FullName, "ours.f32");
            reference.Render(weights, op, batch, size, 0, objectiveSteps, naiveThreads, naiveImages);
            var rendered = Renderer.Render(model, objective, batch, new RenderParameters { Steps = objectiveSteps, Size = size, Seed = 0, Precision = precision });
            using (var f = File.Create(ourImages))
                foreach (var image in rendered.Images)
                    f.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(image.Pixels.AsSpan()));
            var naiveScore = reference.Score(weights, op, naiveImages, batch, size).Average();
            var ourScore = reference.Score(weights, op, ourImages, batch, size).Average();
            var n = StepTimer.Median(naiveMs);
            var o = StepTimer.Median(ours);
            // Our images scored by our engine: equal to the reference's score of them when the two
            // implementations compute the same network.
            var byEngine = rendered.Images.Average(i => i.ObjectiveEnd);
            return new NaiveComparison(op, batch, size, precision, reference.LastThreads, n, o, n / o, objectiveSteps, naiveScore, ourScore, byEngine);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
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
        var t = StepTimer.Median(truncated);
        var f = StepTimer.Median(full);
        return new TruncationTiming(op, batch, size, t, f, (f - t) / f * 100);
    }
}
