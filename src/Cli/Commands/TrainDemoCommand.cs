using System.CommandLine;
using System.Text.Json;
using Microscope.Engine.Demo;

namespace Microscope.Cli.Commands;

/// <summary>`microscope train-demo`: reproduces the demo model's shipped weights from a seed.</summary>
public static class TrainDemoCommand
{
    public static Command Create()
    {
        var defaults = new DemoTrainingOptions();
        var seed = new Option<int>("--seed") { Description = "seed of weights, batches and held-out set", DefaultValueFactory = _ => defaults.Seed };
        var steps = new Option<int>("--steps") { Description = "training steps", DefaultValueFactory = _ => defaults.Steps };
        var batch = new Option<int>("--batch") { Description = "images per step", DefaultValueFactory = _ => defaults.BatchSize };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => defaults.LearningRate };
        var output = new Option<FileInfo>("--out", "-o") { Description = "safetensors file to write", DefaultValueFactory = _ => new FileInfo("demo.safetensors") };
        var json = new Option<bool>("--json") { Description = "print the report as JSON" };
        var command = new Command("train-demo", "Train the demo model on the procedural image set.") { seed, steps, batch, lr, output, json };
        command.SetAction(r => CommandErrors.Run(() =>
        {
            var options = new DemoTrainingOptions
            {
                Seed = r.GetValue(seed), Steps = r.GetValue(steps), BatchSize = r.GetValue(batch), LearningRate = r.GetValue(lr),
            };
            if (options.Steps < 1 || options.BatchSize < 1) throw new ArgumentException("--steps and --batch must be positive");
            var (model, report) = CliProgress.Run("training demo", options.Steps,
                progress => DemoTrainer.Train(options, new StepProgress(progress)));
            using (model)
            {
                var file = r.GetValue(output)!;
                file.Directory?.Create();
                DemoTrainer.Save(model, file.FullName, options, report);
                if (r.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(report, Json.Options));
                else Console.WriteLine($"{file.FullName}: held-out accuracy {report.HeldOutAccuracy:P1} on {report.HeldOutImages} images, loss {report.FinalLoss:F3}, version {report.Version}, {report.Seconds:F0} s");
            }
            return 0;
        }));
        return command;
    }

    private sealed class StepProgress(IProgress<int> inner) : IProgress<(int Step, double Loss)>
    {
        public void Report((int Step, double Loss) value) => inner.Report(value.Step);
    }
}
