using System.Text.Json;

namespace Microscope.Cli.Tests;

/// <summary><c>microscope render --objective</c>: an expression or a direction file renders one
/// image; a bad expression is one error line and exit code 2.</summary>
public class ObjectiveCliTests
{
    [Fact]
    public void An_objective_and_a_direction_file_render_with_the_canonical_expression_in_the_record()
    {
        var dir = Directory.CreateTempSubdirectory("ms-obj-").FullName;
        var file = Path.Combine(dir, "dir.json");
        File.WriteAllText(file, JsonSerializer.Serialize(Enumerable.Range(0, 48).Select(c => c == 9 ? 1.0 : c == 17 ? -0.5 : 0).ToArray()));
        var r = CliRunner.Run("render", "--model", "demo", "--objective", $"-0.5 * (conv3:9) + 2*conv3@{file}", "--steps", "4", "--size", "32", "--out", dir, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var line = JsonDocument.Parse(r.Stdout.Trim()).RootElement;
        var expected = "-0.5*conv3:9 + 2*conv3@[" + string.Join(",", Enumerable.Range(0, 48).Select(c => c == 9 ? "1" : c == 17 ? "-0.5" : "0")) + "]";
        Assert.Equal(expected, line.GetProperty("objective").GetString());
        Assert.Equal(("conv3", "objective"), (line.GetProperty("op").GetString(), line.GetProperty("technique").GetString()));
        Assert.True(File.Exists(Path.Combine(dir, "demo_conv3_op_objective.png")));
    }

    [Theory]
    [InlineData("at character 10: the expression ends", "conv3:9 +")]
    [InlineData("units 0..47; 99 is out of range", "conv3:99")]
    [InlineData("cannot read the direction file", "conv3@missing.json")]
    public void A_bad_objective_is_one_error_line_and_exit_code_2(string message, string objective)
    {
        var dir = Directory.CreateTempSubdirectory("ms-obj-").FullName;
        var r = CliRunner.Run("render", "--model", "demo", "--objective", objective, "--out", dir);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Empty(Directory.GetFiles(dir));
    }
}
