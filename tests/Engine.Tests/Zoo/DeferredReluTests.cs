using Microscope.Engine.Models;
using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Tests.Zoo;

/// <summary>A ReLU read only by a max pool runs after the pool (ModelGraph.EndsWithRelu): the
/// same values and input gradients, with the ReLU on a quarter of the values.</summary>
public class DeferredReluTests
{
    [Fact]
    public void InceptionV1_gives_the_same_bits_with_the_relu_after_maxpool0()
    {
        using var model = ModelZoo.Load("inceptionv1", new WeightsSource.Random(0), Device.CPU);
        using var scope = torch.NewDisposeScope();
        var images = torch.randn([2, 3, 64, 64], new Random(3));
        (float[] Values, float[] Gradient) Run(params string[] ops)
        {
            var x = images.clone().requires_grad_();
            var y = model.Forward(x, ops)["conv2d1"];
            (y * y).sum().backward();
            return (y.data<float>(), x.grad!.data<float>());
        }
        var deferred = Run("conv2d1");                 // conv2d0 is read by maxpool0 alone: deferred
        var inPlace = Run("conv2d1", "conv2d0");       // conv2d0 is a target: its ReLU runs where it is
        Assert.Equal(inPlace.Values, deferred.Values);
        Assert.Equal(inPlace.Gradient, deferred.Gradient);
        Assert.Contains(deferred.Gradient, g => g != 0);
    }

    [Fact]
    public void The_relu_moves_only_past_max_pools_and_never_off_a_target()
    {
        using var scope = torch.NewDisposeScope();
        var graph = new ModelGraph();
        var beforeReluRuns = 0;
        graph.Add("conv", ModelGraph.Input, x => (x * 2).relu());
        graph.EndsWithRelu("conv", xs => { beforeReluRuns++; return xs[0] * 2; });
        graph.Add("pool", "conv", x => F.max_pool2d(x, (2, 2), (2, 2)));
        graph.CommutesWithRelu("pool");
        graph.Add("negate", "conv", x => -x);
        // Shifted down: some windows are all negative, so the ReLU after the pool matters.
        var input = torch.randn([1, 2, 4, 4], new Random(1)) - 1.0;
        var expected = F.max_pool2d((input * 2).relu(), (2, 2), (2, 2)).data<float>();
        Assert.Contains(0f, expected);

        Assert.Equal(expected, graph.Run(input, ["pool"])["pool"].data<float>());
        Assert.Equal(1, beforeReluRuns);                 // deferred: the pool alone reads conv
        graph.Run(input, ["pool", "conv"]);
        Assert.Equal(1, beforeReluRuns);                 // conv is a target: not deferred
        Assert.Equal(expected, graph.Run(input, ["pool", "negate"])["pool"].data<float>());
        Assert.Equal(1, beforeReluRuns);                 // another reader needs the ReLU: not deferred
        Assert.True(graph.Run(input, ["negate"])["negate"].data<float>().All(v => v <= 0));
    }
}
