namespace Microscope.Engine.Models.Zoo;

/// <summary>InceptionV4 as TF-slim builds it (inception_v4.py; 299 px, inputs in [-1, 1],
/// 1001 classes), without the auxiliary head. Every convolution is conv (no bias) + batch
/// norm (eps 0.001) + ReLU. Parameter names follow the PyTorch port of the TF-slim checkpoint
/// that pretrainedmodels (Cadene) and timm ship: the stem and blocks are "features.N"
/// ("features.11.branch2.3.conv.weight", "features.19.branch1_1a.bn.running_mean",
/// "last_linear.weight"). Op names are TF-slim's end points (Mixed_5a..5e are the stem's last
/// reduction and the four Inception-A blocks, Mixed_6a the Reduction-A block, and so on).
/// No independent implementation is available on the build machine: torchvision has none.</summary>
public sealed class InceptionV4 : ZooModel
{
    /// <summary>TF-slim's ImageNet classifier: 1000 classes plus background.</summary>
    public const int ClassCount = 1001;

    // TF-slim inception_v4 batch_norm epsilon.
    private const double BnEps = 1e-3;

    public override string Name => "inceptionv4";
    public override string Dataset => "ImageNet (TF-slim)";
    public override int InputSize => 299;
    public override Preprocessing Preprocessing => Preprocessing.SignedUnit;

    public InceptionV4()
    {
        var x = Basic("Conv2d_1a_3x3", "features.0", ModelGraph.Input, 3, 32, 3, stride: 2, op: true);
        x = Basic("Conv2d_2a_3x3", "features.1", x, 32, 32, 3, op: true);
        x = Basic("Conv2d_2b_3x3", "features.2", x, 32, 64, 3, padding: 1, op: true);
        x = Concat("Mixed_3a", [MaxPool("features.3.maxpool", x, 3, 2), Basic("features.3.conv", x, 64, 96, 3, stride: 2)], op: true);
        x = Mixed4a("Mixed_4a", "features.4", x);
        x = Concat("Mixed_5a", [Basic("features.5.conv", x, 192, 192, 3, stride: 2), MaxPool("features.5.maxpool", x, 3, 2)], op: true);
        var feature = 6;
        foreach (var name in new[] { "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_5e" }) x = BlockA(name, $"features.{feature++}", x);
        x = ReductionA("Mixed_6a", $"features.{feature++}", x);
        foreach (var name in new[] { "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_6f", "Mixed_6g", "Mixed_6h" }) x = BlockB(name, $"features.{feature++}", x);
        x = ReductionB("Mixed_7a", $"features.{feature++}", x);
        foreach (var name in new[] { "Mixed_7b", "Mixed_7c", "Mixed_7d" }) x = BlockC(name, $"features.{feature++}", x);
        x = GlobalAvgPool("avg_pool", x);
        Linear("last_linear", x, 1536, ClassCount);
    }

    public override IEnumerable<string> AliasesOf(string op) => InceptionV3.TfSlimAliases("InceptionV4", op);

    /// <summary>A convolution unit; its node is the op name when it is an op, else its parameter prefix.</summary>
    private string Basic(string node, string prefix, string input, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, bool op = false) =>
        ConvUnit(node, input, inChannels, outChannels, (kernel, kernel), (stride, stride), (padding, padding),
            convParams: prefix + ".conv", bnParams: prefix + ".bn", bnEps: BnEps, op: op);

    private string Basic(string prefix, string input, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0) =>
        Basic(prefix, prefix, input, inChannels, outChannels, kernel, stride, padding);

    private string Basic(string prefix, string input, int inChannels, int outChannels, (int, int) kernel, (int, int) padding) =>
        ConvUnit(prefix, input, inChannels, outChannels, kernel, null, padding,
            convParams: prefix + ".conv", bnParams: prefix + ".bn", bnEps: BnEps);

    private string AvgPool3(string name, string input) => AvgPool(name, input, 3, 1, padding: 1, countIncludePad: false);

    private string Mixed4a(string name, string p, string x)
    {
        var b0 = Basic($"{p}.branch0.1", Basic($"{p}.branch0.0", x, 160, 64, 1), 64, 96, 3);
        var b1 = Basic($"{p}.branch1.0", x, 160, 64, 1);
        b1 = Basic($"{p}.branch1.1", b1, 64, 64, (1, 7), (0, 3));
        b1 = Basic($"{p}.branch1.2", b1, 64, 64, (7, 1), (3, 0));
        b1 = Basic($"{p}.branch1.3", b1, 64, 96, 3);
        return Concat(name, [b0, b1], op: true);
    }

    private string BlockA(string name, string p, string x)
    {
        var b0 = Basic($"{p}.branch0", x, 384, 96, 1);
        var b1 = Basic($"{p}.branch1.1", Basic($"{p}.branch1.0", x, 384, 64, 1), 64, 96, 3, padding: 1);
        var b2 = Basic($"{p}.branch2.0", x, 384, 64, 1);
        b2 = Basic($"{p}.branch2.1", b2, 64, 96, 3, padding: 1);
        b2 = Basic($"{p}.branch2.2", b2, 96, 96, 3, padding: 1);
        var b3 = Basic($"{p}.branch3.1", AvgPool3($"{p}.branch3.0", x), 384, 96, 1);
        return Concat(name, [b0, b1, b2, b3], op: true);
    }

    private string ReductionA(string name, string p, string x)
    {
        var b0 = Basic($"{p}.branch0", x, 384, 384, 3, stride: 2);
        var b1 = Basic($"{p}.branch1.0", x, 384, 192, 1);
        b1 = Basic($"{p}.branch1.1", b1, 192, 224, 3, padding: 1);
        b1 = Basic($"{p}.branch1.2", b1, 224, 256, 3, stride: 2);
        var b2 = MaxPool($"{p}.branch2", x, 3, 2);
        return Concat(name, [b0, b1, b2], op: true);
    }

    private string BlockB(string name, string p, string x)
    {
        var b0 = Basic($"{p}.branch0", x, 1024, 384, 1);
        var b1 = Basic($"{p}.branch1.0", x, 1024, 192, 1);
        b1 = Basic($"{p}.branch1.1", b1, 192, 224, (1, 7), (0, 3));
        b1 = Basic($"{p}.branch1.2", b1, 224, 256, (7, 1), (3, 0));
        var b2 = Basic($"{p}.branch2.0", x, 1024, 192, 1);
        b2 = Basic($"{p}.branch2.1", b2, 192, 192, (7, 1), (3, 0));
        b2 = Basic($"{p}.branch2.2", b2, 192, 224, (1, 7), (0, 3));
        b2 = Basic($"{p}.branch2.3", b2, 224, 224, (7, 1), (3, 0));
        b2 = Basic($"{p}.branch2.4", b2, 224, 256, (1, 7), (0, 3));
        var b3 = Basic($"{p}.branch3.1", AvgPool3($"{p}.branch3.0", x), 1024, 128, 1);
        return Concat(name, [b0, b1, b2, b3], op: true);
    }

    private string ReductionB(string name, string p, string x)
    {
        var b0 = Basic($"{p}.branch0.1", Basic($"{p}.branch0.0", x, 1024, 192, 1), 192, 192, 3, stride: 2);
        var b1 = Basic($"{p}.branch1.0", x, 1024, 256, 1);
        b1 = Basic($"{p}.branch1.1", b1, 256, 256, (1, 7), (0, 3));
        b1 = Basic($"{p}.branch1.2", b1, 256, 320, (7, 1), (3, 0));
        b1 = Basic($"{p}.branch1.3", b1, 320, 320, 3, stride: 2);
        var b2 = MaxPool($"{p}.branch2", x, 3, 2);
        return Concat(name, [b0, b1, b2], op: true);
    }

    private string BlockC(string name, string p, string x)
    {
        var b0 = Basic($"{p}.branch0", x, 1536, 256, 1);
        var b1 = Basic($"{p}.branch1_0", x, 1536, 384, 1);
        var b1a = Basic($"{p}.branch1_1a", b1, 384, 256, (1, 3), (0, 1));
        var b1b = Basic($"{p}.branch1_1b", b1, 384, 256, (3, 1), (1, 0));
        var b2 = Basic($"{p}.branch2_0", x, 1536, 384, 1);
        b2 = Basic($"{p}.branch2_1", b2, 384, 448, (3, 1), (1, 0));
        b2 = Basic($"{p}.branch2_2", b2, 448, 512, (1, 3), (0, 1));
        var b2a = Basic($"{p}.branch2_3a", b2, 512, 256, (1, 3), (0, 1));
        var b2b = Basic($"{p}.branch2_3b", b2, 512, 256, (3, 1), (1, 0));
        var b3 = Basic($"{p}.branch3.1", AvgPool3($"{p}.branch3.0", x), 1536, 256, 1);
        return Concat(name, [b0, b1a, b1b, b2a, b2b, b3], op: true);
    }
}
