namespace Microscope.Contracts;

/// <summary>The techniques the farm renders. A technique is a way of turning a unit into an
/// objective; the worker maps each name to an Engine objective.</summary>
public static class Techniques
{
    public const string Channel = "channel";
    public const string Neuron = "neuron";
    public static readonly IReadOnlyList<string> All = [Channel, Neuron];
}

/// <summary>One unit of one op of one model version, as linked everywhere:
/// <c>demo/abc123def456/conv3/9</c>.</summary>
public sealed record UnitAddress(string Model, string Version, string Op, int Unit)
{
    public override string ToString() => $"{Model}/{Version}/{Op}/{Unit}";
}

/// <summary>Deterministic object keys (architecture doc): a re-delivered message overwrites
/// the same objects instead of adding new ones.</summary>
public static class ObjectKeys
{
    public static string Image(UnitAddress a, string technique, string paramsHash) => $"{Stem(a, technique, paramsHash)}.png";
    public static string Record(UnitAddress a, string technique, string paramsHash) => $"{Stem(a, technique, paramsHash)}.json";

    private static string Stem(UnitAddress a, string technique, string paramsHash) =>
        $"{a.Model}/{a.Version}/{a.Op}/{a.Unit}/{technique}/{paramsHash}";
}
