using System.Diagnostics;
using Microscope.Engine.Models;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Render;

/// <summary>One rendered image (CHW floats in [0, 1]) with its objective values.</summary>
public sealed record RenderedImage(
    int BatchIndex,
    float[] Pixels,
    int Size,
    double ObjectiveStart,
    double ObjectiveEnd,
    float[] Trajectory,
    IReadOnlyDictionary<int, float[]> Snapshots,
    float[]? Latent = null);

public sealed record RenderResult(IReadOnlyList<RenderedImage> Images, double MsPerStep, double TotalMs, int Steps);

/// <summary>The optimisation loop: parameterised image → transforms → model up to the
/// objective's ops → objective → Adam step. Seeded and deterministic on one machine. For a
/// generator (<see cref="VisionModel.Latent"/>) the parameterisation is its latent
/// (<see cref="LatentCode"/>) under the prior's penalty, with no transforms; the picture is
/// the generator's image.</summary>
public static class Renderer
{
    /// <param name="companions">Fixed images (K, 3, Size, Size) appended to the batch before the
    /// transforms every step (the real images of a caricature); never optimised.</param>
    /// <param name="seeds">Each batch index's (unit, image of the unit), which seeds its starting
    /// image (<see cref="ImageSeeds"/>); by default (<see cref="ImageSeeds.NoUnit"/>, index).</param>
    public static RenderResult Render(VisionModel model, Objective objective, int batch, RenderParameters p,
        IProgress<int>? progress = null, CancellationToken cancel = default, Tensor? companions = null,
        IReadOnlyList<(int Unit, int Image)>? seeds = null)
    {
        var problems = p.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));
        if (batch < 1) throw new ArgumentException($"batch must be at least 1, not {batch}");

        if (seeds is not null && seeds.Count != batch) throw new ArgumentException($"{seeds.Count} image seeds for a batch of {batch}");
        using var precision = p.Precision.Use();
        if (model.Latent is { } latent)
        {
            if (companions is not null) throw new ArgumentException($"model '{model.Name}' takes a latent vector: no input images can ride along");
            return RenderLatent(model, latent, objective, batch, p, progress, cancel, seeds);
        }
        var rng = new Random(ImageSeeds.Transforms(p.Seed));
        var device = model.Device;
        var trajectory = new float[batch][];
        for (var b = 0; b < batch; b++) trajectory[b] = new float[p.Steps];
        var snapshots = new Dictionary<int, float[]>[batch];
        for (var b = 0; b < batch; b++) snapshots[b] = [];
        var thresholds = new HashSet<int>(p.Thresholds);

        var imageRngs = Enumerable.Range(0, batch)
            .Select(b => new Random(seeds is null ? ImageSeeds.Of(p.Seed, ImageSeeds.NoUnit, b) : ImageSeeds.Of(p.Seed, seeds[b].Unit, seeds[b].Image)))
            .ToList();
        using var image = new FourierImage(batch, p.Size, p.Size, imageRngs, device, p.InitStd, p.Decay);
        using var adam = new torch.optim.Adam([image.Spectrum], p.LearningRate);
        var start = Evaluate(model, objective, image, companions);

        var clock = Stopwatch.StartNew();
        for (var step = 1; step <= p.Steps; step++)
        {
            cancel.ThrowIfCancellationRequested();
            using (torch.NewDisposeScope())
            {
                adam.zero_grad();
                StepPhases.Begin(device);
                var pixels = WithCompanions(image.Image(), companions);
                StepPhases.Mark("parameterisation");
                var x = p.Transforms ? TransformStack.Apply(TransformStack.Standard, pixels, rng) : pixels;
                StepPhases.Mark("transforms");
                var input = ModelInput(model, x);
                StepPhases.Mark("upsample + preprocessing");
                var values = Values(model, objective, input);
                StepPhases.Mark("forward");
                var loss = -values.sum();
                loss.backward();
                StepPhases.Mark("backward");
                adam.step();
                StepPhases.Mark("optimiser");
                var v = values.data<float>();
                StepPhases.Mark("host copy");
                for (var b = 0; b < batch; b++) trajectory[b][step - 1] = v[b];
            }
            if (thresholds.Contains(step) && step != p.Steps)
            {
                var snap = Pixels(image);
                for (var b = 0; b < batch; b++) snapshots[b][step] = snap[b];
            }
            progress?.Report(step);
        }
        if (device.Type == DeviceType.CUDA) torch.cuda.synchronize(device);
        var elapsed = clock.Elapsed.TotalMilliseconds;

        var end = Evaluate(model, objective, image, companions);
        var final = Pixels(image);
        var images = Enumerable.Range(0, batch)
            .Select(b => new RenderedImage(b, final[b], p.Size, start[b], end[b], trajectory[b], snapshots[b]))
            .ToList();
        return new RenderResult(images, elapsed / p.Steps, elapsed, p.Steps);
    }

    /// <summary>The settings a render of <paramref name="model"/> applies: <paramref name="given"/>
    /// for an image model, <see cref="LatentCode.Applied"/> for a generator.</summary>
    public static RenderParameters Applied(VisionModel model, RenderParameters given) =>
        model.Latent is null ? given : LatentCode.Applied(given);

    /// <summary>A generator's render: Adam on the latents, maximising the objective minus
    /// the prior's weighted penalty; the objective values reported are the objective's alone.</summary>
    private static RenderResult RenderLatent(VisionModel model, LatentInput latent, Objective objective, int batch, RenderParameters p,
        IProgress<int>? progress, CancellationToken cancel, IReadOnlyList<(int Unit, int Image)>? seeds)
    {
        var rngs = Enumerable.Range(0, batch)
            .Select(b => new Random(seeds is null ? ImageSeeds.Of(p.Seed, ImageSeeds.NoUnit, b) : ImageSeeds.Of(p.Seed, seeds[b].Unit, seeds[b].Image)))
            .ToList();
        using var code = new LatentCode(latent, rngs, model.Device);
        using var adam = new torch.optim.Adam([code.Latents], p.LearningRate);
        var trajectory = Enumerable.Range(0, batch).Select(_ => new float[p.Steps]).ToArray();
        var snapshots = Enumerable.Range(0, batch).Select(_ => new Dictionary<int, float[]>()).ToArray();
        var thresholds = new HashSet<int>(p.Thresholds);
        double[] Objective()
        {
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            return Values(model, objective, code.Latents).data<float>().Select(v => (double)v).ToArray();
        }
        var start = Objective();

        var clock = Stopwatch.StartNew();
        for (var step = 1; step <= p.Steps; step++)
        {
            cancel.ThrowIfCancellationRequested();
            using (torch.NewDisposeScope())
            {
                adam.zero_grad();
                var values = Values(model, objective, code.Latents);
                var loss = latent.PriorWeight * code.PriorPenalty().sum() - values.sum();
                loss.backward();
                adam.step();
                var v = values.data<float>();
                for (var b = 0; b < batch; b++) trajectory[b][step - 1] = v[b];
            }
            if (thresholds.Contains(step) && step != p.Steps)
            {
                var snap = code.Pixels(model, p.Size);
                for (var b = 0; b < batch; b++) snapshots[b][step] = snap[b];
            }
            progress?.Report(step);
        }
        if (model.Device.Type == DeviceType.CUDA) torch.cuda.synchronize(model.Device);
        var elapsed = clock.Elapsed.TotalMilliseconds;

        var end = Objective();
        var final = code.Pixels(model, p.Size);
        float[][] latents;
        using (torch.no_grad())
        {
            var all = code.Latents.data<float>();
            latents = Enumerable.Range(0, batch).Select(b => all.AsSpan(b * latent.Size, latent.Size).ToArray()).ToArray();
        }
        var images = Enumerable.Range(0, batch)
            .Select(b => new RenderedImage(b, final[b], p.Size, start[b], end[b], trajectory[b], snapshots[b], latents[b]))
            .ToList();
        return new RenderResult(images, elapsed / p.Steps, elapsed, p.Steps);
    }

    /// <summary>Upsamples to the model's input size when smaller (bilinear, as lucent),
    /// then applies the model's preprocessing.</summary>
    public static Tensor ModelInput(VisionModel model, Tensor rgb)
    {
        var s = rgb.shape;
        using var sized = s[2] < model.InputSize || s[3] < model.InputSize
            ? F.interpolate(rgb, (model.InputSize, model.InputSize), align_corners: true)
            : null;
        return model.Preprocessing.Apply(sized ?? rgb);
    }

    /// <summary>The objective per batch index on the untransformed images.</summary>
    public static double[] Evaluate(VisionModel model, Objective objective, FourierImage image, Tensor? companions = null)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var pixels = WithCompanions(image.Image(), companions);
        return Evaluate(model, objective, pixels);
    }

    private static Tensor WithCompanions(Tensor pixels, Tensor? companions) =>
        companions is null ? pixels : torch.cat([pixels, companions], 0);

    /// <summary>The objective per batch index on given RGB images (B, 3, H, W) in [0, 1].</summary>
    public static double[] Evaluate(VisionModel model, Objective objective, Tensor rgb)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var values = Values(model, objective, ModelInput(model, rgb));
        return values.data<float>().Select(v => (double)v).ToArray();
    }

    /// <summary>The objective per batch index on a preprocessed batch. A unit objective (channel,
    /// neuron) reads one unit per image, so the model computes only those units
    /// (<see cref="VisionModel.ForwardUnits"/>); any other objective gets its ops whole.</summary>
    public static Tensor Values(VisionModel model, Objective objective, Tensor input)
    {
        if (objective is UnitObjective unit)
        {
            using var own = model.ForwardUnits(input, unit.Op, unit.UnitsFor((int)input.size(0)));
            return unit.EvaluateOwnUnits(own);
        }
        return objective.Evaluate(model.Forward(input, objective.Ops.Select(model.ResolveOp).ToList()));
    }

    private static float[][] Pixels(FourierImage image)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var all = image.Image().data<float>();
        var per = all.Length / image.Batch;
        return Enumerable.Range(0, image.Batch).Select(b => all.AsSpan(b * per, per).ToArray()).ToArray();
    }
}
