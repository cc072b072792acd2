using System.Text.Json;
using Microscope.Engine.Imaging;

namespace Microscope.Cli.Tests;

public class CliTests
{
    [Fact]
    public void Models_lists_the_demo_model_with_ops_and_unit_counts()
    {
        var r = CliRunner.Run("models", "--json");
        Assert.Equal(0, r.ExitCode);
        var demo = JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().Single(m => m.GetProperty("name").GetString() == "demo");
        Assert.Equal(6, demo.GetProperty("op_count").GetInt32());
        Assert.Equal(234, demo.GetProperty("unit_count").GetInt32());
        Assert.Equal(48, demo.GetProperty("ops").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "conv3").GetProperty("units").GetInt32());
    }

    [Fact]
    public void Render_writes_a_png_and_a_json_per_unit_and_prints_json_lines()
    {
        var dir = Directory.CreateTempSubdirectory("ms-cli-").FullName;
        try
        {
            var r = CliRunner.Run("render", "--model", "demo", "--op", "conv3", "--unit", "1", "--unit", "2",
                "--technique", "channel", "--steps", "32", "--size", "64", "--seed", "3", "--out", dir, "--json");
            Assert.True(r.ExitCode == 0, r.Stderr);
            var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            var units = new List<int>();
            foreach (var line in lines)
            {
                var j = JsonDocument.Parse(line).RootElement;
                units.Add(j.GetProperty("unit").GetInt32());
                Assert.True(j.GetProperty("objective_end").GetDouble() > j.GetProperty("objective_start").GetDouble());
                Assert.True(j.GetProperty("ms_per_step").GetDouble() > 0);
                var file = j.GetProperty("file").GetString()!;
                var img = ImageFile.Load(file);
                Assert.Equal((64, 64), (img.Width, img.Height));
                var sidecar = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(file, ".json"))).RootElement;
                Assert.Equal(32, sidecar.GetProperty("trajectory").GetArrayLength());
                Assert.Equal(3, sidecar.GetProperty("parameters").GetProperty("seed").GetInt32());
            }
            Assert.Equal([1, 2], units);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("no op 'conv9'", "--op", "conv9", "--unit", "0")]
    [InlineData("has units 0..47; 99 is out of range", "--op", "conv3", "--unit", "99")]
    [InlineData("steps must be between 1 and 100000", "--op", "conv3", "--unit", "0", "--steps", "0")]
    [InlineData("unknown model 'alexnot'", "--op", "conv3", "--unit", "0", "--model", "alexnot")]
    [InlineData("weights file not found", "--op", "conv3", "--unit", "0", "--weights", "/nonexistent.safetensors")]
    public void Bad_render_requests_fail_with_a_message_naming_the_problem(string message, params string[] args)
    {
        var dir = Directory.CreateTempSubdirectory("ms-cli-").FullName;
        try
        {
            var r = CliRunner.Run(["render", "--out", dir, .. args]);
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains(message, r.Stderr);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Render_runs_the_other_techniques_with_their_own_files()
    {
        var dir = Directory.CreateTempSubdirectory("ms-cli-").FullName;
        try
        {
            var r = CliRunner.Run("render", "--op", "conv2", "--technique", "deepdream", "--steps", "8", "--size", "32", "--out", dir, "--json");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.True(File.Exists(Path.Combine(dir, "demo_conv2_op_deepdream.png")));
            Assert.Equal((32, 32), (ImageFile.Load(Path.Combine(dir, "demo_conv2_op_deepdream.png")).Width, 32));

            r = CliRunner.Run("render", "--op", "conv2", "--unit", "3", "--technique", "diversity", "--images", "3", "--steps", "8", "--size", "32", "--out", dir);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.All(Enumerable.Range(0, 3), i => Assert.True(File.Exists(Path.Combine(dir, $"demo_conv2_3_diversity-{i}.png"))));

            r = CliRunner.Run("render", "--op", "conv2", "--technique", "diversity", "--out", dir);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("diversity renders units", r.Stderr);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Unknown_technique_is_a_usage_error()
    {
        var r = CliRunner.Run("render", "--op", "conv3", "--unit", "0", "--technique", "dance", "--out", "/tmp/none");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("dance", r.Stderr);
    }
}
