using System.Security.Cryptography;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Models;

/// <summary>Where a model's weights come from.</summary>
public abstract record WeightsSource
{
    /// <summary>The weights shipped with the project (the demo model's).</summary>
    public sealed record Shipped : WeightsSource;
    public sealed record File(string Path) : WeightsSource;
    /// <summary>Seeded random weights, for tests and benchmarks; every output marks them.</summary>
    public sealed record Random(int Seed) : WeightsSource;
}

/// <summary>A model's named weight tensors, in declaration order. Loading is strict:
/// a missing, unexpected or mis-shaped tensor is an error naming it, never a partial load.</summary>
public sealed class ParameterStore : IDisposable
{
    private readonly List<string> _names = [];
    private readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> _shapes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ParameterInit> _inits = new(StringComparer.Ordinal);

    public enum ParameterInit { KaimingNormal, Zeros, Ones }

    public IReadOnlyList<string> Names => _names;
    public Tensor this[string name] => _tensors[name];
    public IEnumerable<Tensor> Tensors => _names.Select(n => _tensors[n]);
    public long ParameterCount => _shapes.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b));
    public long[] ShapeOf(string name) => _shapes[name];

    /// <summary>Declares a tensor (zero-filled until weights are loaded) and returns it.</summary>
    public Tensor Declare(string name, long[] shape, ParameterInit init = ParameterInit.KaimingNormal)
    {
        if (_tensors.ContainsKey(name)) throw new InvalidOperationException($"parameter '{name}' declared twice");
        var t = torch.zeros(shape);
        _names.Add(name);
        _tensors[name] = t;
        _shapes[name] = shape;
        _inits[name] = init;
        return t;
    }

    /// <summary>He-normal weights (std = sqrt(2 / fan_in)), zero biases: seeded, so the same
    /// seed gives the same model everywhere.</summary>
    public void InitializeRandom(int seed)
    {
        var rng = new System.Random(seed);
        foreach (var name in _names)
        {
            var shape = _shapes[name];
            using var scope = torch.NewDisposeScope();
            Tensor value = _inits[name] switch
            {
                ParameterInit.Zeros => torch.zeros(shape),
                ParameterInit.Ones => torch.ones(shape),
                _ => torch.randn(shape, rng, Math.Sqrt(2.0 / Math.Max(1, shape.Skip(1).Aggregate(1L, (a, b) => a * b)))),
            };
            using var target = value.to(_tensors[name].device);
            _tensors[name].copy_(target);
        }
    }

    public void Load(IReadOnlyList<NamedArray> arrays, string source)
    {
        var byName = new Dictionary<string, NamedArray>(StringComparer.Ordinal);
        foreach (var a in arrays) byName[a.Name] = a;
        var missing = _names.Where(n => !byName.ContainsKey(n)).ToList();
        var extra = byName.Keys.Where(n => !_tensors.ContainsKey(n)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var problems = new List<string>();
        if (missing.Count > 0) problems.Add($"missing tensor(s): {Describe(missing)}");
        if (extra.Count > 0) problems.Add($"unexpected tensor(s): {Describe(extra)}");
        foreach (var name in _names.Where(byName.ContainsKey))
        {
            var expected = _shapes[name];
            var actual = byName[name].Shape;
            if (!expected.SequenceEqual(actual))
                problems.Add($"tensor '{name}' has shape [{string.Join(", ", actual)}], expected [{string.Join(", ", expected)}]");
        }
        if (problems.Count > 0)
            throw new InvalidDataException($"weights {source} do not match the model: {string.Join("; ", problems)}");

        foreach (var name in _names)
        {
            using var scope = torch.NewDisposeScope();
            var target = _tensors[name];
            target.copy_(torch.tensor(byName[name].Data, _shapes[name]).to(target.device));
        }
    }

    private static string Describe(List<string> names) =>
        names.Count <= 8 ? string.Join(", ", names) : string.Join(", ", names.Take(8)) + $" and {names.Count - 8} more";

    public IReadOnlyList<NamedArray> Export() =>
        _names.Select(n => new NamedArray(n, _shapes[n], _tensors[n].data<float>())).ToList();

    /// <summary>A short content hash of the weights (names, shapes, float32 bytes, in name
    /// order): the model version. Two checkpoints never share one.</summary>
    public string ContentHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var a in Export().OrderBy(a => a.Name, StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(a.Name + "[" + string.Join(",", a.Shape) + "]"));
            sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.Data.AsSpan()));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..12];
    }

    public void MoveTo(Device device) => Replace(t => t.device == device, t => t.to(device));

    /// <summary>Converts every tensor to another type (gradient checks run a model in float64).</summary>
    public void ConvertTo(ScalarType dtype) => Replace(t => t.dtype == dtype, t => t.to(dtype));

    /// <summary>Replaces each tensor that is not already as wanted by its converted copy.</summary>
    private void Replace(Func<Tensor, bool> done, Func<Tensor, Tensor> convert)
    {
        foreach (var name in _names)
        {
            var old = _tensors[name];
            if (done(old)) continue;
            _tensors[name] = convert(old);
            old.Dispose();
        }
    }

    public void SetRequiresGrad(bool on)
    {
        foreach (var t in _tensors.Values) t.requires_grad = on;
    }

    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
    }
}
