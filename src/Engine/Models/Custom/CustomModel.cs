namespace Microscope.Engine.Models.Custom;

/// <summary>A model built from a <see cref="ModelSpec"/> with the same layer helpers as the
/// zoo's architectures, so truncation, receptive fields and every technique work on it.</summary>
public sealed class CustomModel : VisionModel
{
    private readonly HashSet<string> _outsideSweep;

    public ModelSpec Spec { get; }
    public override string Name => Spec.Name;
    public override string Dataset => Spec.Dataset.Length > 0 ? Spec.Dataset : "(not given)";
    public override int InputSize => Spec.InputSize;
    public override Preprocessing Preprocessing { get; }

    public CustomModel(ModelSpec spec)
    {
        var channels = spec.Validated();
        Spec = spec;
        Preprocessing = spec.Preprocessing.ToPreprocessing();
        _outsideSweep = spec.Layers.Where(l => l.Op && !l.Sweep).Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var l in spec.Layers)
        {
            var input = l.Input ?? "";
            var inChannels = l.Sources.Count > 0 ? channels[l.Sources[0]] : 0;
            switch (l.Type)
            {
                case "conv": Conv(l.Name, input, inChannels, l.Out!.Value, l.Kernel!.Value, l.Stride, l.Padding, l.Groups, l.Bias, relu: false, op: l.Op); break;
                case "linear": Linear(l.Name, input, l.In ?? inChannels, l.Out!.Value, relu: false, op: l.Op); break;
                case "batchnorm": BatchNorm(l.Name, input, inChannels, l.Eps, scale: l.Scale, op: l.Op); break;
                case "relu": Relu(l.Name, input, op: l.Op); break;
                case "maxpool": Visible(MaxPool(l.Name, input, l.Kernel!.Value, l.Stride, l.Padding, l.Ceil), l); break;
                case "avgpool": Visible(AvgPool(l.Name, input, l.Kernel!.Value, l.Stride, l.Padding, l.Ceil, l.CountIncludePad), l); break;
                case "globalavgpool": Visible(GlobalAvgPool(l.Name, input), l); break;
                case "lrn": Visible(Lrn(l.Name, input, l.Size!.Value, l.Alpha, l.Beta, l.K), l); break;
                case "add": AddAll(l); break;
                case "concat": Concat(l.Name, [.. l.Inputs!], op: l.Op); break;
            }
        }
    }

    /// <summary>The layers and preprocessing are part of the version, not only the weights.</summary>
    protected override string VersionOf(string weightsHash) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(weightsHash + "/" + Spec.ContentHash)))[..12];

    protected override bool InChannelSweep(string op) => !_outsideSweep.Contains(op);

    private void Visible(string node, LayerSpec l)
    {
        if (l.Op) Graph.MarkOp(node);
    }

    /// <summary>A sum of two or more layers, as a chain of pairwise sums named after the layer.</summary>
    private void AddAll(LayerSpec l)
    {
        var inputs = l.Inputs!;
        var sum = inputs[0];
        for (var i = 1; i < inputs.Count; i++)
            sum = Sum(i == inputs.Count - 1 ? l.Name : $"{l.Name}#{i}", sum, inputs[i], op: i == inputs.Count - 1 && l.Op);
    }
}
