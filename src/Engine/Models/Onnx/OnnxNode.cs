using Onnx;

namespace Microscope.Engine.Models.Onnx;

/// <summary>One ONNX node with typed access to its attributes, and the way it is named in
/// messages ("op 'Conv' (node 'conv1')").</summary>
internal sealed class OnnxNode(NodeProto node, int opset)
{
    private readonly Dictionary<string, AttributeProto> _attributes = node.Attribute.ToDictionary(a => a.Name, StringComparer.Ordinal);

    public string OpType => node.OpType;
    public string Name => node.Name;
    public string Domain => node.Domain;
    public int Opset => opset;
    public IReadOnlyList<string> Inputs => node.Input;
    public IReadOnlyList<string> Outputs => node.Output;
    public override string ToString() => $"op '{OpType}' (node '{(Name.Length > 0 ? Name : Outputs.FirstOrDefault())}')";

    public bool Has(string name) => _attributes.ContainsKey(name);
    public long Int(string name, long fallback) => _attributes.TryGetValue(name, out var a) ? a.I : fallback;
    public float Float(string name, float fallback) => _attributes.TryGetValue(name, out var a) ? a.F : fallback;
    public string String(string name, string fallback) => _attributes.TryGetValue(name, out var a) ? a.S.ToStringUtf8() : fallback;
    public long[]? Ints(string name) => _attributes.TryGetValue(name, out var a) ? [.. a.Ints] : null;
    public float[]? Floats(string name) => _attributes.TryGetValue(name, out var a) ? [.. a.Floats] : null;
    public TensorProto? Tensor(string name) => _attributes.TryGetValue(name, out var a) ? a.T : null;

    /// <summary>The node cannot be run: the message names the op type and the node.</summary>
    public InvalidDataException Refuse(string why) => new($"{this}: {why}");
}
