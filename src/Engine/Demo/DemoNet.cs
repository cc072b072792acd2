using Microscope.Engine.Models;

namespace Microscope.Engine.Demo;

/// <summary>The demo model organism: a small CNN the project trains itself on its
/// procedural image set (<see cref="ProceduralImages"/>; `microscope train-demo`).
/// Every test and the single-machine demo use it. 64 px input; fully convolutional up to
/// a global average pool, so larger renders work too.</summary>
public sealed class DemoNet : VisionModel
{
    public const string ResourceName = "demo.safetensors";

    public override string Name => "demo";
    public override string Dataset => "procedural shapes (" + ProceduralImages.ClassCount + " classes)";
    public override int InputSize => 64;
    public override Preprocessing Preprocessing => new("RGB (x - 0.5) / 0.25", false, 1, [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]);

    public DemoNet()
    {
        // Ops are the convolutions' outputs before their ReLU: every unit then has a gradient
        // from any starting image (a post-ReLU neuron that starts at 0 would never move).
        var x = Conv("conv1", ModelGraph.Input, 3, 16, 3, padding: 1, relu: false, op: true);
        x = MaxPool("pool1", Relu("relu1", x), 2, 2);
        x = Conv("conv2", x, 16, 32, 3, padding: 1, relu: false, op: true);
        x = MaxPool("pool2", Relu("relu2", x), 2, 2);
        x = Conv("conv3", x, 32, 48, 3, padding: 1, relu: false, op: true);
        x = MaxPool("pool3", Relu("relu3", x), 2, 2);
        x = Conv("conv4", x, 48, 64, 3, padding: 1, relu: false, op: true);
        x = Conv("conv5", Relu("relu4", x), 64, 64, 3, padding: 1, relu: false, op: true);
        x = GlobalAvgPool("gap", Relu("relu5", x));
        Linear("logits", x, 64, ProceduralImages.ClassCount, op: true);
    }

    protected override IReadOnlyList<NamedArray>? ShippedWeights()
    {
        using var stream = typeof(DemoNet).Assembly.GetManifestResourceStream(ResourceName);
        return stream is null ? null : Safetensors.Read(stream);
    }
}
