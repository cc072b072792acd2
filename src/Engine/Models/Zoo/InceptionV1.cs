namespace Microscope.Engine.Models.Zoo;

/// <summary>InceptionV1 as lucid's "inception5h" graph (GoogLeNet trained by Google with local
/// response normalisation; 1008 classes), the model Microscope and lucid/lucent render.
/// Layer and parameter names are lucent's (lucent/modelzoo/inceptionv1/InceptionV1.py):
/// "mixed4a_3x3_pre_relu_conv.weight" etc., so lucent's inception5h.pth state dict loads as is.
/// TensorFlow "SAME" padding is reproduced exactly as lucent does (asymmetric pads before the
/// stride-2 layers). Ops are the ReLU outputs and the mixed concatenations.</summary>
public sealed class InceptionV1 : ZooModel
{
    /// <summary>lucid's inception5h classifier: 1008 outputs (1000 ImageNet classes plus padding).</summary>
    public const int ClassCount = 1008;

    public override string Name => "inceptionv1";
    public override string Dataset => "ImageNet (lucid inception5h)";
    public override int InputSize => 224;
    public override Preprocessing Preprocessing => Preprocessing.Lucid;

    // LRN as lucent applies it: F.local_response_norm(size=9, alpha=9.99999974738e-05, beta=0.5, k=1).
    private const int LrnSize = 9;
    private const double LrnAlpha = 9.99999974738e-05;
    private const double LrnBeta = 0.5;

    public InceptionV1()
    {
        // lucent pads conv2d0's input explicitly, TensorFlow's "SAME": 2 before, 3 after. The
        // same zeros as the convolution's own padding, without a padded copy of the image.
        var x = ConvRelu("conv2d0", ModelGraph.Input, 3, 64, 7, stride: 2, padding: 2, paddingAfter: 3, op: true);
        x = MaxPoolSame("maxpool0", x, 3, 2, 0, 1, 0, 1);
        x = Lrn("localresponsenorm0", x, LrnSize, LrnAlpha, LrnBeta, 1);
        x = ConvRelu("conv2d1", x, 64, 64, 1, op: true);
        // lucent pads conv2d2's input explicitly (1 on every side): the same zeros as the
        // convolution's own padding, without copying the activation into a padded buffer.
        x = ConvRelu("conv2d2", x, 64, 192, 3, padding: 1, op: true);
        x = Lrn("localresponsenorm1", x, LrnSize, LrnAlpha, LrnBeta, 1);
        x = MaxPoolSame("maxpool1", x, 3, 2, 0, 1, 0, 1);
        x = Mixed("mixed3a", x, 192, 64, 96, 128, 16, 32, 32);
        x = Mixed("mixed3b", x, 256, 128, 128, 192, 32, 96, 64);
        x = MaxPoolSame("maxpool4", x, 3, 2, 0, 1, 0, 1);
        x = Mixed("mixed4a", x, 480, 192, 96, 204, 16, 48, 64);
        x = Mixed("mixed4b", x, 508, 160, 112, 224, 24, 64, 64);
        x = Mixed("mixed4c", x, 512, 128, 128, 256, 24, 64, 64);
        x = Mixed("mixed4d", x, 512, 112, 144, 288, 32, 64, 64);
        x = Mixed("mixed4e", x, 528, 256, 160, 320, 32, 128, 128);
        x = MaxPoolSame("maxpool10", x, 3, 2, 0, 1, 0, 1);
        x = Mixed("mixed5a", x, 832, 256, 160, 320, 48, 128, 128);
        x = Mixed("mixed5b", x, 832, 384, 192, 384, 48, 128, 128);
        x = AvgPool("avgpool0", x, 7, 1, countIncludePad: false);
        Linear("softmax2_pre_activation_matmul", x, 1024, ClassCount);
    }

    /// <summary>Convolution with bias and ReLU as one node named after lucent's ReLU layer;
    /// its parameters carry lucent's "{name}_pre_relu_conv" prefix.</summary>
    private string ConvRelu(string name, string input, int inChannels, int outChannels, int kernel, int stride = 1,
        int padding = 0, bool op = false, int? paddingAfter = null) =>
        ConvUnit(name, input, inChannels, outChannels, (kernel, kernel), (stride, stride), (padding, padding),
            convParams: name + "_pre_relu_conv", bias: true, op: op, paddingAfter: paddingAfter is int after ? (after, after) : null);

    private string Mixed(string name, string input, int inChannels, int c1x1, int c3x3Bottleneck, int c3x3,
        int c5x5Bottleneck, int c5x5, int poolReduce)
    {
        var b1 = ConvRelu(name + "_1x1", input, inChannels, c1x1, 1);
        var b2 = ConvRelu(name + "_3x3_bottleneck", input, inChannels, c3x3Bottleneck, 1);
        b2 = ConvRelu(name + "_3x3", b2, c3x3Bottleneck, c3x3, 3, padding: 1);
        var b3 = ConvRelu(name + "_5x5_bottleneck", input, inChannels, c5x5Bottleneck, 1);
        b3 = ConvRelu(name + "_5x5", b3, c5x5Bottleneck, c5x5, 5, padding: 2);
        // max_pool2d pads with -inf, as lucent's explicit F.pad(value=-inf).
        var b4 = MaxPool(name + "_pool", input, 3, 1, padding: 1);
        b4 = ConvRelu(name + "_pool_reduce", b4, inChannels, poolReduce, 1);
        return Concat(name, [b1, b2, b3, b4], op: true);
    }
}
