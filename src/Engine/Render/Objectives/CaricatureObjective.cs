using Microscope.Engine.Torch;

namespace Microscope.Engine.Render.Objectives;

/// <summary>caricature(op, image): dot(act(x), act(image)) x max(cossim(act(x), act(image)), 0.1)^p.
/// As in lucid's caricature recipe the real images ride in the same batch as the rendered
/// ones (indices B..2B-1, see <see cref="Renderer"/>'s companions), so both get the same
/// transforms every step; they are constants, so their activations are never optimised.</summary>
public sealed class CaricatureObjective(string op, double cossimPower = 0) : Objective
{
    public string Op { get; } = op;
    public double CossimPower { get; } = cossimPower;
    public override IReadOnlyCollection<string> Ops => [Op];

    public override Tensor Evaluate(IReadOnlyDictionary<string, Tensor> activations)
    {
        var act = activations[Op];
        var total = act.size(0);
        if (total % 2 != 0) throw new ArgumentException("caricature needs each rendered image followed by its real image companion");
        var batch = total / 2;
        using var rendered = act.narrow(0, 0, batch).flatten(1);
        using var realActs = act.narrow(0, batch, batch).detach().flatten(1);
        using var product = rendered * realActs;
        using var dot = product.sum([1]);
        if (CossimPower == 0) return dot.clone();
        using var normX = rendered.square().sum([1]).sqrt();
        using var normY = realActs.square().sum([1]).sqrt();
        using var denominator = normX * normY + 1e-8;
        using var cos = dot / denominator;
        using var floor = torch.full([batch], 0.1, device: act.device);
        using var clipped = cos.maximum(floor);
        using var weight = clipped.pow(CossimPower);
        return dot * weight;
    }

    public override string Describe() => $"caricature({Op}, p={CossimPower})";
}
