using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;

namespace Microscope.Cli.Bench;

/// <summary>`microscope bench --profile`: where one render step's time goes, by phase (Fourier
/// image, transforms, forward, backward, optimiser, host copy) and by layer (each node's forward
/// time and multiply-adds), with the GFLOP/s the step achieves: forward multiply-adds x 2 FLOPs,
/// twice over (the backward pass to the input costs about as much as the forward).</summary>
public static class StepProfile
{
    public sealed record Phase(string Name, double Ms, double Percent);
    public sealed record Layer(string Node, double ForwardMs, double GFlop, double GFlopPerSecond);
    public sealed record Report(string Op, int Batch, int Size, double StepMs, double StepGFlop, double GFlopPerSecond,
        IReadOnlyList<Phase> Phases, IReadOnlyList<Layer> Layers);

    public static Report Measure(VisionModel model, string op, int[] units, int size, int warmup, int steps, Precision precision = Precision.Fp32)
    {
        var phases = new StepPhases();
        var nodes = new List<ModelGraph.NodeTime>();
        IDisposable? collecting = null;
        var p = new RenderParameters { Steps = warmup + steps, Size = size, Seed = 0, Precision = precision };
        try
        {
            Renderer.Render(model, new ChannelObjective(op, units), units.Length, p, new SyncProgress<int>(step =>
            {
                if (step == warmup) collecting = new Both(StepPhases.Collect(phases), ModelGraph.ProfileNodes(nodes));
                if (step == warmup + steps) collecting?.Dispose();
            }));
        }
        finally
        {
            collecting?.Dispose();
        }
        var phaseMs = phases.Phases.Select(ph => (ph.Phase, Ms: StepTimer.Median(ph.Ms))).ToList();
        var stepMs = phaseMs.Sum(ph => ph.Ms);
        var layers = nodes.GroupBy(n => n.Node)
            .Select(g => new Layer(g.Key, g.Sum(n => n.Ms) / steps, g.Sum(n => n.Macs) * 2 / 1e9 / steps, 0))
            .Select(l => l with { GFlopPerSecond = l.ForwardMs > 0 ? l.GFlop / (l.ForwardMs / 1e3) : 0 })
            .ToList();
        var stepGFlop = 2 * layers.Sum(l => l.GFlop);
        return new Report(op, units.Length, size, stepMs, stepGFlop, stepGFlop / (stepMs / 1e3),
            [.. phaseMs.Select(ph => new Phase(ph.Phase, ph.Ms, ph.Ms / stepMs * 100))], layers);
    }

    public static void Print(Report r, double? peakGFlops)
    {
        var peak = peakGFlops is double pk ? $" = {r.GFlopPerSecond / pk * 100:F0}% of the {pk:F0} GFLOP/s peak" : "";
        Console.WriteLine($"profile {r.Op}, batch {r.Batch}, {r.Size} px: {r.StepMs:F1} ms/step, ~{r.StepGFlop:F1} GFLOP (forward x 2), {r.GFlopPerSecond:F0} GFLOP/s{peak}");
        foreach (var ph in r.Phases)
            Console.WriteLine($"  {ph.Name,-26} {ph.Ms,8:F1} ms {ph.Percent,5:F1}%");
        Console.WriteLine($"  {"layer (forward only)",-40} {"ms",8} {"GFLOP",7} {"GFLOP/s",8}");
        foreach (var l in r.Layers)
            Console.WriteLine($"  {l.Node,-40} {l.ForwardMs,8:F2} {l.GFlop,7:F2} {(l.GFlop > 0 ? l.GFlopPerSecond.ToString("F0") : "-"),8}");
    }

    private sealed class Both(IDisposable a, IDisposable b) : IDisposable
    {
        public void Dispose()
        {
            b.Dispose();
            a.Dispose();
        }
    }
}
