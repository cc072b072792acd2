using System.Collections.Concurrent;
using Microscope.Engine.Models;
using Microscope.Engine.Torch;
using Microscope.Farm.Hosting;

namespace Microscope.Coordinator.Fires;

/// <summary>The zoo models the coordinator loads (once each, on CPU) to answer "where does this
/// unit fire on my image": one forward of one image, too small to queue for a worker. A
/// model's forwards are serialised (one lock per model).</summary>
public sealed class FiringModels(ModelWeightsOptions weights) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<VisionModel>> _models = new(StringComparer.Ordinal);

    /// <summary>Runs <paramref name="use"/> on the loaded model; throws
    /// <see cref="UnknownNameException"/> for a model the zoo does not build (an added ONNX model).</summary>
    public T With<T>(string name, Func<VisionModel, T> use)
    {
        if (!ModelZoo.Names.Contains(name, StringComparer.Ordinal))
            throw new UnknownNameException($"'{name}' is an added model: maps of uploaded images are computed for the zoo's models ({string.Join(", ", ModelZoo.Names)})");
        var model = _models.GetOrAdd(name, n => new Lazy<VisionModel>(() =>
            ModelZoo.Load(n, weights.FileFor(n) is { } file ? new WeightsSource.File(file) : new WeightsSource.Shipped(), Device.CPU))).Value;
        lock (model) return use(model);
    }

    public void Dispose()
    {
        foreach (var m in _models.Values.Where(m => m.IsValueCreated)) m.Value.Dispose();
    }
}
