namespace Microscope.Engine.Models.Zoo;

/// <summary>AlexNet in the Caffe layout: 227 px input, two groups on conv2/4/5 (the original
/// two-GPU split), LRN, Caffe layer names for ops and parameters ("conv2.weight" is
/// [256, 48, 5, 5]). Ops: the ReLU outputs of conv1..conv5, fc6 and fc7. fc6/fc7 are
/// addressable ops but not part of the channel sweep (the catalogue counts AlexNet's conv
/// units only: 1,376).</summary>
public class AlexNet : ZooModel
{
    private readonly string _name;
    private readonly string _dataset;

    /// <summary>bvlc_alexnet (ImageNet): conv → ReLU → LRN → pool.</summary>
    public AlexNet() : this("alexnet", "ImageNet (BVLC Caffe)", classes: 1000, normBeforePool: true) { }

    /// <param name="normBeforePool">bvlc_alexnet normalises before pooling; the CaffeNet-derived
    /// Places365 deploy prototxt pools first.</param>
    protected AlexNet(string name, string dataset, int classes, bool normBeforePool)
    {
        _name = name;
        _dataset = dataset;
        var x = Conv("conv1", ModelGraph.Input, 3, 96, 11, stride: 4, op: true);
        x = NormAndPool("1", x, normBeforePool);
        x = Conv("conv2", x, 96, 256, 5, padding: 2, groups: 2, op: true);
        x = NormAndPool("2", x, normBeforePool);
        x = Conv("conv3", x, 256, 384, 3, padding: 1, op: true);
        x = Conv("conv4", x, 384, 384, 3, padding: 1, groups: 2, op: true);
        x = Conv("conv5", x, 384, 256, 3, padding: 1, groups: 2, op: true);
        x = MaxPool("pool5", x, 3, 2, ceil: true);
        // fc6 takes a 6x6 grid: pool5 is 6x6 at the native 227 px (this is then the identity)
        // but 7x7 from about 195 px, so larger renders of fc6/fc7 average it to 6x6, as
        // torchvision's AlexNet does.
        x = AdaptiveAvgPool("pool5_6x6", x, 6, 6);
        x = Linear("fc6", x, 256 * 6 * 6, 4096, relu: true, op: true);
        x = Linear("fc7", x, 4096, 4096, relu: true, op: true);
        Linear("fc8", x, 4096, classes);
    }

    public override string Name => _name;
    public override string Dataset => _dataset;
    public override int InputSize => 227;
    public override Preprocessing Preprocessing => Preprocessing.CaffeBgr;

    protected override bool InChannelSweep(string op) => !op.StartsWith("fc", StringComparison.Ordinal);

    // Caffe LRN: local_size 5, alpha 1e-4 (divided by the window), beta 0.75; pools round up.
    private string NormAndPool(string index, string input, bool normBeforePool) => normBeforePool
        ? MaxPool("pool" + index, Lrn("norm" + index, input, 5, 1e-4, 0.75, 1), 3, 2, ceil: true)
        : Lrn("norm" + index, MaxPool("pool" + index, input, 3, 2, ceil: true), 5, 1e-4, 0.75, 1);
}
