namespace Microscope.Engine.Tests.Zoo;

/// <summary>One catalogue op: name, channels, spatial size at the model's input size.</summary>
public sealed record CatalogueOp(string Name, int Channels, int Size);

/// <summary>A model as ../shared/docs/model-catalogue.md lists it, with the spatial sizes its
/// published architecture gives at its input size and its published parameter count.</summary>
public sealed record CatalogueModel(string Slug, int InputSize, string Preprocessing, long PublishedParameters,
    CatalogueOp[] Ops, int TestSize)
{
    public override string ToString() => Slug;
}

/// <summary>The eight model organisms, transcribed from the catalogue (ops, channels, input,
/// preprocessing) and the published architectures (spatial sizes, parameter counts).</summary>
public static class Catalogue
{
    private static CatalogueOp[] Ops(params (string Name, int Channels, int Size)[] ops) =>
        ops.Select(o => new CatalogueOp(o.Name, o.Channels, o.Size)).ToArray();

    private static readonly CatalogueOp[] InceptionV1Ops = Ops(("conv2d0", 64, 112), ("conv2d1", 64, 56), ("conv2d2", 192, 56),
        ("mixed3a", 256, 28), ("mixed3b", 480, 28), ("mixed4a", 508, 14), ("mixed4b", 512, 14), ("mixed4c", 512, 14),
        ("mixed4d", 528, 14), ("mixed4e", 832, 14), ("mixed5a", 832, 7), ("mixed5b", 1024, 7));

    private static readonly CatalogueOp[] GoogLeNetOps = Ops(("conv1_7x7_s2", 64, 112), ("conv2_3x3_reduce", 64, 56), ("conv2_3x3", 192, 56),
        ("inception_3a", 256, 28), ("inception_3b", 480, 28), ("inception_4a", 512, 14), ("inception_4b", 512, 14),
        ("inception_4c", 512, 14), ("inception_4d", 528, 14), ("inception_4e", 832, 14), ("inception_5a", 832, 7), ("inception_5b", 1024, 7));

    private static readonly CatalogueOp[] AlexNetOps = Ops(("conv1", 96, 55), ("conv2", 256, 27), ("conv3", 384, 13),
        ("conv4", 384, 13), ("conv5", 256, 13), ("fc6", 4096, 1), ("fc7", 4096, 1));

    private static readonly CatalogueOp[] Vgg19Ops = Ops(("conv1_1", 64, 224), ("conv1_2", 64, 224), ("conv2_1", 128, 112), ("conv2_2", 128, 112),
        ("conv3_1", 256, 56), ("conv3_2", 256, 56), ("conv3_3", 256, 56), ("conv3_4", 256, 56),
        ("conv4_1", 512, 28), ("conv4_2", 512, 28), ("conv4_3", 512, 28), ("conv4_4", 512, 28),
        ("conv5_1", 512, 14), ("conv5_2", 512, 14), ("conv5_3", 512, 14), ("conv5_4", 512, 14));

    private static readonly CatalogueOp[] InceptionV3Ops = Ops(("Conv2d_1a_3x3", 32, 149), ("Conv2d_2a_3x3", 32, 147), ("Conv2d_2b_3x3", 64, 147),
        ("Conv2d_3b_1x1", 80, 73), ("Conv2d_4a_3x3", 192, 71), ("Mixed_5b", 256, 35), ("Mixed_5c", 288, 35), ("Mixed_5d", 288, 35),
        ("Mixed_6a", 768, 17), ("Mixed_6b", 768, 17), ("Mixed_6c", 768, 17), ("Mixed_6d", 768, 17), ("Mixed_6e", 768, 17),
        ("Mixed_7a", 1280, 8), ("Mixed_7b", 2048, 8), ("Mixed_7c", 2048, 8));

    private static readonly CatalogueOp[] InceptionV4Ops = Ops(("Conv2d_1a_3x3", 32, 149), ("Conv2d_2a_3x3", 32, 147), ("Conv2d_2b_3x3", 64, 147),
        ("Mixed_3a", 160, 73), ("Mixed_4a", 192, 71),
        ("Mixed_5a", 384, 35), ("Mixed_5b", 384, 35), ("Mixed_5c", 384, 35), ("Mixed_5d", 384, 35), ("Mixed_5e", 384, 35),
        ("Mixed_6a", 1024, 17), ("Mixed_6b", 1024, 17), ("Mixed_6c", 1024, 17), ("Mixed_6d", 1024, 17), ("Mixed_6e", 1024, 17),
        ("Mixed_6f", 1024, 17), ("Mixed_6g", 1024, 17), ("Mixed_6h", 1024, 17),
        ("Mixed_7a", 1536, 8), ("Mixed_7b", 1536, 8), ("Mixed_7c", 1536, 8), ("Mixed_7d", 1536, 8));

    // TF-slim resnet_v2 strides on each block's last unit: 56 → 28 → 14 → 7.
    private static readonly CatalogueOp[] ResNetV2Ops = Ops(("block1/unit_1/preact", 64, 56),
        ("block1/unit_1/add", 256, 56), ("block1/unit_2/add", 256, 56), ("block1/unit_3/add", 256, 28),
        ("block2/unit_1/preact", 256, 28),
        ("block2/unit_1/add", 512, 28), ("block2/unit_2/add", 512, 28), ("block2/unit_3/add", 512, 28), ("block2/unit_4/add", 512, 14),
        ("block3/unit_1/preact", 512, 14),
        ("block3/unit_1/add", 1024, 14), ("block3/unit_2/add", 1024, 14), ("block3/unit_3/add", 1024, 14),
        ("block3/unit_4/add", 1024, 14), ("block3/unit_5/add", 1024, 14), ("block3/unit_6/add", 1024, 7),
        ("block4/unit_1/preact", 1024, 7),
        ("block4/unit_1/add", 2048, 7), ("block4/unit_2/add", 2048, 7), ("block4/unit_3/add", 2048, 7), ("postnorm", 2048, 7));

    /// <summary>Published parameter counts (catalogue, "Weights"): GoogLeNet 7.0 M (BVLC, 1000
    /// classes, no auxiliary heads; Places365 has 365 classes: 7.0 M - 635 x 1025), AlexNet
    /// 61 M (60,965,224 for Caffe's; 365 classes: - 635 x 4097), VGG19 143.7 M, InceptionV3
    /// 23.8 M, InceptionV4 42.7 M, ResNetV2-50 25.6 M. TestSize: the smaller input the
    /// truncation tests use to stay fast (the ops are fully convolutional; 79 px still
    /// leaves Inception's last ops 1x1; AlexNet's fc6 needs its 227).</summary>
    public static readonly CatalogueModel[] Models =
    [
        new("inceptionv1", 224, "RGB x*255 - 117", 7_000_000, InceptionV1Ops, 96),
        new("inceptionv1_places365", 224, "BGR x*255 minus the ImageNet BGR mean", 7_000_000 - 635 * 1025, GoogLeNetOps, 96),
        new("alexnet", 227, "BGR x*255 minus the ImageNet BGR mean", 60_965_224, AlexNetOps, 227),
        new("alexnet_places365", 227, "BGR x*255 minus the ImageNet BGR mean", 60_965_224 - 635 * 4097, AlexNetOps, 227),
        new("vgg19", 224, "BGR x*255 minus the ImageNet BGR mean", 143_700_000, Vgg19Ops, 32),
        new("inceptionv3", 299, "x in [-1, 1]", 23_800_000, InceptionV3Ops, 79),
        new("inceptionv4", 299, "x in [-1, 1]", 42_700_000, InceptionV4Ops, 79),
        new("resnetv2_50", 224, "x in [-1, 1]", 25_600_000, ResNetV2Ops, 64),
    ];

    /// <summary>The catalogue's total: a full channel sweep of the eight (AlexNet's conv layers only).</summary>
    public const long TotalUnits = 66_060;

    public static CatalogueModel Get(string slug) => Models.Single(m => m.Slug == slug);
    public static TheoryData<string> Slugs() => new(Models.Select(m => m.Slug));
}
