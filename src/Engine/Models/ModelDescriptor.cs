namespace Microscope.Engine.Models;

/// <summary>One op: a named layer output, its units (channels), its spatial size at the
/// model's input size, the ops that feed it (edges of the op graph), and whether a full
/// channel sweep covers it.</summary>
public sealed record OpInfo(string Name, int Channels, int Height, int Width, IReadOnlyList<string> Inputs, bool InSweep = true);

/// <summary>What the catalogue, the CLI and the viewer know about a model.</summary>
public sealed record ModelDescriptor(
    string Name,
    string Dataset,
    int InputSize,
    string Preprocessing,
    IReadOnlyList<OpInfo> Ops,
    long ParameterCount,
    string? Version,
    bool RandomWeights)
{
    /// <summary>Channel units a full sweep renders (ops outside the sweep excluded).</summary>
    public long UnitCount => Ops.Where(o => o.InSweep).Sum(o => (long)o.Channels);
}

/// <summary>A request names something the model does not have (op, unit...): the message
/// says which and suggests near matches.</summary>
public sealed class UnknownNameException(string message) : ArgumentException(message);
