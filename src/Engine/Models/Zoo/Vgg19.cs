namespace Microscope.Engine.Models.Zoo;

/// <summary>VGG19 (Simonyan and Zisserman, configuration E) in the Caffe layout of the
/// authors' release (VGG_ILSVRC_19_layers): 3x3 convolutions with padding 1, 2x2 max pools,
/// fc6/fc7/fc8. Caffe layer names name the ops (ReLU outputs) and the parameters
/// ("conv5_4.weight", "fc6.weight"). Parity with torchvision's vgg19 is tested.</summary>
public sealed class Vgg19 : ZooModel
{
    /// <summary>ImageNet-1k.</summary>
    public const int ClassCount = 1000;

    /// <summary>Channels of each block's convolutions (configuration E: 2, 2, 4, 4, 4 layers).</summary>
    private static readonly (int Channels, int Layers)[] Blocks = [(64, 2), (128, 2), (256, 4), (512, 4), (512, 4)];

    public override string Name => "vgg19";
    public override string Dataset => "ImageNet (Caffe)";
    public override int InputSize => 224;
    public override Preprocessing Preprocessing => Preprocessing.CaffeBgr;

    public Vgg19()
    {
        var x = ModelGraph.Input;
        var inChannels = 3;
        for (var b = 0; b < Blocks.Length; b++)
        {
            for (var l = 1; l <= Blocks[b].Layers; l++)
            {
                x = Conv($"conv{b + 1}_{l}", x, inChannels, Blocks[b].Channels, 3, padding: 1, op: true);
                inChannels = Blocks[b].Channels;
            }
            x = MaxPool($"pool{b + 1}", x, 2, 2);
        }
        x = Linear("fc6", x, 512 * 7 * 7, 4096, relu: true);
        x = Linear("fc7", x, 4096, 4096, relu: true);
        Linear("fc8", x, 4096, ClassCount);
    }

    /// <summary>lucid's flattened caffe-tensorflow name: "conv5_4/conv5_4" → "conv5_4_conv5_4_0".</summary>
    public override IEnumerable<string> AliasesOf(string op) => [op + "_0", $"{op}/{op}", $"{op}_{op}_0"];
}
