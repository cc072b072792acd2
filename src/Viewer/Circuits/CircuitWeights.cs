using System.Collections.Concurrent;
using Microscope.Engine.Circuits;
using Microscope.Engine.Models;
using Microscope.Engine.Torch;
using Microscope.Farm.Hosting;
using Microscope.Farm.Storage;
using Microscope.Viewer.Catalogue;
using Microsoft.Extensions.Logging;

namespace Microscope.Viewer.Circuits;

/// <summary>Why a model's connections cannot be shown here (its weights are not this viewer's).</summary>
public class CircuitsUnavailableException(string message) : Exception(message);

/// <summary>The tables are not stored yet but a sweep's circuits tuple will store them: the page
/// says so instead of computing them while the visitor waits.</summary>
public sealed class CircuitsPendingException(CircuitsQueued queued)
    : CircuitsUnavailableException($"being computed by the farm (sweep {queued.SweepId}: {queued.Done} of {queued.Total} ops' tables done); reload in a moment")
{
    public CircuitsQueued Queued { get; } = queued;
}

/// <summary>The weight tables between ops, per (model version, op pair): read from the object
/// store (<c>{model}/{version}/_circuits/{op}/{fromOp}.safetensors</c>), where a sweep's
/// circuits lens stores them. A table not stored yet: when a sweep has queued it, the caller
/// hears so (<see cref="CircuitsPendingException"/>); otherwise (older models, sweeps without
/// circuits) it is computed once with the Engine (<see cref="ExpandedWeights"/>) and stored
/// there, so every later read, by any viewer, is a fetch. The most recent tables stay in memory.</summary>
public sealed class CircuitWeights(IObjectStore store, ModelWeightsOptions weights, ILogger<CircuitWeights> logger)
{
    private const int TablesInMemory = 32;
    private readonly ConcurrentDictionary<string, WeightTable> _recent = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _computing = new(1, 1);
    private VisionModel? _model;
    private readonly ConcurrentDictionary<(string, string), string> _unavailable = new();

    public static string Key(string model, string version, string op, string fromOp) =>
        Contracts.ObjectKeys.InModel(model, version, WeightTable.ObjectName(op, fromOp));

    /// <summary>The table from <paramref name="fromOp"/> to <paramref name="op"/> (op names as
    /// in the descriptor; <paramref name="fromOp"/> feeds <paramref name="op"/>).</summary>
    public async Task<WeightTable> TableAsync(ModelVersion m, string op, string fromOp, CatalogueReader catalogue, CancellationToken cancel)
    {
        var key = Key(m.Name, m.Version, op, fromOp);
        if (_recent.TryGetValue(key, out var known)) return known;
        var table = await LoadAsync(key, op, fromOp, cancel);
        if (table is null && await catalogue.CircuitsQueuedAsync(m.Name, m.Version, op, cancel) is { } queued)
            throw new CircuitsPendingException(queued);
        if (table is null)
        {
            await _computing.WaitAsync(cancel);
            try
            {
                // Another request may have computed it while this one waited.
                table = await LoadAsync(key, op, fromOp, cancel);
                if (table is null)
                {
                    var started = System.Diagnostics.Stopwatch.GetTimestamp();
                    var model = ModelAt(m);
                    table = await Task.Run(() => ExpandedWeights.Compute(model, op, fromOp), cancel);
                    await store.PutAsync(key, table.ToBytes(), "application/octet-stream", cancel);
                    logger.LogInformation("computed the weights of {Model} {Op} from {FromOp} ({Units}x{FromUnits}, {KernelHeight}x{KernelWidth} kernels) in {Ms} ms",
                        m.Name, op, fromOp, table.Units, table.FromUnits, table.KernelHeight, table.KernelWidth,
                        (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }
            finally
            {
                _computing.Release();
            }
        }
        if (_recent.Count >= TablesInMemory) _recent.Clear();
        _recent[key] = table;
        return table;
    }

    private async Task<WeightTable?> LoadAsync(string key, string op, string fromOp, CancellationToken cancel) =>
        await store.GetAsync(key, cancel) is { } data ? WeightTable.FromBytes(op, fromOp, data) : null;

    /// <summary>The model with the catalogue version's weights: a zoo or configured model with
    /// this viewer's weights (Models:Weights, as the workers'), kept loaded while it is the one
    /// asked for. Called under <see cref="_computing"/>.</summary>
    private VisionModel ModelAt(ModelVersion m)
    {
        if (_model is { } loaded && loaded.Name == m.Name && loaded.Version == m.Version) return loaded;
        // A model this viewer cannot load stays so (its weights are configuration): say so at once next time.
        if (_unavailable.TryGetValue((m.Name, m.Version), out var reason)) throw new CircuitsUnavailableException(reason);
        try { return _model = Load(m); }
        catch (CircuitsUnavailableException e)
        {
            _unavailable[(m.Name, m.Version)] = e.Message;
            throw;
        }
    }

    private VisionModel Load(ModelVersion m)
    {
        if (!ModelZoo.Names.Contains(m.Name, StringComparer.Ordinal))
            throw new CircuitsUnavailableException($"model '{m.Name}' was added to the running farm; its connections are not computed by the viewer yet");
        _model?.Dispose();
        _model = null;
        WeightsSource source = weights.FileFor(m.Name) is { } file ? new WeightsSource.File(file) : new WeightsSource.Shipped();
        VisionModel model;
        try { model = ModelZoo.Load(m.Name, source, Device.CPU); }
        catch (Exception e) when (e is InvalidOperationException or InvalidDataException or IOException or UnknownNameException)
        {
            throw new CircuitsUnavailableException($"model '{m.Name}' cannot be loaded here: {e.Message}");
        }
        if (model.Version != m.Version)
        {
            var have = model.Version;
            model.Dispose();
            throw new CircuitsUnavailableException($"this viewer's weights of '{m.Name}' are version {have}; the page shows version {m.Version} (set Models:Weights:{m.Name} to its file)");
        }
        return model;
    }
}
