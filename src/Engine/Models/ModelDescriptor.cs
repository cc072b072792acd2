namespace Microscope.Engine.Models;

/// <summary>One op: a named layer output, its units (channels), its spatial size at the
/// model's input size, the ops that feed it (edges of the op graph), and whether a full
/// channel sweep covers it, and the other names it answers to (Microscope's <c>_0</c> and
/// flattened TensorFlow names, ONNX node names; null in descriptors stored before aliases).</summary>
public sealed record OpInfo(string Name, int Channels, int Height, int Width, IReadOnlyList<string> Inputs, bool InSweep = true,
    IReadOnlyList<string>? Aliases = null);

/// <summary>What the catalogue, the CLI and the viewer know about a model; <paramref name="Latent"/>
/// is set for a generator (its input a latent vector) and left out of the JSON otherwise.</summary>
public sealed record ModelDescriptor(
    string Name,
    string Dataset,
    int InputSize,
    string Preprocessing,
    IReadOnlyList<OpInfo> Ops,
    long ParameterCount,
    string? Version,
    bool RandomWeights,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    LatentInput? Latent = null)
{
    /// <summary>Channel units a full sweep renders (ops outside the sweep excluded).</summary>
    public long UnitCount => Ops.Where(o => o.InSweep).Sum(o => (long)o.Channels);

    /// <summary>The op a name or alias means, the one rule the API, the viewer and the CLI share:
    /// the exact name, then an alias the model gives (the long Microscope names such as
    /// <c>InceptionV3_InceptionV3_Mixed_5d_concat_0</c>, <c>conv5_4_conv5_4_0</c>,
    /// <c>inception_4c/output</c>), then the name or alias in any case; for descriptors stored
    /// before they carried aliases, <c>name_0</c>, and ops whose names hold slashes by the
    /// name with underscores (<c>block2_unit_3_add</c>). Null when none matches.</summary>
    public OpInfo? FindOp(string name)
    {
        var bare = name.EndsWith("_0", StringComparison.Ordinal) ? name[..^2] : null;
        return Ops.FirstOrDefault(o => o.Name == name)
            ?? Ops.FirstOrDefault(o => o.Aliases?.Contains(name, StringComparer.Ordinal) == true)
            ?? Ops.FirstOrDefault(o => string.Equals(o.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? Ops.FirstOrDefault(o => o.Aliases?.Contains(name, StringComparer.OrdinalIgnoreCase) == true)
            ?? (bare is null ? null : Ops.FirstOrDefault(o => string.Equals(o.Name, bare, StringComparison.OrdinalIgnoreCase)))
            ?? Ops.FirstOrDefault(o => o.Name.Contains('/', StringComparison.Ordinal) && (Flat(o.Name, name) || (bare is not null && Flat(o.Name, bare))));
    }

    private static bool Flat(string op, string name) => string.Equals(op.Replace('/', '_'), name, StringComparison.OrdinalIgnoreCase);
}

/// <summary>A request names something the model does not have (op, unit...): the message
/// says which and suggests near matches.</summary>
public sealed class UnknownNameException(string message) : ArgumentException(message);
