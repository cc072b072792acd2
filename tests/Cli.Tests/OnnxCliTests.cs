using System.Text.Json;
using Microscope.Engine.Imaging;

namespace Microscope.Cli.Tests;

/// <summary>resnet18 (ONNX, from the NuGet package the build restores) through the CLI, and a
/// bad .onnx file as one error line.</summary>
public class OnnxCliTests
{
    [Fact]
    public void Describe_shows_resnet18_with_its_onnx_node_names_and_a_content_hash_version()
    {
        var r = CliRunner.Run("describe", "resnet18");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("resnet18: ImageNet", r.Stdout);
        Assert.Matches(@"version: [0-9a-f]{12}\n", r.Stdout);
        Assert.Matches(@"ReLU393\s+512 x\s+7 x 7", r.Stdout);
        Assert.Matches(@"ReLU253\s+64 x 112 x 112", r.Stdout);
    }

    [Fact]
    public void Render_takes_resnet18_by_an_output_name_alias()
    {
        var dir = Directory.CreateTempSubdirectory("ms-cli-").FullName;
        try
        {
            var r = CliRunner.Run("render", "--model", "resnet18", "--op", "ReLU253_Output_0", "--unit", "2",
                "--steps", "8", "--size", "64", "--out", dir, "--json");
            Assert.True(r.ExitCode == 0, r.Stderr);
            var j = JsonDocument.Parse(r.Stdout.Trim()).RootElement;
            Assert.Equal("ReLU253", j.GetProperty("op").GetString());
            Assert.False(j.GetProperty("random_weights").GetBoolean());
            Assert.True(j.GetProperty("objective_end").GetDouble() > j.GetProperty("objective_start").GetDouble());
            var img = ImageFile.Load(j.GetProperty("file").GetString()!);
            Assert.Equal((64, 64), (img.Width, img.Height));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>A GAN generator: described as one, a unit rendered to a file (the generator's
    /// image of the optimised latent), an image-feeding lens refused in one line.</summary>
    [Fact]
    public void A_generator_is_described_rendered_and_refused_image_lenses()
    {
        var dir = Directory.CreateTempSubdirectory("ms-cli-").FullName;
        try
        {
            var gen = Path.Combine(dir, "gen.onnx");
            File.Copy(Microscope.Farm.Tests.TinyOnnxModel.Generator(), gen);
            var d = CliRunner.Run("describe", gen);
            Assert.True(d.ExitCode == 0, d.Stderr);
            Assert.Contains("gen: (not given); a generator: input latent [16, 1, 1], normal prior (weight 1), image 'net/net.10/Tanh' in [-1, 1], 32 px", d.Stdout);
            Assert.Matches(@"net/net.9/ConvTranspose\s+3 x\s+32 x 32", d.Stdout);

            var r = CliRunner.Run("render", "--model", gen, "--op", "net/net.5/Relu", "--unit", "3", "--steps", "16", "--size", "32", "--out", dir, "--json");
            Assert.True(r.ExitCode == 0, r.Stderr);
            var j = JsonDocument.Parse(r.Stdout.Trim()).RootElement;
            Assert.True(j.GetProperty("objective_end").GetDouble() > j.GetProperty("objective_start").GetDouble());
            var img = ImageFile.Load(j.GetProperty("file").GetString()!);
            Assert.Equal((32, 32), (img.Width, img.Height));
            // Transforms were on (the default): one note says the generator's render drops them, and
            // the record shows what was applied.
            Assert.Single(r.Stderr.Split('\n'), l => l.StartsWith("note: 'gen' is a generator: its latent is optimised without image transforms", StringComparison.Ordinal));
            var applied = j.GetProperty("parameters");
            Assert.False(applied.GetProperty("transforms").GetBoolean());
            Assert.Equal(1.0, applied.GetProperty("init_std").GetDouble());
            Assert.Equal(0.0, applied.GetProperty("decay").GetDouble());
            var quiet = CliRunner.Run("render", "--model", gen, "--op", "net/net.5/Relu", "--unit", "3", "--steps", "2", "--size", "32", "--no-transforms", "--out", dir);
            Assert.True(quiet.ExitCode == 0, quiet.Stderr);
            Assert.DoesNotContain("note:", quiet.Stderr);

            var refused = CliRunner.Run("render", "--model", gen, "--op", "net/net.8/Relu", "--unit", "3", "--technique", "dataset_examples", "--out", dir);
            Assert.Equal(2, refused.ExitCode);
            Assert.StartsWith("error: dataset_examples feeds images to the model, but 'gen' is a generator whose input is a latent vector", refused.Stderr);
            Assert.Single(refused.Stderr.Trim().Split('\n'));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_one_error_line()
    {
        var dir = Directory.CreateTempSubdirectory("ms-cli-").FullName;
        try
        {
            var path = Path.Combine(dir, "notes.onnx");
            File.WriteAllText(path, "these are notes, not a model\n");
            var r = CliRunner.Run("describe", path);
            Assert.Equal(2, r.ExitCode);
            Assert.StartsWith($"error: '{path}' is not an ONNX model", r.Stderr);
            Assert.Single(r.Stderr.Trim().Split('\n'));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
