namespace Microscope.Engine.Models.Zoo;

/// <summary>InceptionV3 as TF-slim builds it (inception_v3.py; 299 px, inputs in [-1, 1]),
/// without the auxiliary head. Every convolution is conv (no bias) + batch norm (eps 0.001)
/// + ReLU. Parameter names follow torchvision's Inception3, itself a port of the TF-slim
/// checkpoint ("Mixed_6b.branch7x7_2.conv.weight", "Mixed_6b.branch7x7_2.bn.running_var"),
/// so torchvision state dicts load as they are. Average pools exclude padding, as
/// TensorFlow's "SAME" pools (torchvision counts it; the parity test accounts for that).
/// Ops are the TF-slim end points (ReLU outputs and Mixed concatenations).</summary>
public sealed class InceptionV3 : ZooModel
{
    /// <summary>torchvision's classifier: ImageNet-1k (TF-slim's has a 1001st background class).</summary>
    public const int ClassCount = 1000;

    // TF-slim inception_v3 batch_norm epsilon.
    private const double BnEps = 1e-3;

    public override string Name => "inceptionv3";
    public override string Dataset => "ImageNet (TF-slim)";
    public override int InputSize => 299;
    public override Preprocessing Preprocessing => Preprocessing.SignedUnit;

    public InceptionV3()
    {
        var x = Basic("Conv2d_1a_3x3", ModelGraph.Input, 3, 32, 3, stride: 2, op: true);
        x = Basic("Conv2d_2a_3x3", x, 32, 32, 3, op: true);
        x = Basic("Conv2d_2b_3x3", x, 32, 64, 3, padding: 1, op: true);
        x = MaxPool("MaxPool_3a_3x3", x, 3, 2);
        x = Basic("Conv2d_3b_1x1", x, 64, 80, 1, op: true);
        x = Basic("Conv2d_4a_3x3", x, 80, 192, 3, op: true);
        x = MaxPool("MaxPool_5a_3x3", x, 3, 2);
        x = BlockA("Mixed_5b", x, 192, 32);
        x = BlockA("Mixed_5c", x, 256, 64);
        x = BlockA("Mixed_5d", x, 288, 64);
        x = BlockB("Mixed_6a", x, 288);
        x = BlockC("Mixed_6b", x, 128);
        x = BlockC("Mixed_6c", x, 160);
        x = BlockC("Mixed_6d", x, 160);
        x = BlockC("Mixed_6e", x, 192);
        x = BlockD("Mixed_7a", x);
        x = BlockE("Mixed_7b", x, 1280);
        x = BlockE("Mixed_7c", x, 2048);
        x = GlobalAvgPool("avgpool", x);
        Linear("fc", x, 2048, ClassCount);
    }

    /// <summary>lucid's TF names ("InceptionV3/InceptionV3/Mixed_5d/concat") and Microscope's
    /// flattened form ("InceptionV3_InceptionV3_Mixed_5d_concat_0").</summary>
    public override IEnumerable<string> AliasesOf(string op) => TfSlimAliases("InceptionV3", op);

    internal static IEnumerable<string> TfSlimAliases(string scope, string op)
    {
        var tf = $"{scope}/{scope}/{op}/{(op.StartsWith("Mixed", StringComparison.Ordinal) ? "concat" : "Relu")}";
        return [op + "_0", tf, tf.Replace('/', '_') + "_0"];
    }

    private string Basic(string name, string input, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, bool op = false) =>
        Basic(name, input, inChannels, outChannels, (kernel, kernel), (stride, stride), (padding, padding), op);

    private string Basic(string name, string input, int inChannels, int outChannels, (int, int) kernel, (int, int) stride, (int, int) padding, bool op = false) =>
        ConvUnit(name, input, inChannels, outChannels, kernel, stride, padding, convParams: name + ".conv",
            bnParams: name + ".bn", bnEps: BnEps, op: op);

    private string AvgPool3(string name, string input) => AvgPool(name, input, 3, 1, padding: 1, countIncludePad: false);

    private string BlockA(string name, string x, int inChannels, int poolFeatures)
    {
        var b1 = Basic($"{name}.branch1x1", x, inChannels, 64, 1);
        var b5 = Basic($"{name}.branch5x5_2", Basic($"{name}.branch5x5_1", x, inChannels, 48, 1), 48, 64, 5, padding: 2);
        var b3 = Basic($"{name}.branch3x3dbl_1", x, inChannels, 64, 1);
        b3 = Basic($"{name}.branch3x3dbl_2", b3, 64, 96, 3, padding: 1);
        b3 = Basic($"{name}.branch3x3dbl_3", b3, 96, 96, 3, padding: 1);
        var bp = Basic($"{name}.branch_pool", AvgPool3($"{name}.avg_pool", x), inChannels, poolFeatures, 1);
        return Concat(name, [b1, b5, b3, bp], op: true);
    }

    private string BlockB(string name, string x, int inChannels)
    {
        var b3 = Basic($"{name}.branch3x3", x, inChannels, 384, 3, stride: 2);
        var bd = Basic($"{name}.branch3x3dbl_1", x, inChannels, 64, 1);
        bd = Basic($"{name}.branch3x3dbl_2", bd, 64, 96, 3, padding: 1);
        bd = Basic($"{name}.branch3x3dbl_3", bd, 96, 96, 3, stride: 2);
        var bp = MaxPool($"{name}.max_pool", x, 3, 2);
        return Concat(name, [b3, bd, bp], op: true);
    }

    private string BlockC(string name, string x, int c7)
    {
        var b1 = Basic($"{name}.branch1x1", x, 768, 192, 1);
        var b7 = Basic($"{name}.branch7x7_1", x, 768, c7, 1);
        b7 = Basic($"{name}.branch7x7_2", b7, c7, c7, (1, 7), (1, 1), (0, 3));
        b7 = Basic($"{name}.branch7x7_3", b7, c7, 192, (7, 1), (1, 1), (3, 0));
        var bd = Basic($"{name}.branch7x7dbl_1", x, 768, c7, 1);
        bd = Basic($"{name}.branch7x7dbl_2", bd, c7, c7, (7, 1), (1, 1), (3, 0));
        bd = Basic($"{name}.branch7x7dbl_3", bd, c7, c7, (1, 7), (1, 1), (0, 3));
        bd = Basic($"{name}.branch7x7dbl_4", bd, c7, c7, (7, 1), (1, 1), (3, 0));
        bd = Basic($"{name}.branch7x7dbl_5", bd, c7, 192, (1, 7), (1, 1), (0, 3));
        var bp = Basic($"{name}.branch_pool", AvgPool3($"{name}.avg_pool", x), 768, 192, 1);
        return Concat(name, [b1, b7, bd, bp], op: true);
    }

    private string BlockD(string name, string x)
    {
        var b3 = Basic($"{name}.branch3x3_2", Basic($"{name}.branch3x3_1", x, 768, 192, 1), 192, 320, 3, stride: 2);
        var b7 = Basic($"{name}.branch7x7x3_1", x, 768, 192, 1);
        b7 = Basic($"{name}.branch7x7x3_2", b7, 192, 192, (1, 7), (1, 1), (0, 3));
        b7 = Basic($"{name}.branch7x7x3_3", b7, 192, 192, (7, 1), (1, 1), (3, 0));
        b7 = Basic($"{name}.branch7x7x3_4", b7, 192, 192, 3, stride: 2);
        var bp = MaxPool($"{name}.max_pool", x, 3, 2);
        return Concat(name, [b3, b7, bp], op: true);
    }

    private string BlockE(string name, string x, int inChannels)
    {
        var b1 = Basic($"{name}.branch1x1", x, inChannels, 320, 1);
        var b3 = Basic($"{name}.branch3x3_1", x, inChannels, 384, 1);
        b3 = Concat($"{name}.branch3x3", [
            Basic($"{name}.branch3x3_2a", b3, 384, 384, (1, 3), (1, 1), (0, 1)),
            Basic($"{name}.branch3x3_2b", b3, 384, 384, (3, 1), (1, 1), (1, 0))]);
        var bd = Basic($"{name}.branch3x3dbl_1", x, inChannels, 448, 1);
        bd = Basic($"{name}.branch3x3dbl_2", bd, 448, 384, 3, padding: 1);
        bd = Concat($"{name}.branch3x3dbl", [
            Basic($"{name}.branch3x3dbl_3a", bd, 384, 384, (1, 3), (1, 1), (0, 1)),
            Basic($"{name}.branch3x3dbl_3b", bd, 384, 384, (3, 1), (1, 1), (1, 0))]);
        var bp = Basic($"{name}.branch_pool", AvgPool3($"{name}.avg_pool", x), inChannels, 192, 1);
        return Concat(name, [b1, b3, bd, bp], op: true);
    }
}
