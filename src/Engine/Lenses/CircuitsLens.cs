using System.Diagnostics;
using System.Text.Json.Nodes;
using Microscope.Engine.Circuits;

namespace Microscope.Engine.Lenses;

/// <summary>circuits: the op's expanded-weight tables from every op feeding it
/// (<see cref="CircuitPairs.InputOps"/>, the pairs the viewer's connections show), computed with
/// <see cref="ExpandedWeights"/> and stored under the model version's root
/// (<see cref="WeightTable.ObjectName"/>), where the viewer reads them instead of computing them
/// on a visitor's first request. One tuple per op; its record lists the tables. In a sweep, every
/// op's tuple together covers every pair (a unit's outputs are the next op's inputs).</summary>
public sealed class CircuitsLens : Lens
{
    public const string LensName = "circuits";

    public override string Name => LensName;
    public override LensKind Kind => LensKind.Op;
    public override string Description => "the op's expanded-weight tables from the ops feeding it, for the viewer's connections and circuit pages (stored as `_circuits/{op}/{fromOp}.safetensors`)";
    public override int Order => 7;
    public override bool InDefaultSweep => true;
    // The tables are read by the viewer's connections, not shown as a lens.
    public override bool Pictured => false;
    // A zero image runs through the paths that bypass the op feeding it: a generator has no image input.
    public override bool FeedsImages => true;

    public override IReadOnlyList<LensFile> Files(LensArguments arguments) => [];

    public override IReadOnlyList<LensResult> Run(LensRun run)
    {
        var from = CircuitPairs.InputOps(run.Model.Describe(), run.Op.Name);
        var files = new List<LensOutput>();
        var tables = new JsonArray();
        for (var i = 0; i < from.Count; i++)
        {
            run.Cancel.ThrowIfCancellationRequested();
            var started = Stopwatch.GetTimestamp();
            var table = ExpandedWeights.Compute(run.Model, run.Op.Name, from[i]);
            var name = WeightTable.ObjectName(run.Op.Name, from[i]);
            files.Add(new LensOutput(null, $".{i}.safetensors", "application/octet-stream", table.ToBytes(), name));
            tables.Add(new JsonObject
            {
                ["from_op"] = from[i], ["object"] = name, ["units"] = table.Units, ["from_units"] = table.FromUnits,
                ["kernel_height"] = table.KernelHeight, ["kernel_width"] = table.KernelWidth,
                ["ms"] = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            });
            run.Progress?.Report((i + 1.0) / from.Count);
        }
        var record = run.Record(this, null) with { Files = [], Details = new JsonObject { ["tables"] = tables } };
        return [new LensResult(null, files, record)];
    }
}
