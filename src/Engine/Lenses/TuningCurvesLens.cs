using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microscope.Engine.Techniques;

namespace Microscope.Engine.Lenses;

/// <summary>tuning_curves: each unit's response (channel spatial mean) to families of synthetic
/// images (<see cref="TuningCurves"/>), one SVG plot per family, the curves in the record's details.</summary>
public sealed class TuningCurvesLens : Lens
{
    public override string Name => "tuning_curves";
    public override LensKind Kind => LensKind.Analysis;
    public override string Description => "each unit's response to synthetic image families";
    public override int Order => 6;

    public override IReadOnlyList<LensFile> Files(LensArguments arguments) =>
        TuningFamily.All.Select(f => new LensFile($".{f.Name}.svg", $"{f.Name} tuning curve")).ToList();

    public override IReadOnlyList<LensResult> Run(LensRun run)
    {
        var total = TuningFamily.All.Sum(f => f.Values.Count);
        var curves = TuningCurves.Run(run.Model, run.Op.Name,
            progress: run.Progress is null ? null : new LensRender.Relay<int>(n => run.Progress.Report((double)n / total)), cancel: run.Cancel);
        return run.Units.Select(u =>
        {
            var files = curves[u].Select(c => new LensOutput(u, $".{c.Family}.svg", "image/svg+xml",
                Encoding.UTF8.GetBytes(TuningCurves.Svg(c, $"{run.Model.Name} {run.Op.Name}:{u} — {c.Parameter}")))).ToList();
            var record = run.Record(this, u) with
            {
                Files = files.Select(f => f.Suffix).ToList(),
                Details = new JsonObject
                {
                    ["response"] = "channel (spatial mean)",
                    ["curves"] = JsonSerializer.SerializeToNode(curves[u], LensRecord.Json),
                },
            };
            return new LensResult(u, files, record);
        }).ToList();
    }
}
