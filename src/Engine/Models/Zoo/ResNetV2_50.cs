namespace Microscope.Engine.Models.Zoo;

/// <summary>ResNet-50 v2 (pre-activation) as TF-slim builds it (resnet_v2.py, resnet_v2_50;
/// 224 px, inputs in [-1, 1], 1001 classes). Each block's stride sits on its LAST unit, as
/// in TF-slim (not the first, as in most PyTorch ResNets); the identity shortcut of a strided
/// unit subsamples its input. Parameter names are TF-slim's variable scopes below
/// "resnet_v2_50/" with '/' as '.', and the batch-norm variables renamed as PyTorch's
/// (gamma → weight, beta → bias, moving_mean → running_mean, moving_variance → running_var):
/// "block2.unit_1.bottleneck_v2.conv2.BatchNorm.running_var", "block2.unit_1.bottleneck_v2.shortcut.bias".
/// Op names are the catalogue's ("block2/unit_1/preact", "block2/unit_3/add", "postnorm").
/// No independent implementation is available on the build machine (torchvision's
/// ResNets are v1).</summary>
public sealed class ResNetV2_50 : ZooModel
{
    /// <summary>TF-slim's ImageNet classifier: 1000 classes plus background.</summary>
    public const int ClassCount = 1001;

    // TF-slim resnet_arg_scope batch_norm_epsilon.
    private const double BnEps = 1e-5;

    /// <summary>(bottleneck depth, units, stride of the last unit) per block: resnet_v2_50.</summary>
    private static readonly (int Bottleneck, int Units, int Stride)[] Blocks = [(64, 3, 2), (128, 4, 2), (256, 6, 2), (512, 3, 1)];

    public override string Name => "resnetv2_50";
    public override string Dataset => "ImageNet (TF-slim)";
    public override int InputSize => 224;
    public override Preprocessing Preprocessing => Preprocessing.SignedUnit;

    public ResNetV2_50()
    {
        var x = ConvUnit("conv1", ModelGraph.Input, 3, 64, (7, 7), (2, 2), (3, 3), bias: true, relu: false);
        x = MaxPoolSame("pool1", x, 3, 2, 0, 1, 0, 1);
        var depthIn = 64;
        for (var b = 0; b < Blocks.Length; b++)
        {
            var (bottleneck, units, lastStride) = Blocks[b];
            for (var u = 1; u <= units; u++)
            {
                x = Unit($"block{b + 1}", u, x, depthIn, bottleneck * 4, bottleneck, u == units ? lastStride : 1);
                depthIn = bottleneck * 4;
            }
        }
        x = Norm("postnorm", x, 2048, "postnorm", BnEps, relu: true, op: true);
        x = GlobalAvgPool("pool5", x);
        Linear("logits", x, 2048, ClassCount);
    }

    /// <summary>TF names ("resnet_v2_50/block2/unit_3/bottleneck_v2/add") and Microscope's
    /// flattened forms ("resnet_v2_50_block2_unit_3_bottleneck_v2_add_0"), plus the op name
    /// with underscores ("block2_unit_3_add") for links that cannot carry '/'.</summary>
    public override IEnumerable<string> AliasesOf(string op)
    {
        var tf = op == "postnorm" ? "resnet_v2_50/postnorm/Relu"
            : op.EndsWith("/preact", StringComparison.Ordinal) ? $"resnet_v2_50/{op[..^"/preact".Length]}/bottleneck_v2/preact/Relu"
            : $"resnet_v2_50/{op[..^"/add".Length]}/bottleneck_v2/add";
        return [op + "_0", op.Replace('/', '_'), op.Replace('/', '_') + "_0", tf, tf.Replace('/', '_') + "_0"];
    }

    private string Unit(string block, int unit, string input, int depthIn, int depth, int bottleneck, int stride)
    {
        var op = $"{block}/unit_{unit}";
        var p = $"{block}.unit_{unit}.bottleneck_v2";
        // The catalogue shows each block's first pre-activation.
        var preact = Norm(op + "/preact", input, depthIn, p + ".preact", BnEps, relu: true, op: unit == 1);
        var shortcut = depth == depthIn
            ? (stride == 1 ? input : MaxPool(p + ".shortcut", input, 1, stride))
            : ConvUnit(p + ".shortcut", preact, depthIn, depth, (1, 1), (stride, stride), bias: true, relu: false);
        var residual = ConvUnit(p + ".conv1", preact, depthIn, bottleneck, (1, 1), convParams: p + ".conv1",
            bnParams: p + ".conv1.BatchNorm", bnEps: BnEps);
        residual = ConvUnit(p + ".conv2", residual, bottleneck, bottleneck, (3, 3), (stride, stride), (1, 1),
            bnParams: p + ".conv2.BatchNorm", bnEps: BnEps);
        residual = ConvUnit(p + ".conv3", residual, bottleneck, depth, (1, 1), bias: true, relu: false);
        return Sum(op + "/add", shortcut, residual, op: true);
    }
}
