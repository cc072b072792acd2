using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microscope.Engine.Imaging;
using Microscope.Engine.Lenses;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Techniques;

namespace Microscope.Cli.Commands;

/// <summary>`microscope render`: runs one technique (or every one) on units of one op through
/// the Engine's <see cref="LensRunner"/>, the path the farm's workers take too, and writes each
/// result's files and its record as {model}_{op}_{unit or "op"}_{technique}{suffix}.</summary>
public static class RenderCommand
{
    /// <summary>Op names can contain '/' (ResNetV2's "block2/unit_3/add"): file names use '_',
    /// which the model also accepts as an alias.</summary>
    private static string FileSafe(string op) => op.Replace('/', '_');

    private static string TechniqueHelp() =>
        string.Join(", ", LensRegistry.Names) + $" or {LensRegistry.Everything}" +
        (LensRegistry.All.Any(l => l.Parameters.Count > 0)
            ? "; lens parameters (--param): " + string.Join(", ", LensRegistry.All.SelectMany(l => l.Parameters.Select(p => $"{l.Name}.{p.Name} ({p.Format(p.Default)})")))
            : "");

    /// <summary>The chosen lenses and their --param values (with the --images / --top-k
    /// shorthands), checked against the registry; throws naming the problem.</summary>
    private static (IReadOnlyList<Lens> Lenses, Dictionary<string, IReadOnlyDictionary<string, string>> Parameters) Choose(
        string technique, IEnumerable<string> parameters, int? images, int? topK)
    {
        var lenses = LensRegistry.Expand([technique]);
        var items = parameters.ToList();
        // Shorthands kept from before the registry: they set the parameter of every chosen lens that has it.
        if (images is int n) items.AddRange(lenses.Where(l => l.Parameters.Any(p => p.Name == "images")).Select(l => $"{l.Name}.images={n}"));
        if (topK is int k) items.AddRange(lenses.Where(l => l.Parameters.Any(p => p.Name == "top_k")).Select(l => $"{l.Name}.top_k={k}"));
        return (lenses, LensParameterText.Parse(items, lenses));
    }

    public static Command Create()
    {
        var models = new ModelOptions();
        var op = new Option<string>("--op") { Description = "op (layer) name, e.g. conv3 or mixed4c (required unless --objective)" };
        var objective = new Option<string?>("--objective") { Description = ObjectiveRender.Help };
        var units = new Option<int[]>("--unit", "-u") { Description = "unit (channel) index; repeat for several", AllowMultipleArgumentsPerToken = true };
        var allUnits = new Option<bool>("--all-units") { Description = "render every unit of the op (one batch)" };
        var technique = new Option<string>("--technique", "-t") { Description = TechniqueHelp(), DefaultValueFactory = _ => "channel" };
        technique.AcceptOnlyFromAmong([.. LensRegistry.Names, LensRegistry.Everything]);
        var lensParameters = new Option<string[]>("--param", "-p") { Description = "a lens parameter, name=value or lens.name=value; repeatable", AllowMultipleArgumentsPerToken = true };
        var steps = new Option<int>("--steps") { Description = "optimisation steps", DefaultValueFactory = _ => 512 };
        var size = new Option<int>("--size") { Description = "image size in pixels", DefaultValueFactory = _ => 128 };
        var seed = new Option<int>("--seed") { Description = "random seed: the same seed gives the same image for a unit, whatever else is in its batch", DefaultValueFactory = _ => 0 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => 0.05 };
        var noTransforms = new Option<bool>("--no-transforms") { Description = "optimise without the jitter/scale/rotate stack" };
        var precision = PrecisionOption.Create();
        var thresholds = new Option<int[]>("--threshold") { Description = "also save the image after this many steps ({stem}.step{N}.png); repeatable", AllowMultipleArgumentsPerToken = true };
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "output folder", Required = true };
        var json = new Option<bool>("--json") { Description = "print one JSON object per result on stdout" };
        var sheet = new Option<bool>("--sheet") { Description = "also write a sheet: the first image of every unit of this render in one grid" };
        var images = new Option<int?>("--images") { Description = "shorthand for --param images=N (diversity, caricature)" };
        var topK = new Option<int?>("--top-k") { Description = "shorthand for --param top_k=N (dataset_examples)" };
        var dataset = new Option<DirectoryInfo?>("--dataset") { Description = "dataset examples: folder of PNG/JPEG images (default: $MICROSCOPE_PHOTOS, the real photo folder, for every model but demo; else the demo's procedural set)" };
        var caricatureInputs = new Option<DirectoryInfo?>("--caricature-inputs") { Description = "caricature: folder of PNG/JPEG input images (default: $MICROSCOPE_PHOTOS for every model but demo; else procedural inputs)" };
        var command = new Command("render", "Render feature visualisations (or any technique) of units of one op.")
        {
            op, objective, units, allUnits, technique, lensParameters, steps, size, seed, lr, noTransforms, precision, thresholds, output, json, sheet, images, topK, dataset, caricatureInputs,
        };
        models.AddTo(command);
        // Lens parameters are checked when the command line is parsed: a bad one does no work.
        command.Validators.Add(result =>
        {
            if (ObjectiveRender.OptionProblem(result.GetValue(op), result.GetValue(objective), result.GetResult(technique) is { Implicit: false } ? result.GetValue(technique) : null) is { } wrong)
            {
                result.AddError(wrong);
                return;
            }
            var t = result.GetValue(technique);
            if (t is null || (t != LensRegistry.Everything && LensRegistry.TryGet(t) is null)) return;
            try { Choose(t, result.GetValue(lensParameters) ?? [], result.GetValue(images), result.GetValue(topK)); }
            catch (ArgumentException e) { result.AddError(e.Message); }
        });

        command.SetAction(r => CommandErrors.Run(() =>
        {
            var parameters = new RenderParameters
            {
                Steps = r.GetValue(steps),
                Size = r.GetValue(size),
                Seed = r.GetValue(seed),
                LearningRate = r.GetValue(lr),
                Transforms = !r.GetValue(noTransforms),
                Precision = r.Value(precision),
                Thresholds = r.GetValue(thresholds) ?? [],
            };
            var problems = parameters.Validate();
            if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));
            if (r.GetValue(objective) is { } expressionText)
            {
                using var objectiveModel = models.Load(r);
                var objectiveResult = ObjectiveRender.Run(objectiveModel, expressionText, parameters, Path.GetFullPath("."));
                var outDir = r.GetValue(output)!;
                outDir.Create();
                Write(outDir, objectiveModel.Name, objectiveResult.Record.Op, ObjectiveExpressionLens.LensName, objectiveResult, r.GetValue(json), objectiveModel.RandomWeights);
                return 0;
            }
            var (lenses, given) = Choose(r.GetValue(technique)!, r.GetValue(lensParameters) ?? [], r.GetValue(images), r.GetValue(topK));

            using var model = models.Load(r);
            // "everything" on a generator: the lenses that look at it; a named one that cannot is refused.
            if (model.Latent is not null && r.GetValue(technique) == LensRegistry.Everything) lenses = [.. lenses.Where(l => !l.FeedsImages)];
            foreach (var lens in lenses)
                if (LensRunner.ModelProblem(lens, model) is { } refused) throw new ArgumentException(refused);
            var opName = model.ResolveOp(r.GetValue(op)!);
            var info = model.Describe().Ops.Single(o => o.Name == opName);
            var unitList = r.GetValue(allUnits) ? Enumerable.Range(0, info.Channels).ToArray() : r.GetValue(units) ?? [];
            // Every unit check of every chosen lens before any work (op-level lenses ignore units).
            foreach (var lens in lenses)
                if (LensRunner.UnitProblem(lens, info, lens.OpLevel ? [] : unitList) is { } problem) throw new ArgumentException(problem);
            // Real models see real photographs by default; the demo model its procedural images.
            var photos = model.Name == "demo" ? null : RealPhotos.Folder();
            var data = new LensData { DatasetFolder = r.GetValue(dataset)?.FullName ?? photos, CaricatureFolder = r.GetValue(caricatureInputs)?.FullName ?? photos };

            NoteGenerator(model, parameters);
            var dir = r.GetValue(output)!;
            dir.Create();
            foreach (var lens in lenses)
            {
                var asked = lens.OpLevel ? [] : unitList;
                var results = CliProgress.Run($"{model.Name}/{opName} {lens.Name}" + (asked.Length > 1 ? $" x{asked.Length}" : ""), 1000, progress =>
                    LensRunner.Run(model, opName, lens.Name, asked, parameters, given.GetValueOrDefault(lens.Name), data, new Scaled(progress)));
                foreach (var result in results)
                    Write(dir, model.Name, opName, lens.Name, result, r.GetValue(json), model.RandomWeights);
                if (r.GetValue(sheet) && lens.Kind == LensKind.Unit && results.Count > 0)
                {
                    var first = results.Select(x => ImageFile.Decode(x.Files[0].Content)).ToList();
                    var grid = ContactSheet.Tile(first.Select(i => i.Pixels).ToList(), parameters.Size);
                    var path = Path.Combine(dir.FullName, $"{model.Name}_{FileSafe(opName)}_{lens.Name}_sheet.png");
                    ImageFile.SavePng(path, grid.Pixels, grid.Width, grid.Height);
                    if (!r.GetValue(json)) Console.WriteLine($"{path}: {results.Count} units in one grid");
                }
            }
            return 0;
        }));
        return command;
    }

    /// <summary>One line on stderr when a generator overrides the transforms the user left on
    /// (the record holds the settings applied, docs/models.md "Generators"); after the checks,
    /// so a refused command stays one error line.</summary>
    internal static void NoteGenerator(VisionModel model, RenderParameters given)
    {
        var applied = Renderer.Applied(model, given);
        if (applied.Transforms != given.Transforms)
            Console.Error.WriteLine($"note: '{model.Name}' is a generator: its latent is optimised without image transforms (as --no-transforms), " +
                $"from the prior (init std {applied.InitStd.ToString(CultureInfo.InvariantCulture)}); the record shows the settings applied");
    }

    /// <summary>Writes a result's files and record; prints the main file (or, with --json, the
    /// record without its trajectories, plus "file" and "files": the paths written).</summary>
    private static void Write(DirectoryInfo dir, string model, string op, string technique, LensResult result, bool json, bool randomWeights)
    {
        var stem = Path.Combine(dir.FullName, $"{model}_{FileSafe(op)}_{(result.Unit is int u ? u.ToString(CultureInfo.InvariantCulture) : "op")}_{technique}");
        var paths = new List<string>();
        foreach (var o in result.Outputs())
        {
            File.WriteAllBytes(stem + o.Suffix, o.Content);
            paths.Add(stem + o.Suffix);
        }
        var record = result.Record;
        if (json)
        {
            var line = JsonSerializer.SerializeToNode(record with { Trajectory = [], Images = record.Images.Select(i => i with { Trajectory = [] }).ToList() }, LensRecord.Json)!.AsObject();
            line.Remove("trajectory");
            foreach (var img in line["images"]!.AsArray()) img!.AsObject().Remove("trajectory");
            line["file"] = paths[0];
            line["files"] = new JsonArray(paths.Select(p => (JsonNode)p).ToArray());
            Console.WriteLine(line.ToJsonString(Json.Options));
        }
        else if (record.ObjectiveStart is double start && record.ObjectiveEnd is double end)
            Console.WriteLine($"{paths[0]}: objective {start:F4} -> {end:F4}, {record.MsPerStep:F1} ms/step{(randomWeights ? " (RANDOM WEIGHTS)" : "")}");
        else
            Console.WriteLine(paths[0]);
    }

    private sealed class Scaled(IProgress<int> inner) : IProgress<double>
    {
        public void Report(double fraction) => inner.Report((int)(fraction * 1000));
    }
}
