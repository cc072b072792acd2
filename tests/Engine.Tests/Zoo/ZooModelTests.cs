using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests.Zoo;

/// <summary>Each model's descriptor, computed once (one full forward per model at its input size).</summary>
public sealed class ZooDescriptors
{
    public IReadOnlyDictionary<string, ModelDescriptor> BySlug { get; } = Catalogue.Models.ToDictionary(m => m.Slug, m =>
    {
        using var model = ModelZoo.CreateArchitecture(m.Slug);
        return model.Describe();
    });
}

/// <summary>The eight architectures against the catalogue: ops, channels, shapes, parameter
/// counts, aliases, truncation, strict loading and a short render each (random seeded weights).</summary>
public class ZooModelTests(ZooDescriptors descriptors) : IClassFixture<ZooDescriptors>
{
    private static VisionModel Random(string slug, int seed = 0) => ModelZoo.Load(slug, new WeightsSource.Random(seed), Device.CPU);

    [Fact]
    public void The_zoo_registers_the_eight_models_and_their_sweep_covers_66060_units()
    {
        foreach (var m in Catalogue.Models) Assert.Contains(m.Slug, ModelZoo.Names);
        Assert.Equal(Catalogue.TotalUnits, descriptors.BySlug.Values.Sum(d => d.UnitCount));
    }

    [Fact]
    public void Receptive_fields_count_every_convolution_and_leading_pad()
    {
        // By hand. ResNetV2 conv1 7x7/2 pad 3: size 7, jump 2, output 0 centred on pixel
        // centre 0.5; pool1 3x3/2 after a "SAME" pad of 0 before and 1 after: 7 + 2*2 = 11,
        // jump 4, centre 0.5 + 1*2 = 2.5.
        using (var resnet = ModelZoo.CreateArchitecture("resnetv2_50"))
            Assert.Equal(new ReceptiveField(11, 4, 2.5), resnet.ReceptiveFieldOf("block1/unit_1/preact"));
        // InceptionV1 pads 2 before its 7x7/2 conv: output 0 covers pixels -2..4, centre 1.5.
        using (var inception = ModelZoo.CreateArchitecture("inceptionv1"))
            Assert.Equal(new ReceptiveField(7, 2, 1.5), inception.ReceptiveFieldOf("conv2d0"));
        // The published sizes of the last feature maps (Araujo et al., "Computing Receptive
        // Fields of Convolutional Neural Networks", Distill 2019): Inception v3 1311,
        // ResNet-50 483.
        using (var v3 = ModelZoo.CreateArchitecture("inceptionv3"))
            Assert.Equal(1311, v3.ReceptiveFieldOf("Mixed_7c").Size);
        using (var resnet = ModelZoo.CreateArchitecture("resnetv2_50"))
            Assert.Equal(483, resnet.ReceptiveFieldOf("postnorm").Size);
    }

    [Theory]
    [MemberData(nameof(Catalogue.Slugs), MemberType = typeof(Catalogue))]
    public void Ops_channels_shapes_input_and_preprocessing_equal_the_catalogue(string slug)
    {
        var expected = Catalogue.Get(slug);
        var d = descriptors.BySlug[slug];
        Assert.Equal(slug, d.Name);
        Assert.Equal(expected.InputSize, d.InputSize);
        Assert.Equal(expected.Preprocessing, d.Preprocessing);
        Assert.Equal(expected.Ops.Select(o => o.Name), d.Ops.Select(o => o.Name));
        Assert.Equal(expected.Ops.Select(o => o.Channels), d.Ops.Select(o => o.Channels));
        Assert.Equal(expected.Ops.Select(o => o.Size), d.Ops.Select(o => o.Height));
        Assert.Equal(expected.Ops.Select(o => o.Size), d.Ops.Select(o => o.Width));
        // Every op reads from the input or from earlier ops only.
        for (var i = 0; i < d.Ops.Count; i++)
            Assert.All(d.Ops[i].Inputs, n => Assert.True(n == ModelGraph.Input || d.Ops.Take(i).Any(o => o.Name == n), $"{d.Ops[i].Name} <- {n}"));
    }

    [Theory]
    [InlineData(227)]
    [InlineData(195)]
    [InlineData(256)]
    public void AlexNets_fc6_and_fc7_take_renders_of_any_size(int size)
    {
        using var alexnet = ModelZoo.Load("alexnet", new WeightsSource.Random(3), Device.CPU);
        using var input = torch.randn([1, 3, size, size], new Random(0));
        var outputs = alexnet.Forward(input, ["fc6", "fc7"]);
        Assert.Equal([1L, 4096L], outputs["fc6"].shape);
        Assert.Equal([1L, 4096L], outputs["fc7"].shape);
        foreach (var t in outputs.Values) t.Dispose();
    }

    [Fact]
    public void Only_AlexNets_fully_connected_ops_are_outside_the_channel_sweep()
    {
        foreach (var (slug, d) in descriptors.BySlug)
            Assert.Equal(slug.StartsWith("alexnet", StringComparison.Ordinal) ? ["fc6", "fc7"] : [], d.Ops.Where(o => !o.InSweep).Select(o => o.Name));
    }

    /// <summary>Our counts include batch-norm running statistics (they are weights we load);
    /// the published figures count trainable parameters, so allow 1.5 %.</summary>
    [Theory]
    [MemberData(nameof(Catalogue.Slugs), MemberType = typeof(Catalogue))]
    public void Parameter_count_is_close_to_the_published_figure(string slug)
    {
        var published = Catalogue.Get(slug).PublishedParameters;
        using var model = ModelZoo.CreateArchitecture(slug);
        var count = model.Parameters.ParameterCount;
        Assert.True(Math.Abs(count - published) <= 0.015 * published, $"{slug}: {count:N0} parameters, published {published:N0}");
    }

    [Fact]
    public void Exact_parameter_counts_of_the_Caffe_models()
    {
        // Caffe's bvlc_alexnet and VGG_ILSVRC_19_layers, counted from their prototxts.
        using (var alexnet = ModelZoo.CreateArchitecture("alexnet")) Assert.Equal(60_965_224, alexnet.Parameters.ParameterCount);
        using (var vgg = ModelZoo.CreateArchitecture("vgg19")) Assert.Equal(143_667_240, vgg.Parameters.ParameterCount);
        // BVLC GoogLeNet without auxiliary heads has 6,998,552; Places365 replaces 1000 classes by 365.
        using (var places = ModelZoo.CreateArchitecture("inceptionv1_places365")) Assert.Equal(6_998_552 - 635 * 1025, places.Parameters.ParameterCount);
    }

    [Theory]
    [InlineData("inceptionv1", "mixed4c_0", "mixed4c")]
    [InlineData("inceptionv1", "conv2d0_0", "conv2d0")]
    [InlineData("inceptionv1_places365", "inception_4c/output", "inception_4c")]
    [InlineData("inceptionv1_places365", "conv1/7x7_s2", "conv1_7x7_s2")]
    [InlineData("alexnet", "conv5_0", "conv5")]
    [InlineData("vgg19", "conv5_4_conv5_4_0", "conv5_4")]
    [InlineData("vgg19", "conv5_4/conv5_4", "conv5_4")]
    [InlineData("inceptionv3", "InceptionV3_InceptionV3_Mixed_5d_concat_0", "Mixed_5d")]
    [InlineData("inceptionv3", "InceptionV3/InceptionV3/Conv2d_2b_3x3/Relu", "Conv2d_2b_3x3")]
    [InlineData("inceptionv4", "InceptionV4_InceptionV4_Mixed_6h_concat_0", "Mixed_6h")]
    [InlineData("resnetv2_50", "resnet_v2_50_block2_unit_3_bottleneck_v2_add_0", "block2/unit_3/add")]
    [InlineData("resnetv2_50", "resnet_v2_50_block3_unit_1_bottleneck_v2_preact_Relu_0", "block3/unit_1/preact")]
    [InlineData("resnetv2_50", "resnet_v2_50_postnorm_Relu_0", "postnorm")]
    [InlineData("resnetv2_50", "block4_unit_2_add", "block4/unit_2/add")]
    public void Microscope_aliases_resolve_to_the_short_names(string slug, string alias, string op)
    {
        using var model = ModelZoo.CreateArchitecture(slug);
        Assert.Equal(op, model.ResolveOp(alias));
        // The descriptor the farm stores carries the same aliases, and its resolver (the API's
        // and the viewer's) finds the same op.
        var described = new ModelDescriptor(slug, "", 0, "", [.. model.OpNames.Select(o => new OpInfo(o, 1, 1, 1, [], true, [.. model.AliasesOf(o)]))], 0, null, false);
        Assert.Equal(op, described.FindOp(alias)?.Name);
    }

    /// <summary>Every op, truncated, equals the same op from the forward that computes all of
    /// them, and evaluates fewer nodes unless it is the last op.</summary>
    [Theory]
    [MemberData(nameof(Catalogue.Slugs), MemberType = typeof(Catalogue))]
    public void Truncation_at_every_op_is_exact(string slug)
    {
        var size = Catalogue.Get(slug).TestSize;
        using var model = Random(slug);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = torch.randn([1, 3, size, size], new System.Random(1));
        var all = model.Forward(x, model.OpNames);
        var allNodes = ModelGraph.LastNodesEvaluated;
        foreach (var op in model.OpNames)
        {
            using var opScope = torch.NewDisposeScope();
            var truncated = model.Forward(x, op);
            if (op != model.OpNames[^1]) Assert.True(ModelGraph.LastNodesEvaluated < allNodes, $"{slug}/{op}: {ModelGraph.LastNodesEvaluated} of {allNodes} nodes");
            Assert.Equal(all[op].shape, truncated.shape);
            Assert.Equal(all[op].data<float>(), truncated.data<float>());
        }
    }

    [Fact]
    public void Random_weights_activate_every_op_and_are_marked()
    {
        using var model = Random("inceptionv1", 3);
        var d = model.Describe();
        Assert.True(d.RandomWeights);
        Assert.Equal("random-3", d.Version);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var noise = torch.randn([1, 3, 224, 224], new System.Random(0));
        var x = Renderer.ModelInput(model, noise.sigmoid());
        foreach (var (op, a) in model.Forward(x, model.OpNames))
            Assert.True(a.abs().sum().item() > 0, $"{op} is all zeros");
    }

    [Fact]
    public void Inceptionv1_parameters_carry_lucents_inception5h_names_and_shapes()
    {
        using var model = ModelZoo.CreateArchitecture("inceptionv1");
        // From lucent/modelzoo/inceptionv1/InceptionV1.py (the inception5h.pth state dict).
        var expected = new Dictionary<string, long[]>
        {
            ["conv2d0_pre_relu_conv.weight"] = [64, 3, 7, 7],
            ["conv2d2_pre_relu_conv.bias"] = [192],
            ["mixed3a_5x5_bottleneck_pre_relu_conv.weight"] = [16, 192, 1, 1],
            ["mixed4a_3x3_pre_relu_conv.weight"] = [204, 96, 3, 3],
            ["mixed4a_pool_reduce_pre_relu_conv.weight"] = [64, 480, 1, 1],
            ["mixed4b_1x1_pre_relu_conv.weight"] = [160, 508, 1, 1],
            ["mixed5b_5x5_pre_relu_conv.weight"] = [128, 48, 5, 5],
            ["softmax2_pre_activation_matmul.weight"] = [1008, 1024],
        };
        foreach (var (name, shape) in expected) Assert.Equal(shape, model.Parameters.ShapeOf(name));
        Assert.All(model.Parameters.Names, n => Assert.Matches(@"^(conv2d[0-2]|mixed[345][a-e]_(1x1|3x3|5x5|3x3_bottleneck|5x5_bottleneck|pool_reduce))_pre_relu_conv\.(weight|bias)$|^softmax2_pre_activation_matmul\.(weight|bias)$", n));
        Assert.Equal(2 * (3 + 9 * 6) + 2, model.Parameters.Names.Count);
    }

    [Fact]
    public void Strict_loading_rejects_another_models_file_and_names_the_tensors_and_shapes()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ms-zoo-{Guid.NewGuid():N}.safetensors");
        try
        {
            using (var alexnet = Random("alexnet_places365")) Safetensors.Write(path, alexnet.Parameters.Export());
            // Same tensor names, one mis-shaped classifier: 365 versus 1000 classes.
            var e = Assert.Throws<InvalidDataException>(() => ModelZoo.Load("alexnet", new WeightsSource.File(path), Device.CPU));
            Assert.Contains("tensor 'fc8.weight' has shape [365, 4096], expected [1000, 4096]", e.Message);
            Assert.Contains("tensor 'fc8.bias' has shape [365], expected [1000]", e.Message);
            // A different architecture: everything missing and everything unexpected.
            var other = Assert.Throws<InvalidDataException>(() => ModelZoo.Load("inceptionv1", new WeightsSource.File(path), Device.CPU));
            Assert.Contains("missing tensor(s): conv2d0_pre_relu_conv.weight", other.Message);
            Assert.Contains("unexpected tensor(s): conv1.bias", other.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Strict_loading_names_a_missing_and_an_extra_tensor_and_loads_a_complete_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ms-zoo-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var source = Random("resnetv2_50", 5);
            var arrays = source.Parameters.Export();
            var broken = arrays.Where(a => a.Name != "block2.unit_1.bottleneck_v2.conv2.BatchNorm.running_var")
                .Append(new NamedArray("block2.unit_1.bottleneck_v2.conv2.BatchNorm.moving_variance", [128], new float[128]));
            Safetensors.Write(path, broken);
            var e = Assert.Throws<InvalidDataException>(() => ModelZoo.Load("resnetv2_50", new WeightsSource.File(path), Device.CPU));
            Assert.Contains("missing tensor(s): block2.unit_1.bottleneck_v2.conv2.BatchNorm.running_var", e.Message);
            Assert.Contains("unexpected tensor(s): block2.unit_1.bottleneck_v2.conv2.BatchNorm.moving_variance", e.Message);

            Safetensors.Write(path, arrays);
            using var loaded = ModelZoo.Load("resnetv2_50", new WeightsSource.File(path), Device.CPU);
            Assert.False(loaded.RandomWeights);
            Assert.Equal(source.Parameters.ContentHash(), loaded.Version);
        }
        finally { File.Delete(path); }
    }

    /// <summary>A few optimisation steps on one channel of an early op raise it, for every model.
    /// The unit is the first one the starting image activates (post-ReLU ops: a unit at zero
    /// everywhere has no gradient with random weights).</summary>
    [Theory]
    [InlineData("inceptionv1", "conv2d2")]
    [InlineData("inceptionv1_places365", "conv2_3x3")]
    [InlineData("alexnet", "conv2")]
    [InlineData("alexnet_places365", "conv2")]
    [InlineData("vgg19", "conv2_1")]
    [InlineData("inceptionv3", "Conv2d_3b_1x1")]
    [InlineData("inceptionv4", "Mixed_3a")]
    [InlineData("resnetv2_50", "block1/unit_1/add")]
    public void A_short_render_of_an_early_op_raises_its_objective(string slug, string op)
    {
        using var model = Random(slug);
        var p = new RenderParameters { Steps = 8, Size = 64, Seed = 0 };
        var unit = Enumerable.Range(0, 16).First(u =>
        {
            using var image = new FourierImage(1, p.Size, p.Size, new System.Random(p.Seed), model.Device);
            return Renderer.Evaluate(model, new ChannelObjective(op, [u]), image)[0] > 0;
        });
        var result = Renderer.Render(model, new ChannelObjective(op, [unit]), 1, p);
        var img = result.Images[0];
        Assert.True(img.ObjectiveEnd > img.ObjectiveStart * 1.05 + 1e-6, $"{slug}/{op}:{unit}: {img.ObjectiveStart:G4} -> {img.ObjectiveEnd:G4}");
    }
}
