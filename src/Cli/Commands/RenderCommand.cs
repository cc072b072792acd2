using System.CommandLine;
using System.Text.Json;
using Microscope.Engine.Imaging;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Techniques;

namespace Microscope.Cli.Commands;

/// <summary>`microscope render`: renders units of one op in one batch (one unit per batch
/// index) and writes a PNG and a JSON per unit.</summary>
public static class RenderCommand
{
    public static readonly string[] Techniques = [.. TechniqueCatalog.All.Select(t => t.Name), "everything"];

    /// <summary>Op names can contain '/' (ResNetV2's "block2/unit_3/add"): file names use '_',
    /// which the model also accepts as an alias.</summary>
    private static string FileSafe(string op) => op.Replace('/', '_');

    /// <summary>Every other technique goes through the Engine's <see cref="TechniqueRunner"/>;
    /// files are named {model}_{op}_{unit or "op"}_{technique}{suffix}.</summary>
    private static int RunTechniques(Engine.Models.VisionModel model, string op, IReadOnlyList<string> techniques, int[] units,
        RenderParameters parameters, TechniqueOptions options, DirectoryInfo dir, bool json)
    {
        foreach (var t in techniques)
        {
            var kind = TechniqueCatalog.Get(t).Kind;
            if (kind == TechniqueKind.UnitImage && units.Length == 0)
                throw new ArgumentException($"{t} renders units: give --unit N or --all-units");
        }
        dir.Create();
        foreach (var t in techniques)
        {
            var outputs = CliProgress.Run($"{model.Name}/{op} {t}", 1000, progress =>
                TechniqueRunner.Run(model, op, t, units, parameters, options, new Scaled(progress)));
            foreach (var o in outputs)
            {
                var path = Path.Combine(dir.FullName, $"{model.Name}_{FileSafe(op)}_{(o.Unit is int u ? u.ToString(System.Globalization.CultureInfo.InvariantCulture) : "op")}_{t}{o.Suffix}");
                File.WriteAllBytes(path, o.Content);
                if (json) Console.WriteLine(JsonSerializer.Serialize(new { Model = model.Name, Op = op, o.Unit, Technique = t, File = path, o.ContentType }, Json.Options));
                else Console.WriteLine(path);
            }
        }
        return 0;
    }

    private sealed class Scaled(IProgress<int> inner) : IProgress<double>
    {
        public void Report(double fraction) => inner.Report((int)(fraction * 1000));
    }

    public static Command Create()
    {
        var models = new ModelOptions();
        var op = new Option<string>("--op") { Description = "op (layer) name, e.g. conv3 or mixed4c", Required = true };
        var units = new Option<int[]>("--unit", "-u") { Description = "unit (channel) index; repeat for several", AllowMultipleArgumentsPerToken = true };
        var allUnits = new Option<bool>("--all-units") { Description = "render every unit of the op (one batch)" };
        var technique = new Option<string>("--technique", "-t") { Description = "channel, neuron, diversity, deepdream, caricature, dataset_examples, tuning_curves or everything", DefaultValueFactory = _ => "channel" };
        technique.AcceptOnlyFromAmong(Techniques);
        var steps = new Option<int>("--steps") { Description = "optimisation steps", DefaultValueFactory = _ => 512 };
        var size = new Option<int>("--size") { Description = "image size in pixels", DefaultValueFactory = _ => 128 };
        var seed = new Option<int>("--seed") { Description = "random seed: the same seed gives the same image", DefaultValueFactory = _ => 0 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => 0.05 };
        var noTransforms = new Option<bool>("--no-transforms") { Description = "optimise without the jitter/scale/rotate stack" };
        var thresholds = new Option<int[]>("--threshold") { Description = "also save the image after this many steps; repeatable", AllowMultipleArgumentsPerToken = true };
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "output folder", Required = true };
        var json = new Option<bool>("--json") { Description = "print one JSON object per unit on stdout" };
        var sheet = new Option<bool>("--sheet") { Description = "also write sheet.png, all units of this render in one grid" };
        var images = new Option<int>("--images") { Description = "diversity: images per unit", DefaultValueFactory = _ => 4 };
        var topK = new Option<int>("--top-k") { Description = "dataset examples: images kept per unit", DefaultValueFactory = _ => 16 };
        var dataset = new Option<DirectoryInfo?>("--dataset") { Description = "dataset examples: folder of PNG/JPEG images (default: $MICROSCOPE_PHOTOS, the real photo folder, for every model but demo; else the demo's procedural set)" };
        var caricatureInputs = new Option<DirectoryInfo?>("--caricature-inputs") { Description = "caricature: folder of PNG/JPEG input images (default: $MICROSCOPE_PHOTOS for every model but demo; else procedural inputs)" };
        var command = new Command("render", "Render feature visualisations of units of one op.")
        {
            op, units, allUnits, technique, steps, size, seed, lr, noTransforms, thresholds, output, json, sheet, images, topK, dataset, caricatureInputs,
        };
        models.AddTo(command);

        command.SetAction(r => CommandErrors.Run(() =>
        {
            var parameters = new RenderParameters
            {
                Steps = r.GetValue(steps),
                Size = r.GetValue(size),
                Seed = r.GetValue(seed),
                LearningRate = r.GetValue(lr),
                Transforms = !r.GetValue(noTransforms),
                Thresholds = r.GetValue(thresholds) ?? [],
            };
            var problems = parameters.Validate();
            if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));

            using var model = models.Load(r);
            var opName = model.ResolveOp(r.GetValue(op)!);
            var info = model.Describe().Ops.Single(o => o.Name == opName);
            var unitList = r.GetValue(allUnits) ? Enumerable.Range(0, info.Channels).ToArray() : r.GetValue(units) ?? [];
            foreach (var u in unitList)
                if (u < 0 || u >= info.Channels)
                    throw new ArgumentException($"op '{opName}' of model '{model.Name}' has units 0..{info.Channels - 1}; {u} is out of range");
            var tech = r.GetValue(technique)!;
            if (tech is not ("channel" or "neuron"))
            {
                // Real models see real photographs by default; the demo model its procedural images.
                var photos = model.Name == "demo" ? null : RealPhotos.Folder();
                var options = new TechniqueOptions
                {
                    DiversityImages = r.GetValue(images), TopK = r.GetValue(topK),
                    DatasetFolder = r.GetValue(dataset)?.FullName ?? photos, CaricatureFolder = r.GetValue(caricatureInputs)?.FullName ?? photos,
                };
                return RunTechniques(model, opName, TechniqueCatalog.Expand([tech]), unitList, parameters, options, r.GetValue(output)!, r.GetValue(json));
            }
            if (unitList.Length == 0) throw new ArgumentException("give at least one --unit N, or --all-units");
            Objective objective = tech == "neuron" ? new NeuronObjective(opName, unitList) : new ChannelObjective(opName, unitList);

            var dir = r.GetValue(output)!;
            dir.Create();
            var result = CliProgress.Run($"{model.Name}/{opName} {tech} x{unitList.Length}", parameters.Steps,
                progress => Renderer.Render(model, objective, unitList.Length, parameters, progress));

            foreach (var img in result.Images)
            {
                var unit = unitList[img.BatchIndex];
                var stem = $"{model.Name}_{FileSafe(opName)}_{unit}_{tech}";
                var png = Path.Combine(dir.FullName, stem + ".png");
                ImageFile.SavePng(png, img.Pixels, img.Size, img.Size);
                foreach (var (step, pixels) in img.Snapshots)
                    ImageFile.SavePng(Path.Combine(dir.FullName, $"{stem}_step{step}.png"), pixels, img.Size, img.Size);
                var record = new
                {
                    Model = model.Name,
                    model.Version,
                    model.RandomWeights,
                    Op = opName,
                    Unit = unit,
                    Technique = tech,
                    Objective = objective.Describe(),
                    Parameters = parameters,
                    Device = model.Device.ToString(),
                    ObjectiveStart = img.ObjectiveStart,
                    ObjectiveEnd = img.ObjectiveEnd,
                    result.MsPerStep,
                    result.TotalMs,
                    File = png,
                    Trajectory = img.Trajectory,
                };
                File.WriteAllText(Path.Combine(dir.FullName, stem + ".json"), JsonSerializer.Serialize(record, Json.Indented));
                if (r.GetValue(json))
                    Console.WriteLine(JsonSerializer.Serialize(record with { Trajectory = Array.Empty<float>() }, Json.Options)
                        .Replace(",\"trajectory\":[]", "", StringComparison.Ordinal));
                else
                    Console.WriteLine($"{png}: objective {img.ObjectiveStart:F4} -> {img.ObjectiveEnd:F4}, {result.MsPerStep:F1} ms/step{(model.RandomWeights ? " (RANDOM WEIGHTS)" : "")}");
            }
            if (r.GetValue(sheet))
            {
                var grid = ContactSheet.Tile(result.Images.Select(i => i.Pixels).ToList(), parameters.Size);
                var path = Path.Combine(dir.FullName, $"{model.Name}_{FileSafe(opName)}_{tech}_sheet.png");
                ImageFile.SavePng(path, grid.Pixels, grid.Width, grid.Height);
                if (!r.GetValue(json)) Console.WriteLine($"{path}: {result.Images.Count} units in one grid");
            }
            return 0;
        }));
        return command;
    }
}
