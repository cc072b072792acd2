using System.Text.Json;
using System.Text.Json.Nodes;
using Microscope.Contracts;
using Microscope.Engine.Imaging;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Techniques;
using Microscope.Engine.Torch;
using Microscope.Farm.Hosting;

namespace Microscope.Worker;

/// <summary>A request that retrying cannot fix (bad parameters, unknown op, unit out of
/// range, a size beyond this worker, another model version): the tuples fail with this.</summary>
public sealed class PermanentRenderException(string message) : Exception(message);

/// <summary>One rendered tuple, encoded and ready to upload: its files by key suffix (".png",
/// "-0.png", ".channel.png", ".orientation.svg", ".json", ...).</summary>
public sealed record RenderedUnit(PacketUnit Unit, IReadOnlyList<TechniqueOutput> Files, double ObjectiveStart, double ObjectiveEnd, double MsPerStep);

/// <summary>Renders a packet with the Engine. Channel and neuron: the objective with one unit
/// per batch index, PNG and JSON record per unit. Every other technique goes through the
/// Engine's TechniqueRunner: unit images (diversity) in batches of MaxBatch units, op-level
/// images (deepdream, caricature: the packet's one tuple, unit -1) and op jobs (dataset
/// examples, tuning curves: every unit of the packet in one pass).</summary>
public sealed class PacketRenderer(WorkerOptions options, ModelWeightsOptions weights) : IDisposable
{
    private readonly Device _device = Device.Resolve(options.Device);
    private readonly LinkedList<VisionModel> _models = new();
    private readonly TechniqueOptions _techniqueOptions = new()
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
        var parameters = ToEngine(work.Parameters);
        problems.AddRange(parameters.Validate());
        if (work.Parameters.Size > options.MaxImageSize)
            problems.Add($"size {work.Parameters.Size} exceeds this worker's limit of {options.MaxImageSize} px (Worker:MaxImageSize)");
        if (!Techniques.Known.Contains(work.Technique))
            problems.Add($"unknown technique '{work.Technique}'; this worker renders {string.Join(", ", Techniques.Known)}");
        if (work.Units.Count == 0) problems.Add("the packet has no units");
        return problems;
    }

    /// <summary>Renders every unit of the packet (in batches of at most MaxBatch); calls
    /// <paramref name="rendered"/> for each unit as soon as its batch is done.</summary>
    public async Task RenderAsync(RenderWork work, IProgress<int> progress, Func<RenderedUnit, Task> rendered, CancellationToken cancel)
    {
        var model = Model(work.Model, work.ModelVersion);
        string op;
        OpInfo info;
        try
        {
            op = model.ResolveOp(work.Op);
            info = model.Describe().Ops.Single(o => o.Name == op);
        }
        catch (UnknownNameException e)
        {
            throw new PermanentRenderException(e.Message);
        }
        var opLevel = Techniques.IsOpLevel(work.Technique);
        foreach (var u in work.Units)
            if (opLevel ? u.Unit != UnitAddress.OpLevel : u.Unit < 0 || u.Unit >= info.Channels)
                throw new PermanentRenderException(opLevel
                    ? $"{work.Technique} renders the whole op: its tuple's unit is {UnitAddress.OpLevel}, not {u.Unit}"
                    : $"op '{op}' has units 0..{info.Channels - 1}; {u.Unit} is out of range");
        var parameters = ToEngine(work.Parameters);
        if (work.Technique is not (Techniques.Channel or Techniques.Neuron))
        {
            await RunTechniqueAsync(work, model, op, parameters, progress, rendered, cancel);
            return;
        }
        var done = 0;
        foreach (var chunk in work.Units.Chunk(options.MaxBatch))
        {
            var units = chunk.Select(u => u.Unit).ToArray();
            Objective objective = work.Technique == Techniques.Neuron ? new NeuronObjective(op, units) : new ChannelObjective(op, units);
            var offset = done;
            var result = await Task.Factory.StartNew(
                () => Renderer.Render(model, objective, units.Length, parameters, new Offset(progress, offset * parameters.Steps), cancel),
                cancel, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            foreach (var image in result.Images)
            {
                var unit = chunk[image.BatchIndex];
                var png = ImageFile.EncodePng(image.Pixels, image.Size, image.Size);
                var record = JsonSerializer.SerializeToUtf8Bytes(new
                {
                    schemaVersion = 1,
                    model = work.Model,
                    version = work.ModelVersion,
                    op,
                    unit = unit.Unit,
                    technique = work.Technique,
                    objective = objective.Describe(),
                    paramsHash = work.ParamsHash,
                    parameters = work.Parameters,
                    device = _device.ToString(),
                    batch = units.Length,
                    objectiveStart = image.ObjectiveStart,
                    objectiveEnd = image.ObjectiveEnd,
                    msPerStep = result.MsPerStep,
                    totalMs = result.TotalMs,
                    trajectory = image.Trajectory,
                    packetId = work.PacketId,
                    tupleId = unit.TupleId,
                });
                await rendered(new RenderedUnit(unit, [new(unit.Unit, ".png", "image/png", png), new(unit.Unit, ".json", "application/json", record)],
                    image.ObjectiveStart, image.ObjectiveEnd, result.MsPerStep));
            }
            done += chunk.Length;
        }
    }

    /// <summary>Any technique through the Engine's TechniqueRunner; the outputs grouped by
    /// unit (op-level outputs, unit null, belong to the packet's one tuple).</summary>
    private async Task RunTechniqueAsync(RenderWork work, VisionModel model, string op, RenderParameters parameters, IProgress<int> progress,
        Func<RenderedUnit, Task> rendered, CancellationToken cancel)
    {
        var opLevel = Techniques.IsOpLevel(work.Technique);
        // Op jobs compute every unit in one pass over the images: never split them.
        var chunks = opLevel || Techniques.IsOpJob(work.Technique) ? [work.Units.ToArray()] : work.Units.Chunk(options.MaxBatch).ToList();
        var done = 0;
        foreach (var chunk in chunks)
        {
            var units = opLevel ? [] : chunk.Select(u => u.Unit).ToArray();
            var offset = done;
            var total = Math.Max(1, chunk.Length) * parameters.Steps;
            var techniqueOptions = weights.DatasetFor(work.Model) is { } folder ? _techniqueOptions with { DatasetFolder = folder } : _techniqueOptions;
            var outputs = await Task.Factory.StartNew(
                () => TechniqueRunner.Run(model, op, work.Technique, units, parameters, techniqueOptions,
                    new Relay(v => progress.Report(offset + (int)(v * total))), cancel),
                cancel, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            foreach (var unit in chunk)
            {
                var files = outputs.Where(o => opLevel ? o.Unit is null : o.Unit == unit.Unit).ToList();
                if (files.Count == 0) throw new InvalidOperationException($"{work.Technique} returned nothing for unit {unit.Unit}");
                var (start, end, msPerStep) = Summary(files);
                await rendered(new RenderedUnit(unit, files, start, end, msPerStep));
            }
            done += total;
        }
    }

    /// <summary>Objective start and end (the mean over the result's images) and ms per step,
    /// from an optimised technique's record; 0 for jobs that optimise nothing.</summary>
    private static (double Start, double End, double MsPerStep) Summary(IReadOnlyList<TechniqueOutput> files)
    {
        var record = files.FirstOrDefault(f => f.Suffix == ".json");
        if (record is null) return (0, 0, 0);
        var node = JsonNode.Parse(record.Content);
        static double Mean(JsonNode? n) => n is JsonArray a && a.Count > 0 ? a.Average(v => v!.GetValue<double>()) : 0;
        return (Mean(node?["objective_start"]), Mean(node?["objective_end"]), node?["ms_per_step"]?.GetValue<double>() ?? 0);
    }

    /// <summary>The model at the packet's version, loaded once and kept (least recently used
    /// evicted beyond ModelCacheSize). Another version than ours fails permanently: this
    /// worker's weights cannot produce it.</summary>
    private VisionModel Model(string name, string version)
    {
        var cached = Loaded(name);
        var have = cached.Version ?? "unversioned";
        if (have != version)
            throw new PermanentRenderException($"this worker's weights of '{name}' are version {have}; the packet asks for {version}");
        return cached;
    }

    /// <summary>The version of <paramref name="name"/> this worker's weights produce (loading
    /// the model if needed): a packet of another version is handed back (RenderWorkConsumer).</summary>
    public string VersionOf(string name) => Loaded(name).Version ?? "unversioned";

    private VisionModel Loaded(string name)
    {
        var cached = _models.FirstOrDefault(m => m.Name == name);
        if (cached is null)
        {
            WeightsSource source = weights.FileFor(name) is { } file ? new WeightsSource.File(file) : new WeightsSource.Shipped();
            try { cached = ModelZoo.Load(name, source, _device); }
            catch (Exception e) when (e is UnknownNameException or InvalidOperationException or InvalidDataException)
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

    public static RenderParameters ToEngine(RenderSettings p) => new()
    {
        Steps = p.Steps,
        Size = p.Size,
        Seed = p.Seed,
        LearningRate = p.LearningRate,
        Transforms = p.Transforms,
        Decay = p.Decay,
        InitStd = p.InitStd,
        Thresholds = p.Thresholds,
    };

    public void Dispose()
    {
        foreach (var m in _models) m.Dispose();
        _models.Clear();
    }

    private sealed class Relay(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }

    private sealed class Offset(IProgress<int> inner, int offset) : IProgress<int>
    {
        public void Report(int value) => inner.Report(offset + value);
    }
}
