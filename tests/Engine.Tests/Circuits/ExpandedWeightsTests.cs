using Microscope.Engine.Circuits;
using Microscope.Engine.Models;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests.Circuits;

public class ExpandedWeightsTests
{
    [Fact]
    public void Direct_weights_of_a_conv_pair_are_the_kernel()
    {
        // conv5 is a 3x3 convolution of relu(conv4): linearised, its weights on conv4 are its kernel.
        using var model = ModelZoo.Load("demo", new WeightsSource.Shipped(), Device.CPU);
        var table = ExpandedWeights.Compute(model, "conv5", "conv4");
        Assert.Equal((64, 64, 3, 3), (table.Units, table.FromUnits, table.KernelHeight, table.KernelWidth));
        var kernel = model.Parameters["conv5.weight"].data<float>();
        Assert.Equal(kernel.Length, table.Kernels.Length);
        for (var i = 0; i < kernel.Length; i++) Assert.Equal(kernel[i], table.Kernels[i], 1e-6f);
        // The unit-to-unit weight is the kernel's sum; the table survives storage.
        var sum = kernel.AsSpan((5 * 64 + 7) * 9, 9).ToArray().Sum(v => (double)v);
        var stored = WeightTable.FromBytes("conv5", "conv4", table.ToBytes());
        Assert.Equal(sum, stored.Weight(5, 7), 1e-5);
        Assert.Equal(table.WeightsOn(5)[7], stored.WeightsFrom(7)[5], 1e-9);
    }

    [Fact]
    public void Expanded_weights_across_an_inception_block_equal_finite_differences_of_the_linearised_block()
    {
        // mixed3b from mixed3a: four branches (1x1; 1x1-3x3; 1x1-5x5; max pool-1x1) and a concat.
        using var model = ModelZoo.Load("inceptionv1", new WeightsSource.Random(3), Device.CPU);
        const int size = 9;
        var table = ExpandedWeights.Compute(model, "mixed3b", "mixed3a", (size, size), batch: 64);
        // The 5x5 branch reaches 5x5 around the centre (the pool branch only 3x3).
        Assert.Equal((480, 256, 5, 5, 2, 2), (table.Units, table.FromUnits, table.KernelHeight, table.KernelWidth, table.OriginY, table.OriginX));

        var rng = new Random(1);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var linear = LinearPath.Enter();
        var a0 = torch.randn([1, 256, size, size], rng).data<float>();
        float[] Block(float[] a) => model.ForwardFrom(new Dictionary<string, Tensor> { ["mixed3a"] = torch.tensor(a, [1, 256, size, size]) }, ["mixed3b"])["mixed3b"].data<float>();
        const int centre = (size / 2) * size + size / 2;
        var checkedNonZero = 0;
        for (var trial = 0; trial < 40; trial++)
        {
            int unit = rng.Next(480), from = rng.Next(256), y = rng.Next(5), x = rng.Next(5);
            // Linear, so a central difference with a large step is exact up to rounding.
            const float step = 1f;
            var plus = (float[])a0.Clone();
            var minus = (float[])a0.Clone();
            var at = (from * size + 2 + y) * size + 2 + x;
            plus[at] += step;
            minus[at] -= step;
            var numeric = (Block(plus)[unit * size * size + centre] - Block(minus)[unit * size * size + centre]) / (2 * step);
            var expanded = table.Kernel(unit, from)[y * 5 + x];
            Assert.True(Math.Abs(numeric - expanded) <= 1e-4 + 1e-3 * Math.Abs(expanded), $"unit {unit} from {from} at ({y},{x}): numeric {numeric}, expanded {expanded}");
            if (expanded != 0) checkedNonZero++;
        }
        Assert.True(checkedNonZero > 20, $"only {checkedNonZero} of the checked weights are non-zero");
    }

    [Fact]
    public void Linearising_changes_only_the_nonlinearities()
    {
        // Outside the scope the model computes as before; inside, ReLU passes negatives.
        using var model = ModelZoo.Load("demo", new WeightsSource.Shipped(), Device.CPU);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var conv4 = torch.randn([1, 64, 8, 8], new Random(0));
        var given = new Dictionary<string, Tensor> { ["conv4"] = conv4 };
        var normal = model.ForwardFrom(given, ["conv5"])["conv5"].data<float>();
        float[] linearised;
        using (LinearPath.Enter()) linearised = model.ForwardFrom(given, ["conv5"])["conv5"].data<float>();
        var again = model.ForwardFrom(given, ["conv5"])["conv5"].data<float>();
        Assert.Equal(normal, again);
        Assert.NotEqual(normal, linearised);
    }
}

public class ResNetExpandedWeightsTests
{
    [Fact]
    public void Expanded_weights_across_a_residual_block_of_resnet18_equal_finite_differences()
    {
        // ReLU283 from ReLU269: two 3x3 convolutions with batch norm plus the identity shortcut.
        using var model = ModelZoo.Load("resnet18", new WeightsSource.Shipped(), Device.CPU);
        const int size = 9;
        var table = ExpandedWeights.Compute(model, "ReLU283", "ReLU269", (size, size), batch: 64);
        Assert.Equal((64, 64, 5, 5, 2, 2), (table.Units, table.FromUnits, table.KernelHeight, table.KernelWidth, table.OriginY, table.OriginX));
        // The shortcut: a unit's own channel at the centre carries the identity on top of the convolutions.
        var rng = new Random(2);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var linear = LinearPath.Enter();
        var a0 = torch.randn([1, 64, size, size], rng).data<float>();
        float[] Block(float[] a) => model.ForwardFrom(new Dictionary<string, Tensor> { ["ReLU269"] = torch.tensor(a, [1, 64, size, size]) }, ["ReLU283"])["ReLU283"].data<float>();
        const int centre = (size / 2) * size + size / 2;
        for (var trial = 0; trial < 20; trial++)
        {
            int unit = rng.Next(64), from = trial < 5 ? unit : rng.Next(64), y = trial < 5 ? 2 : rng.Next(5), x = trial < 5 ? 2 : rng.Next(5);
            var plus = (float[])a0.Clone();
            var minus = (float[])a0.Clone();
            var at = (from * size + 2 + y) * size + 2 + x;
            plus[at] += 1;
            minus[at] -= 1;
            var numeric = (Block(plus)[unit * size * size + centre] - Block(minus)[unit * size * size + centre]) / 2;
            var expanded = table.Kernel(unit, from)[y * 5 + x];
            Assert.True(Math.Abs(numeric - expanded) <= 1e-3 + 1e-3 * Math.Abs(expanded), $"unit {unit} from {from} at ({y},{x}): numeric {numeric}, expanded {expanded}");
        }
    }
}
