using Microscope.Engine.Imaging;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Lenses;

/// <summary>The single render path of optimised lenses (channel, neuron, diversity, deepdream,
/// caricature and any new one): one batch through <see cref="Renderer"/>, each image seeded by
/// its (unit, image) so packing does not change pixels, then per result its PNGs (plus one per
/// threshold snapshot, ".step{N}" before ".png") and its record in the one format.</summary>
public static class LensRender
{
    /// <summary><paramref name="perUnit"/> images for each of the run's units, in one batch.</summary>
    public static IReadOnlyList<LensResult> UnitImages(LensRun run, ObjectiveLens lens, int perUnit)
    {
        var perImage = run.Units.SelectMany(u => Enumerable.Repeat(u, perUnit)).ToList();
        var seeds = run.Units.SelectMany(u => Enumerable.Range(0, perUnit).Select(j => (u, j))).ToList();
        var objective = lens.Objective(run.Op.Name, perImage, perImage.Count, run.Arguments);
        var result = Renderer.Render(run.Model, objective, perImage.Count, run.Parameters, Steps(run), run.Cancel, seeds: seeds);
        return run.Units.Select((u, i) => Result(run, lens, u, objective, result, result.Images.Skip(i * perUnit).Take(perUnit).ToList())).ToList();
    }

    /// <summary>One result for the whole op from <paramref name="images"/> images; companions
    /// (fixed images riding in the batch, a caricature's inputs) as in <see cref="Renderer"/>.</summary>
    public static LensResult OpImages(LensRun run, ObjectiveLens lens, Objective objective, int images, Tensor? companions = null)
    {
        var seeds = Enumerable.Range(0, images).Select(j => (ImageSeeds.NoUnit, j)).ToList();
        var result = Renderer.Render(run.Model, objective, images, run.Parameters, Steps(run), run.Cancel, companions, seeds);
        return Result(run, lens, null, objective, result, result.Images);
    }

    private static LensResult Result(LensRun run, ObjectiveLens lens, int? unit, Objective objective, RenderResult result, IReadOnlyList<RenderedImage> images)
    {
        var names = lens.Files(run.Arguments);
        if (names.Count != images.Count) throw new InvalidOperationException($"lens {lens.Name} names {names.Count} files for {images.Count} images");
        var files = new List<LensOutput>();
        for (var i = 0; i < images.Count; i++)
        {
            var img = images[i];
            files.Add(new LensOutput(unit, names[i].Suffix, "image/png", ImageFile.EncodePng(img.Pixels, img.Size, img.Size)));
            foreach (var (step, pixels) in img.Snapshots.OrderBy(s => s.Key))
                files.Add(new LensOutput(unit, SnapshotSuffix(names[i].Suffix, step), "image/png", ImageFile.EncodePng(pixels, img.Size, img.Size)));
        }
        var steps = result.Steps;
        var mean = new float[images.Count == 0 ? 0 : steps];
        foreach (var img in images)
            for (var s = 0; s < mean.Length; s++) mean[s] += img.Trajectory[s] / images.Count;
        var record = run.Record(lens, unit) with
        {
            Objective = objective.Describe(),
            ObjectiveStart = images.Average(i => i.ObjectiveStart),
            ObjectiveEnd = images.Average(i => i.ObjectiveEnd),
            MsPerStep = result.MsPerStep,
            TotalMs = result.TotalMs,
            Trajectory = mean,
            Images = images.Select((img, i) => new LensImageRecord(names[i].Suffix, img.ObjectiveStart, img.ObjectiveEnd, img.Trajectory, img.Latent)).ToList(),
            Files = files.Select(f => f.Suffix).ToList(),
        };
        return new LensResult(unit, files, record);
    }

    /// <summary>"-1.png" after 64 steps is "-1.step64.png".</summary>
    public static string SnapshotSuffix(string suffix, int step) =>
        suffix.EndsWith(".png", StringComparison.Ordinal) ? $"{suffix[..^4]}.step{step}.png" : $"{suffix}.step{step}";

    private static IProgress<int>? Steps(LensRun run) =>
        run.Progress is null ? null : new Relay<int>(s => run.Progress.Report((double)s / run.Parameters.Steps));

    internal sealed class Relay<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
