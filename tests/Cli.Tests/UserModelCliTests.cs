using System.Diagnostics;
using System.Text.Json;
using Microscope.Engine.Imaging;

namespace Microscope.Cli.Tests;

/// <summary>The bring-your-own-model journey as a user runs it: export a PyTorch module with
/// tools/export_model.py, describe it, render one of its units, sweep it with `microscope demo`.</summary>
public class UserModelCliTests
{
    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Microscope.Farm.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    private static void Export(string dir)
    {
        var root = Root();
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-B", Path.Combine(root, "tools", "export_model.py"),
            Path.Combine(root, "tests", "Engine.Tests", "Custom", "user_model.py") + ":TinyNet",
            "--name", "tinynet", "--input-size", "64", "--preprocessing", "imagenet", "--dataset", "nothing yet", "--out", dir])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, output);
        Assert.Contains("9 ops (stem.0, block.conv1, block.conv2, add, branch_a, branch_b.0, branch_b.2, cat, head.3)", output);
    }

    [Fact]
    public void An_exported_model_is_described_rendered_and_swept()
    {
        var dir = Directory.CreateTempSubdirectory("ms-byom-").FullName;
        try
        {
            Export(dir);
            var spec = Path.Combine(dir, "tinynet.model.json");

            var describe = CliRunner.Run("describe", spec);
            Assert.True(describe.ExitCode == 0, describe.Stderr);
            Assert.Contains("tinynet: nothing yet; input 64 px, ImageNet mean/std", describe.Stdout);
            Assert.Matches(@"version: [0-9a-f]{12}\r?\n", describe.Stdout);
            Assert.Matches(@"\n  cat\s+16 x  16 x 16\s+<- branch_a, branch_b\.2", describe.Stdout);

            var render = CliRunner.Run("render", "--model", spec, "--op", "cat", "--unit", "3", "--steps", "8", "--size", "64", "--out", dir, "--json");
            Assert.True(render.ExitCode == 0, render.Stderr);
            var line = JsonDocument.Parse(render.Stdout.Trim()).RootElement;
            Assert.Equal(3, line.GetProperty("unit").GetInt32());
            Assert.Equal((64, 64), (ImageFile.Load(line.GetProperty("file").GetString()!).Width, ImageFile.Load(line.GetProperty("file").GetString()!).Height));

            var demo = CliRunner.Run("demo", "--model", spec, "--op", "head.3", "--technique", "channel", "--steps", "4", "--size", "32",
                "--port", "0", "--exit", "--out", Path.Combine(dir, "farm"));
            Assert.True(demo.ExitCode == 0, demo.Stdout + demo.Stderr);
            Assert.Contains("10 tuples of tinynet@", demo.Stdout);
            // One image per tuple, and its thumbnail beside it (".96px.png").
            var pngs = Directory.GetFiles(Path.Combine(dir, "farm", "objects", "tinynet"), "*.png", SearchOption.AllDirectories);
            Assert.Equal(10, pngs.Count(p => !p.EndsWith(".96px.png", StringComparison.Ordinal)));
            Assert.Equal(10, pngs.Count(p => p.EndsWith(".96px.png", StringComparison.Ordinal)));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_missing_or_broken_spec_is_an_error_naming_it()
    {
        var dir = Directory.CreateTempSubdirectory("ms-byom-").FullName;
        try
        {
            var missing = CliRunner.Run("describe", Path.Combine(dir, "nothing.model.json"));
            Assert.NotEqual(0, missing.ExitCode);
            Assert.Contains($"model spec '{Path.Combine(dir, "nothing.model.json")}' does not exist", missing.Stderr);

            var broken = Path.Combine(dir, "broken.model.json");
            File.WriteAllText(broken, """{ "format": "microscope-model/1", "name": "broken", "inputSize": 32, "layers": [ { "name": "c", "type": "conv", "input": "input", "out": 4, "kernel": 3, "op": true }, { "name": "s", "type": "add", "inputs": ["input", "c"], "op": true } ] }""");
            var render = CliRunner.Run("render", "--model", broken, "--op", "c", "--unit", "0", "--out", dir);
            Assert.NotEqual(0, render.ExitCode);
            Assert.Contains("layer 's': add needs inputs with the same channels, got 'input' 3, 'c' 4", render.Stderr);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
