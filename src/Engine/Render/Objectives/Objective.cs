using Microscope.Engine.Torch;

namespace Microscope.Engine.Render.Objectives;

/// <summary>What a render maximises. <see cref="Evaluate"/> returns one value per batch
/// index (shape (B)), so each image in a batch can serve a different unit; the loss is
/// minus their sum. Objectives compose: a + b, k * a, -a.</summary>
public abstract class Objective
{
    /// <summary>The ops whose activations the objective reads (the forward stops at the last).</summary>
    public abstract IReadOnlyCollection<string> Ops { get; }

    public abstract Tensor Evaluate(IReadOnlyDictionary<string, Tensor> activations);

    public abstract string Describe();
    public override string ToString() => Describe();

    public static Objective operator +(Objective a, Objective b) => new SumObjective(a, b);
    public static Objective operator -(Objective a, Objective b) => new SumObjective(a, new WeightedObjective(-1, b));
    public static Objective operator *(double weight, Objective a) => new WeightedObjective(weight, a);
    public static Objective operator *(Objective a, double weight) => new WeightedObjective(weight, a);
    public static Objective operator -(Objective a) => new WeightedObjective(-1, a);
}

public sealed class SumObjective(Objective a, Objective b) : Objective
{
    public override IReadOnlyCollection<string> Ops { get; } = a.Ops.Union(b.Ops, StringComparer.Ordinal).ToList();
    public override Tensor Evaluate(IReadOnlyDictionary<string, Tensor> activations)
    {
        using var x = a.Evaluate(activations);
        using var y = b.Evaluate(activations);
        return x + y;
    }
    public override string Describe() => $"({a.Describe()} + {b.Describe()})";
}

public sealed class WeightedObjective(double weight, Objective inner) : Objective
{
    public override IReadOnlyCollection<string> Ops => inner.Ops;
    public override Tensor Evaluate(IReadOnlyDictionary<string, Tensor> activations)
    {
        using var x = inner.Evaluate(activations);
        return x * weight;
    }
    public override string Describe() => weight == -1 ? $"-{inner.Describe()}" : $"{weight} * {inner.Describe()}";
}

/// <summary>Shared by unit objectives: which unit each batch index maximises.</summary>
public abstract class UnitObjective(string op, IReadOnlyList<int> units) : Objective
{
    public string Op { get; } = op;
    /// <summary>One unit per batch index (or a single unit for every index).</summary>
    public IReadOnlyList<int> Units { get; } = units.Count > 0 ? units : throw new ArgumentException("no unit given");
    public override IReadOnlyCollection<string> Ops => [Op];

    /// <summary>The per-channel value this objective takes from an op's activation: (B, C, ...) →
    /// (B, C), e.g. the mean over space.</summary>
    protected abstract Tensor PerChannel(Tensor activation);

    public override Tensor Evaluate(IReadOnlyDictionary<string, Tensor> activations)
    {
        using var perChannel = PerChannel(activations[Op]);
        return PickUnits(perChannel);
    }

    /// <summary>The same values from the op's activation already restricted to each image's own
    /// unit ((B, 1, ...), <see cref="Models.VisionModel.ForwardUnits"/>).</summary>
    public Tensor EvaluateOwnUnits(Tensor ownUnits)
    {
        using var perChannel = PerChannel(ownUnits);
        return perChannel.reshape(perChannel.size(0));
    }

    /// <summary>One unit per batch index, the single unit repeated when one is given.</summary>
    public IReadOnlyList<int> UnitsFor(int batch)
    {
        if (Units.Count != 1 && Units.Count != batch)
            throw new ArgumentException($"{Units.Count} units for a batch of {batch}");
        return Units.Count == batch ? Units : Enumerable.Repeat(Units[0], batch).ToList();
    }

    /// <summary>Picks, for each batch index b, column units[b] of a (B, C) tensor.</summary>
    protected Tensor PickUnits(Tensor perChannel)
    {
        var batch = (int)perChannel.size(0);
        var index = UnitsFor(batch).Select(u => (long)u).ToArray();
        Models.ModelGraph.RequireUnits(Op, perChannel.size(1), index);
        using var idx = torch.tensor(index, [batch, 1], perChannel.device);
        using var picked = perChannel.gather(1, idx);
        return picked.reshape(batch);
    }
}
