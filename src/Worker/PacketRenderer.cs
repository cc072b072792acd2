using Microscope.Contracts;
using Microscope.Engine.Imaging;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Lenses;
using Microscope.Engine.Torch;
using Microscope.Farm.Hosting;
using Microscope.Farm.Rendering;

namespace Microscope.Worker;

/// <summary>A request that retrying cannot fix (bad parameters, unknown op, unit out of
/// range, a size beyond this worker, another model version): the tuples fail with this.</summary>
public sealed class PermanentRenderException(string message) : Exception(message);

/// <summary>One rendered tuple, encoded and ready to upload: its files by key suffix (".png",
/// "-0.png", ".channel.png", ".orientation.svg", ".json", ...).</summary>
public sealed record RenderedUnit(PacketUnit Unit, IReadOnlyList<LensOutput> Files, double ObjectiveStart, double ObjectiveEnd, double MsPerStep);

/// <summary>Renders a packet with the Engine's <see cref="LensRunner"/>, the single path every
/// lens takes (the CLI's too): unit lenses in batches of MaxBatch units, op-level lenses (the
/// packet's one tuple, unit -1) and analysis lenses (every unit of the packet in one pass) in
/// one run. Each tuple's record is the one format, with the packet's context added.</summary>
public sealed class PacketRenderer(WorkerOptions options, ModelWeightsOptions weights, ModelFileCache addedModels) : IDisposable
{
    private readonly Device _device = Device.Resolve(options.Device);
    private readonly LinkedList<VisionModel> _models = new();
    private readonly LensData _data = new()
    {
        DatasetFolder = options.DatasetFolder,
        ProceduralImages = options.DatasetImages,
        CaricatureFolder = options.CaricatureFolder,
    };

    public Device Device => _device;

    /// <summary>Everything wrong with the packet that a retry would not change.</summary>
    public IReadOnlyList<string> Check(RenderWork work)
    {
        var problems = new List<string>();
        problems.AddRange(work.Parameters.Problems());
        if (work.Parameters.Size > options.MaxImageSize)
            problems.Add($"size {work.Parameters.Size} exceeds this worker's limit of {options.MaxImageSize} px (Worker:MaxImageSize)");
        if (LensRegistry.TryGet(work.Technique) is not { } lens)
            problems.Add($"unknown technique '{work.Technique}'; this worker renders {string.Join(", ", LensRegistry.Names)}");
        else
        {
            try { lens.Arguments(work.Parameters.ParametersOf(lens.Name)); }
            catch (ArgumentException e) { problems.Add(e.Message); }
        }
        if (work.Units.Count == 0) problems.Add("the packet has no units");
        return problems;
    }

    /// <summary>Renders every unit of the packet (unit lenses in batches of at most MaxBatch);
    /// calls <paramref name="rendered"/> for each unit as soon as its batch is done.</summary>
    public async Task RenderAsync(RenderWork work, IProgress<int> progress, Func<RenderedUnit, Task> rendered, CancellationToken cancel)
    {
        var model = await ModelAsync(work.Model, work.ModelVersion, cancel);
        Lens lens;
        try
        {
            lens = LensRegistry.Get(work.Technique);
            var op = model.ResolveOp(work.Op);
            var info = model.Describe().Ops.Single(o => o.Name == op);
            if (LensRunner.UnitProblem(lens, info, work.Units.Select(u => u.Unit).ToList()) is { } problem) throw new PermanentRenderException(problem);
        }
        catch (UnknownNameException e)
        {
            throw new PermanentRenderException(e.Message);
        }
        var parameters = work.Parameters.ToEngine();
        var lensParameters = work.Parameters.ParametersOf(lens.Name);
        var data = weights.DatasetFor(work.Model) is { } folder ? _data with { DatasetFolder = folder } : _data;
        // Only unit lenses batch; op-level and analysis lenses compute the whole op in one run.
        var chunks = lens.Kind == LensKind.Unit ? work.Units.Chunk(options.MaxBatch).ToList() : [work.Units.ToArray()];
        var done = 0;
        foreach (var chunk in chunks)
        {
            var units = lens.OpLevel ? [] : chunk.Select(u => u.Unit).ToArray();
            var offset = done;
            var total = Math.Max(1, chunk.Length) * parameters.Steps;
            IReadOnlyList<LensResult> results;
            try
            {
                results = await Task.Factory.StartNew(
                    () => LensRunner.Run(model, work.Op, lens.Name, units, parameters, lensParameters, data,
                        new Relay(v => progress.Report(offset + (int)(v * total))), cancel),
                    cancel, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
            catch (ArgumentException e)
            {
                // The runner's checks (lens, parameters, op, units): a retry would not change them.
                throw new PermanentRenderException(e.Message);
            }
            foreach (var unit in chunk)
            {
                var result = results.FirstOrDefault(r => lens.OpLevel ? r.Unit is null : r.Unit == unit.Unit)
                    ?? throw new InvalidOperationException($"{work.Technique} returned nothing for unit {unit.Unit}");
                var record = result.Record with { ParamsHash = work.ParamsHash, PacketId = work.PacketId, TupleId = unit.TupleId, Batch = units.Length };
                await rendered(new RenderedUnit(unit, WithThumbnails(result.Outputs(record)), record.ObjectiveStart ?? 0, record.ObjectiveEnd ?? 0, record.MsPerStep ?? 0));
            }
            done += total;
        }
    }

    /// <summary>The model at the packet's version, loaded once and kept (least recently used
    /// evicted beyond ModelCacheSize). A zoo or configured model at another version than ours
    /// fails permanently: this worker's weights cannot produce it (RenderWorkConsumer hands such
    /// packets back first, see <see cref="VersionForAsync"/>).</summary>
    private async Task<VisionModel> ModelAsync(string name, string version, CancellationToken cancel)
    {
        var cached = await LoadedAsync(name, version, cancel);
        var have = cached.Version ?? "unversioned";
        if (have != version)
            throw new PermanentRenderException($"this worker's weights of '{name}' are version {have}; the packet asks for {version}");
        return cached;
    }

    /// <summary>The version of <paramref name="name"/> this worker renders for a packet that asks
    /// for <paramref name="wanted"/> (loading the model if needed): a zoo or configured model's
    /// is its weights' (a packet of another version is handed back, RenderWorkConsumer); a model
    /// added to the running farm is fetched at the version asked for.</summary>
    public async Task<string> VersionForAsync(string name, string wanted, CancellationToken cancel) =>
        (await LoadedAsync(name, wanted, cancel)).Version ?? "unversioned";

    /// <summary>A model added to the running farm is loaded from its files (fetched by version
    /// into Worker:ModelFolder); any other from the zoo with this worker's weights.</summary>
    private async Task<VisionModel> LoadedAsync(string name, string version, CancellationToken cancel)
    {
        var added = !ModelZoo.Names.Contains(name, StringComparer.Ordinal);
        var cached = _models.FirstOrDefault(m => m.Name == name && (!added || m.Version == version));
        if (cached is null)
        {
            WeightsSource source = weights.FileFor(name) is { } file ? new WeightsSource.File(file) : new WeightsSource.Shipped();
            try { cached = added ? await LoadAddedAsync(name, version, cancel) : ModelZoo.Load(name, source, _device); }
            // IOException: a model whose files are missing here (resnet18's ONNX files, a weights file).
            catch (Exception e) when (e is UnknownNameException or InvalidOperationException or InvalidDataException or IOException)
            {
                throw new PermanentRenderException($"model '{name}' cannot be loaded: {e.Message}");
            }
            _models.AddFirst(cached);
            while (_models.Count > options.ModelCacheSize)
            {
                _models.Last!.Value.Dispose();
                _models.RemoveLast();
            }
        }
        else
        {
            _models.Remove(cached);
            _models.AddFirst(cached);
        }
        return cached;
    }

    private async Task<VisionModel> LoadAddedAsync(string name, string version, CancellationToken cancel)
    {
        var files = await addedModels.GetAsync(name, version, cancel)
            ?? throw new UnknownNameException($"no model '{name}' version {version} was added to this farm (no manifest in the object store)");
        return ModelFiles.Load(name, files.Model.Format, files.File, files.Companion, _device);
    }

    /// <summary>The files plus a small copy of every PNG (ObjectKeys.Thumbnail: ".96px.png"),
    /// which op grids and the graph's strips show instead of scaling full images down. The
    /// record (".json") stays last: the worker uploads in this order and a stored record means
    /// every file of the result is stored (the coordinator's BucketReconciler relies on it).</summary>
    public static IReadOnlyList<LensOutput> WithThumbnails(IReadOnlyList<LensOutput> files) =>
        [.. files.Where(f => f.Suffix != ".json"),
         .. files.Where(f => f.ContentType == "image/png" && ObjectKeys.Thumbnail(f.Suffix) is not null)
            .Select(f => f with { Suffix = ObjectKeys.Thumbnail(f.Suffix)!, Content = Thumbnail.FitPng(f.Content, ObjectKeys.ThumbnailSize) }),
         .. files.Where(f => f.Suffix == ".json")];

    public void Dispose()
    {
        foreach (var m in _models) m.Dispose();
        _models.Clear();
    }

    private sealed class Relay(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
