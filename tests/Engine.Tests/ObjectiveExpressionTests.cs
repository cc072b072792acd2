using Microscope.Engine.Demo;
using Microscope.Engine.Imaging;
using Microscope.Engine.Lenses;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests;

/// <summary>The objective algebra as text (<see cref="ObjectiveExpression"/>), directions, and
/// the "objective" lens that renders an expression.</summary>
public class ObjectiveExpressionTests(DemoModelFixture demo) : IClassFixture<DemoModelFixture>
{
    [Theory]
    [InlineData("conv3:9 + 0.5*conv3:17", "conv3:9 + 0.5*conv3:17")]
    [InlineData("-conv3:9", "-conv3:9")]
    [InlineData(" conv3:9*2 -conv4:1 ", "2*conv3:9 - conv4:1")]
    [InlineData("0.5*(conv3:1 - 2*conv3:2)", "0.5*conv3:1 - conv3:2")]
    [InlineData("-(-conv3:1)", "conv3:1")]
    [InlineData("conv3@[1, -0.5,0] + 1e-1*conv3:4", "conv3@[1,-0.5,0] + 0.1*conv3:4")]
    [InlineData("block2/unit_3/add:7", "block2/unit_3/add:7")]
    public void Expressions_parse_to_their_canonical_text(string text, string canonical)
    {
        var e = ObjectiveExpression.Parse(text);
        Assert.Equal(canonical, e.Canonical);
        Assert.Equal(canonical, ObjectiveExpression.Parse(canonical).Canonical);   // canonical text is a fixed point
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("conv3:", "needs a unit number")]
    [InlineData("conv3:9 +", "ends where a term")]
    [InlineData("conv3:1 * conv3:2", "cannot be multiplied")]
    [InlineData("2 + conv3:1", "cannot be added")]
    [InlineData("2*3", "names no unit")]
    [InlineData("(conv3:1", "missing ')'")]
    [InlineData("conv3:9 $", "unexpected '$'")]
    [InlineData("conv3", "needs a unit (conv3:9) or a direction")]
    [InlineData("conv3@[0,0]", "all zeros")]
    [InlineData("conv3@[1,,2]", "not a number")]
    [InlineData("conv3@dir.json", "read by the command line only")]
    public void Bad_expressions_are_refused_naming_the_problem(string text, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => ObjectiveExpression.Parse(text));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Binding_checks_ops_units_and_direction_lengths_against_the_model()
    {
        var ops = demo.Model.Describe().Ops;
        (string, int) Resolve(string name) { var n = demo.Model.ResolveOp(name); return (n, ops.Single(o => o.Name == n).Channels); }
        Assert.Equal("conv3:1", ObjectiveExpression.Parse("conv3_0:1").Bind(Resolve).Canonical);   // an alias becomes the op's name
        var e = Assert.Throws<ArgumentException>(() => ObjectiveExpression.Parse("conv9:1 + conv3:48 + conv2@[1,2]").Bind(Resolve));
        Assert.Contains("no op 'conv9'", e.Message);
        Assert.Contains("units 0..47; 48 is out of range", e.Message);
        Assert.Contains("has 2 numbers; the op has", e.Message);
    }

    [Fact]
    public void An_expression_evaluates_as_the_sum_of_its_weighted_terms()
    {
        using var scope = torch.NewDisposeScope();
        var (images, _) = DemoTrainer.Batch(seed: 3, firstIndex: 0, count: 2, size: 64);
        var v = Direction(48, seed: 1);
        var expression = ObjectiveExpression.Parse($"conv3:5 - 0.25*conv3:7 + 2*conv3@[{string.Join(",", v)}]").Build();
        var combined = Renderer.Evaluate(demo.Model, expression, images);
        var c5 = Renderer.Evaluate(demo.Model, new ChannelObjective("conv3", [5]), images);
        var c7 = Renderer.Evaluate(demo.Model, new ChannelObjective("conv3", [7]), images);
        var all = Enumerable.Range(0, 48).Select(c => Renderer.Evaluate(demo.Model, new ChannelObjective("conv3", [c]), images)).ToList();
        for (var i = 0; i < 2; i++)
        {
            var dot = Enumerable.Range(0, 48).Sum(c => v[c] * all[c][i]);
            Assert.Equal(c5[i] - 0.25 * c7[i] + 2 * dot, combined[i], 3);
        }
    }

    [Fact]
    public void A_direction_render_raises_its_direction_above_the_seed_image_and_the_opposite_direction()
    {
        var v = Direction(48, seed: 7);
        var text = $"conv3@[{string.Join(",", v)}]";
        var p = new RenderParameters { Steps = 48, Size = 48, Seed = 2 };
        var toward = Render(text, p);
        var away = Render("-" + text, p);
        var objective = new DirectionObjective("conv3", v);
        // Scored by a forward pass of the stored PNG, not by the render's own bookkeeping.
        var scoreToward = Score(toward, objective);
        var scoreAway = Score(away, objective);
        var seed = toward.Record.ObjectiveStart!.Value;
        Assert.True(scoreToward > seed + 0.5, $"direction render {scoreToward:F3} vs its seed image {seed:F3}");
        Assert.True(scoreToward > scoreAway + 1, $"direction render {scoreToward:F3} vs the opposite direction's render {scoreAway:F3}");
        Assert.Equal("objective", toward.Record.Technique);
        Assert.Equal("conv3", toward.Record.Op);
        Assert.Null(toward.Record.Unit);
        Assert.Equal(ObjectiveExpression.Parse(text).Canonical, toward.Record.Objective);
    }

    [Fact]
    public void The_objective_lens_needs_an_expression_and_stores_it_under_its_first_op()
    {
        var p = new RenderParameters { Steps = 2, Size = 32 };
        Assert.Contains("needs an expression", Assert.Throws<ArgumentException>(() => LensRunner.Run(demo.Model, "conv3", "objective", [], p)).Message);
        Assert.Contains("stored under its first op 'conv3'", Assert.Throws<ArgumentException>(() =>
            LensRunner.Run(demo.Model, "conv2", "objective", [], p, new Dictionary<string, string> { ["expression"] = "conv3:1 + conv2:1" })).Message);
        Assert.DoesNotContain(LensRegistry.Expand([LensRegistry.Everything]), l => l.Name == "objective");
    }

    private LensResult Render(string expression, RenderParameters p) =>
        LensRunner.Run(demo.Model, "conv3", "objective", [], p, new Dictionary<string, string> { ["expression"] = expression }).Single();

    private double Score(LensResult result, Objective objective)
    {
        var img = ImageFile.Decode(result.Files[0].Content);
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(img.Pixels, [1, 3, img.Height, img.Width]);
        return Renderer.Evaluate(demo.Model, objective, x)[0];
    }

    /// <summary>A seeded random direction with entries in [-1, 1], rounded so its text is short.</summary>
    private static double[] Direction(int channels, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, channels).Select(_ => Math.Round(random.NextDouble() * 2 - 1, 2)).ToArray();
    }
}
