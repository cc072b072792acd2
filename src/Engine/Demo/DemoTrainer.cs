using System.Diagnostics;
using Microscope.Engine.Models;
using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Demo;

public sealed record DemoTrainingOptions
{
    public int Seed { get; init; }
    public int Steps { get; init; } = 2500;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;
    public int HeldOutImages { get; init; } = 2000;
}

public sealed record DemoTrainingReport(int Steps, double FinalLoss, double HeldOutAccuracy, int HeldOutImages, double Seconds, string Version);

/// <summary>Trains <see cref="DemoNet"/> from a seed on an endless stream of procedural
/// images (Adam, cross-entropy). The same seed on the same machine gives the same weights:
/// initial weights, batches and held-out set are all drawn from the seed.</summary>
public static class DemoTrainer
{
    /// <summary>Held-out images come from a seed stream training never sees.</summary>
    public const int HeldOutSeedOffset = 1_000_003;

    public static (DemoNet Model, DemoTrainingReport Report) Train(DemoTrainingOptions o, IProgress<(int Step, double Loss)>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var model = new DemoNet();
        model.LoadWeights(new WeightsSource.Random(o.Seed), Device.CPU);
        model.Parameters.SetRequiresGrad(true);
        double loss = double.NaN;
        using (var adam = new torch.optim.Adam(model.Parameters.Tensors, o.LearningRate))
        {
            for (var step = 0; step < o.Steps; step++)
            {
                using var scope = torch.NewDisposeScope();
                var (images, labels) = Batch(o.Seed, (long)step * o.BatchSize, o.BatchSize, model.InputSize);
                adam.zero_grad();
                var logits = model.Forward(model.Preprocessing.Apply(images), "logits");
                var l = F.cross_entropy(logits, labels);
                l.backward();
                adam.step();
                // Exponential moving average only for the progress display.
                var v = l.item();
                loss = double.IsNaN(loss) ? v : 0.98 * loss + 0.02 * v;
                progress?.Report((step + 1, loss));
            }
        }
        model.Parameters.SetRequiresGrad(false);
        model.MarkTrained();
        var accuracy = Accuracy(model, o.Seed + HeldOutSeedOffset, o.HeldOutImages);
        return (model, new DemoTrainingReport(o.Steps, loss, accuracy, o.HeldOutImages, clock.Elapsed.TotalSeconds, model.Version!));
    }

    /// <summary>A batch of procedural images (B, 3, S, S) in [0, 1] and their labels.</summary>
    public static (Tensor Images, Tensor Labels) Batch(int seed, long firstIndex, int count, int size)
    {
        var plane = 3 * size * size;
        var pixels = new float[count * plane];
        var labels = new long[count];
        for (var i = 0; i < count; i++)
        {
            ProceduralImages.Sample(seed, firstIndex + i, size, out var label).CopyTo(pixels, i * plane);
            labels[i] = label;
        }
        return (torch.tensor(pixels, [count, 3, size, size]), torch.tensor(labels, [count]));
    }

    /// <summary>Top-1 accuracy on <paramref name="count"/> procedural images of a seed.</summary>
    public static double Accuracy(VisionModel model, int seed, int count, int batch = 100)
    {
        var correct = 0L;
        using var _ = torch.no_grad();
        for (var first = 0; first < count; first += batch)
        {
            using var scope = torch.NewDisposeScope();
            var n = Math.Min(batch, count - first);
            var (images, labels) = Batch(seed, first, n, model.InputSize);
            var logits = model.Forward(model.Preprocessing.Apply(images.to(model.Device)), "logits");
            var predicted = logits.argmax(1).cpu().data<long>();
            var truth = labels.data<long>();
            for (var i = 0; i < n; i++) if (predicted[i] == truth[i]) correct++;
        }
        return (double)correct / count;
    }

    public static void Save(DemoNet model, string path, DemoTrainingOptions o, DemoTrainingReport report) =>
        Safetensors.Write(path, model.Parameters.Export(), new Dictionary<string, string>
        {
            ["model"] = "demo",
            ["seed"] = o.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["steps"] = o.Steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["held_out_accuracy"] = report.HeldOutAccuracy.ToString("F4", System.Globalization.CultureInfo.InvariantCulture),
        });
}
