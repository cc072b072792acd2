namespace Microscope.Engine.Models;

/// <summary>A model whose input is a latent vector, not an image (a GAN generator or a
/// decoder): the shape of one latent (<c>[Z]</c> or <c>[Z, 1, 1]</c>), its prior, the graph
/// node whose output is the generated image, and that image's value range (mapped to 0..1 pixels).
/// Renders optimise the latent itself under the prior (docs/models.md, "Generators").</summary>
/// <param name="PriorWeight">Weight of the prior's penalty: the negative log-likelihood of the
/// latent's radius under a standard normal (a chi distribution with Z degrees of freedom),
/// which keeps the latent's norm near sqrt(Z - 1), where the generator's training put its latents.</param>
public sealed record LatentInput(long[] Shape, string Prior, double PriorWeight, string ImageNode, double Low, double High)
{
    public const string NormalPrior = "normal";
    public const double DefaultPriorWeight = 1.0;

    /// <summary>Numbers in one latent (Z).</summary>
    public int Size => (int)Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>"latent [16, 1, 1], normal prior (weight 1), image 'Tanh' in [-1, 1]".</summary>
    public string Describe() =>
        $"latent [{string.Join(", ", Shape)}], {Prior} prior (weight {PriorWeight:G4}), image '{ImageNode}' in [{Low:G4}, {High:G4}]";
}
