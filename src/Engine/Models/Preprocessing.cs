using Microscope.Engine.Torch;

namespace Microscope.Engine.Models;

/// <summary>How a model expects its input, from an RGB image in [0, 1]:
/// out = (channels(x) * Scale - Mean) / Std, with channels reordered to BGR when asked.
/// Covers the catalogue's variants: lucid InceptionV1 (x*255-117), Caffe BGR minus mean,
/// TF-slim [-1, 1], ImageNet mean/std.</summary>
public sealed record Preprocessing(string Description, bool Bgr, double Scale, double[] Mean, double[] Std)
{
    /// <summary>A further step after the affine one, e.g. an ONNX model's own preprocessing
    /// graph (the ResNet-18 package's mean image); null for none.</summary>
    public Func<Tensor, Tensor>? Stage { get; init; }

    public static Preprocessing Lucid => new("RGB x*255 - 117", false, 255, [117, 117, 117], [1, 1, 1]);
    public static Preprocessing CaffeBgr => new("BGR x*255 minus the ImageNet BGR mean", true, 255, [103.939, 116.779, 123.68], [1, 1, 1]);
    public static Preprocessing SignedUnit => new("x in [-1, 1]", false, 1, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]);
    public static Preprocessing ImageNet => new("ImageNet mean/std", false, 1, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);

    /// <summary>Applies to a (B, 3, H, W) RGB tensor in [0, 1].</summary>
    public Tensor Apply(Tensor rgb)
    {
        var device = rgb.device;
        using var order = torch.tensor([2L, 1L, 0L], [3], device);
        using var reordered = Bgr ? rgb.index_select(1, order) : null;
        // (x*Scale - Mean)/Std == x*(Scale/Std) - Mean/Std. Disposing a temporary only drops
        // our reference: autograd keeps what it saved.
        using var scale = torch.tensor(Std.Select(s => (float)(Scale / s)).ToArray(), [1, 3, 1, 1], device);
        using var shift = torch.tensor(Mean.Zip(Std, (m, s) => (float)(m / s)).ToArray(), [1, 3, 1, 1], device);
        using var scaled = (reordered ?? rgb) * scale;
        var affine = scaled - shift;
        if (Stage is null) return affine;
        using (affine) return Stage(affine);
    }
}
