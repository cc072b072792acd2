using Microscope.Engine.Torch;

namespace Microscope.Engine.Render.Objectives;

/// <summary>diversity(op): -(1/B) Σ_{i≠j} cos(G_i, G_j), G_b the C x C Gram matrix of act[b]
/// flattened over space (lucid's objectives.diversity, negated so that it is maximised).
/// The batch is split into consecutive groups of <paramref name="groupSize"/> images (one
/// group per unit) and the images of a group are pushed apart from each other only.
/// Returns each image's share, -(1/B) Σ_{j≠b} cos(G_b, G_j), so the sum over b is the objective.</summary>
public sealed class DiversityObjective(string op, int groupSize) : Objective
{
    public string Op { get; } = op;
    public int GroupSize { get; } = groupSize >= 2 ? groupSize : throw new ArgumentException("diversity needs at least 2 images per unit");
    public override IReadOnlyCollection<string> Ops => [Op];

    public override Tensor Evaluate(IReadOnlyDictionary<string, Tensor> activations)
    {
        var act = activations[Op];
        var s = act.shape;
        var (batch, channels) = (s[0], s[1]);
        if (batch % GroupSize != 0) throw new ArgumentException($"batch {batch} is not a multiple of the diversity group size {GroupSize}");
        var groups = batch / GroupSize;
        using var flat = act.reshape(batch, channels, -1);                 // (B, C, HW)
        using var flatT = flat.transpose(1, 2);                            // (B, HW, C)
        using var gram = flat.matmul(flatT);                               // (B, C, C)
        using var gramFlat = gram.reshape(batch, channels * channels);
        using var norm = gramFlat.square().sum([1], keepdim: true).sqrt() + 1e-10;
        using var unit = gramFlat / norm;                                  // l2-normalised Gram
        using var grouped = unit.reshape(groups, GroupSize, channels * channels);
        using var groupedT = grouped.transpose(1, 2);
        using var cos = grouped.matmul(groupedT);                          // (G, N, N) cosines
        using var rowSums = cos.sum([2]);                                  // Σ_j cos(G_b, G_j), j = b included
        using var self = unit.square().sum([1]).reshape(groups, GroupSize); // cos(G_b, G_b) = 1
        using var others = rowSums - self;
        using var perImage = others.reshape(batch);
        return perImage * (-1.0 / GroupSize);
    }

    public override string Describe() => $"diversity({Op}, groups of {GroupSize})";
}
