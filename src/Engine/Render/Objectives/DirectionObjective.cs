using Microscope.Engine.Torch;

namespace Microscope.Engine.Render.Objectives;

/// <summary>direction(op, v): the dot product of v with the op's spatial-mean activation,
/// Σ_c v[c] · mean_xy act[b, c, y, x] (lucid's <c>direction</c>, on the channel means). Linear:
/// a one-hot v is channel(op, c). The vector is used as given (not normalised), so its length
/// weighs it against the other terms of a sum.</summary>
public sealed class DirectionObjective(string op, IReadOnlyList<double> vector) : Objective
{
    public string Op { get; } = op;
    public IReadOnlyList<double> Vector { get; } = vector.Count > 0 ? vector : throw new ArgumentException("empty direction");
    public override IReadOnlyCollection<string> Ops => [Op];

    public override Tensor Evaluate(IReadOnlyDictionary<string, Tensor> activations)
    {
        var act = activations[Op];
        var channels = act.size(1);
        if (channels != Vector.Count) throw new ArgumentException($"the direction over '{Op}' has {Vector.Count} numbers; the op has {channels} channels");
        using var perChannel = act.dim() == 2 ? act.reshape(act.size(0), channels) : act.mean([2, 3]);
        using var v = torch.tensor(Vector.Select(x => (float)x).ToArray(), [channels, 1], act.device);
        using var dot = perChannel.matmul(v);
        return dot.reshape(act.size(0));
    }

    public override string Describe() => $"direction({Op}, [{Vector.Count} numbers])";
}
