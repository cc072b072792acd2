namespace Microscope.Engine.Models.Zoo;

/// <summary>GoogLeNet in the BVLC Caffe layout (deploy_googlenet_places365.prototxt, CSAIL
/// Places365), without the auxiliary heads. Caffe layer names with '/' replaced by '_' name
/// the ops and the parameters ("inception_4c_3x3_reduce.weight", "loss3_classifier.bias").
/// Caffe pools round up (ceil mode); LRN is Caffe's across-channel LRN (alpha divided by
/// the window, as PyTorch's).</summary>
public sealed class InceptionV1Places365 : ZooModel
{
    /// <summary>Places365-standard: 365 scene categories.</summary>
    public const int ClassCount = 365;

    public override string Name => "inceptionv1_places365";
    public override string Dataset => "Places365";
    public override int InputSize => 224;
    public override Preprocessing Preprocessing => Preprocessing.CaffeBgr;

    public InceptionV1Places365()
    {
        var x = Conv("conv1_7x7_s2", ModelGraph.Input, 3, 64, 7, stride: 2, padding: 3, op: true);
        x = MaxPool("pool1_3x3_s2", x, 3, 2, ceil: true);
        x = Lrn("pool1_norm1", x, 5, 1e-4, 0.75, 1);
        x = Conv("conv2_3x3_reduce", x, 64, 64, 1, op: true);
        x = Conv("conv2_3x3", x, 64, 192, 3, padding: 1, op: true);
        x = Lrn("conv2_norm2", x, 5, 1e-4, 0.75, 1);
        x = MaxPool("pool2_3x3_s2", x, 3, 2, ceil: true);
        x = Inception("inception_3a", x, 192, 64, 96, 128, 16, 32, 32);
        x = Inception("inception_3b", x, 256, 128, 128, 192, 32, 96, 64);
        x = MaxPool("pool3_3x3_s2", x, 3, 2, ceil: true);
        x = Inception("inception_4a", x, 480, 192, 96, 208, 16, 48, 64);
        x = Inception("inception_4b", x, 512, 160, 112, 224, 24, 64, 64);
        x = Inception("inception_4c", x, 512, 128, 128, 256, 24, 64, 64);
        x = Inception("inception_4d", x, 512, 112, 144, 288, 32, 64, 64);
        x = Inception("inception_4e", x, 528, 256, 160, 320, 32, 128, 128);
        x = MaxPool("pool4_3x3_s2", x, 3, 2, ceil: true);
        x = Inception("inception_5a", x, 832, 256, 160, 320, 32, 128, 128);
        x = Inception("inception_5b", x, 832, 384, 192, 384, 48, 128, 128);
        x = AvgPool("pool5_7x7_s1", x, 7, 1);
        Linear("loss3_classifier", x, 1024, ClassCount);
    }

    /// <summary>Caffe's blob names ("conv1/7x7_s2", "inception_4c/output") and their flattened
    /// Microscope forms ("inception_4c_output_0").</summary>
    public override IEnumerable<string> AliasesOf(string op) => op.StartsWith("inception_", StringComparison.Ordinal)
        ? [op + "_0", op + "/output", op + "_output_0"]
        : [op + "_0", string.Concat(op.AsSpan(0, op.IndexOf('_')), "/", op.AsSpan(op.IndexOf('_') + 1))];

    private string Inception(string name, string input, int inChannels, int c1x1, int c3x3Reduce, int c3x3,
        int c5x5Reduce, int c5x5, int poolProj)
    {
        var b1 = Conv(name + "_1x1", input, inChannels, c1x1, 1);
        var b2 = Conv(name + "_3x3", Conv(name + "_3x3_reduce", input, inChannels, c3x3Reduce, 1), c3x3Reduce, c3x3, 3, padding: 1);
        var b3 = Conv(name + "_5x5", Conv(name + "_5x5_reduce", input, inChannels, c5x5Reduce, 1), c5x5Reduce, c5x5, 5, padding: 2);
        var b4 = Conv(name + "_pool_proj", MaxPool(name + "_pool", input, 3, 1, padding: 1), inChannels, poolProj, 1);
        return Concat(name, [b1, b2, b3, b4], op: true);
    }
}
