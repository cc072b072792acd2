using System.Text.Json;
using Microscope.Contracts;
using Microscope.Engine.Imaging;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;
using Microscope.Farm.Hosting;

namespace Microscope.Worker;

/// <summary>A request that retrying cannot fix (bad parameters, unknown op, unit out of
/// range, a size beyond this worker, another model version): the tuples fail with this.</summary>
public sealed class PermanentRenderException(string message) : Exception(message);

/// <summary>One rendered unit, encoded and ready to upload.</summary>
public sealed record RenderedUnit(PacketUnit Unit, byte[] Png, byte[] Record, double ObjectiveStart, double ObjectiveEnd, double MsPerStep);

/// <summary>Renders a packet with the Engine: the model (cached by version), the technique's
/// objective with one unit per batch index, PNG and JSON record per unit.</summary>
public sealed class PacketRenderer(WorkerOptions options, ModelWeightsOptions weights) : IDisposable
{
    private readonly Device _device = Device.Resolve(options.Device);
    private readonly LinkedList<VisionModel> _models = new();

    public Device Device => _device;

    /// <summary>Everything wrong with the packet that a retry would not change.</summary>
    public IReadOnlyList<string> Check(RenderWork work)
    {
        var problems = new List<string>();
        var parameters = ToEngine(work.Parameters);
        problems.AddRange(parameters.Validate());
        if (work.Parameters.Size > options.MaxImageSize)
            problems.Add($"size {work.Parameters.Size} exceeds this worker's limit of {options.MaxImageSize} px (Worker:MaxImageSize)");
        if (!Techniques.All.Contains(work.Technique))
            problems.Add($"unknown technique '{work.Technique}'; this worker renders {string.Join(", ", Techniques.All)}");
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
        foreach (var u in work.Units)
            if (u.Unit < 0 || u.Unit >= info.Channels)
                throw new PermanentRenderException($"op '{op}' has units 0..{info.Channels - 1}; {u.Unit} is out of range");
        var parameters = ToEngine(work.Parameters);
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
                await rendered(new RenderedUnit(unit, png, record, image.ObjectiveStart, image.ObjectiveEnd, result.MsPerStep));
            }
            done += chunk.Length;
        }
    }

    /// <summary>The model at the packet's version, loaded once and kept (least recently used
    /// evicted beyond ModelCacheSize). Another version than ours fails permanently: this
    /// worker's weights cannot produce it.</summary>
    private VisionModel Model(string name, string version)
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
        var have = cached.Version ?? "unversioned";
        if (have != version)
            throw new PermanentRenderException($"this worker's weights of '{name}' are version {have}; the packet asks for {version}");
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

    private sealed class Offset(IProgress<int> inner, int offset) : IProgress<int>
    {
        public void Report(int value) => inner.Report(offset + value);
    }
}
