using Microscope.Engine.Models;
using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Render;

/// <summary>The parameterisation of a generator's renders: the latents themselves, one per
/// image, each drawn from the standard normal prior by its own generator (seeded like
/// <see cref="ImageSeeds"/>, so packing does not change it) and optimised directly; the
/// picture is the generator's image of the latent.</summary>
public sealed class LatentCode : IDisposable
{
    private readonly LatentInput _latent;

    /// <summary>The learnable latents (B, ...<see cref="LatentInput.Shape"/>).</summary>
    public Tensor Latents { get; }
    public int Batch { get; }

    /// <summary>The starting latents' standard deviation: the standard normal prior's.</summary>
    public const double InitStd = 1.0;

    /// <summary>The settings a generator's render applies, whatever was given: no image
    /// transforms (the objective is on the generator's own layers), the prior's
    /// <see cref="InitStd"/>, and decay 0 (a latent has no Fourier spectrum to scale). What a
    /// render's record shows; the rest (steps, size, seed, learning rate, precision,
    /// thresholds) applies as given.</summary>
    public static RenderParameters Applied(RenderParameters given) => given with { Transforms = false, InitStd = InitStd, Decay = 0 };

    public LatentCode(LatentInput latent, IReadOnlyList<Random> rngs, Device device)
    {
        _latent = latent;
        Batch = rngs.Count;
        using var scope = torch.NewDisposeScope();
        var perImage = rngs.Select(r => torch.randn([1, .. latent.Shape], r, InitStd, device)).ToList();
        Latents = (Batch == 1 ? perImage[0].clone() : torch.cat(perImage, 0)).requires_grad_();
        scope.MoveToOuter(Latents);
    }

    /// <summary>The prior's penalty per image (B): the negative log-likelihood of the latent's
    /// radius r under the standard normal, r²/2 - (Z - 1) log r (a chi distribution with Z
    /// degrees of freedom), smallest at r = sqrt(Z - 1): the shell where a generator's training
    /// latents lie. Unlike the Gaussian's own NLL (|z|²/2, smallest at 0) it does not pull the
    /// latent to the origin, which a generator never saw.</summary>
    public Tensor PriorPenalty()
    {
        using var flat = Latents.reshape(Batch, -1);
        using var squares = flat * flat;
        using var r2 = squares.sum([1]);
        using var half = r2 * 0.5;
        using var logR2 = r2.log();
        using var logR = logR2 * (0.5 * (_latent.Size - 1));
        return half - logR;
    }

    /// <summary>Each latent's Euclidean norm.</summary>
    public float[] Norms()
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var flat = Latents.reshape(Batch, -1);
        return (flat * flat).sum([1]).sqrt().data<float>();
    }

    /// <summary>The generated images in [0, 1], resized (bilinear) to <paramref name="size"/>
    /// pixels when the generator makes another size, one CHW float array per image.</summary>
    public float[][] Pixels(VisionModel model, int size)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var image = model.Generate(Latents);
        if (image.size(1) == 1) image = torch.cat([image, image, image], 1);
        if (image.size(2) != size || image.size(3) != size) image = F.interpolate(image, (size, size)).clamp(0, 1);
        var all = image.data<float>();
        var per = all.Length / Batch;
        return Enumerable.Range(0, Batch).Select(b => all.AsSpan(b * per, per).ToArray()).ToArray();
    }

    public void Dispose() => Latents.Dispose();
}
