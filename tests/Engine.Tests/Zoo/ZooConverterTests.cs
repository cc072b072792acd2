using System.Diagnostics;
using Microscope.Engine.Models;
using Microscope.Engine.Torch;

namespace Microscope.Engine.Tests.Zoo;

/// <summary>tools/convert_weights.py (run with /usr/bin/python3, numpy only for safetensors
/// input) turns a checkpoint in lucent's inception5h key layout, auxiliary heads included,
/// into a file our inceptionv1 loads strictly with the same weights.</summary>
public class ZooConverterTests
{
    [Fact]
    public void Lucent_inception5h_layout_converts_to_weights_inceptionv1_loads_unchanged()
    {
        var dir = Directory.CreateTempSubdirectory("ms-convert-").FullName;
        try
        {
            var lucent = Path.Combine(dir, "inception5h.safetensors");
            var converted = Path.Combine(dir, "inceptionv1.safetensors");
            using var source = ModelZoo.Load("inceptionv1", new WeightsSource.Random(7), Device.CPU);
            // inception5h.pth also carries the auxiliary classifiers, which the zoo leaves out.
            var aux = new[] { "head0_bottleneck_pre_relu_conv.weight", "nn0_pre_relu_matmul.weight", "softmax1_pre_activation_matmul.bias" }
                .Select(n => new NamedArray(n, [2], [1f, 2f]));
            Safetensors.Write(lucent, source.Parameters.Export().Concat(aux));
            Assert.Throws<InvalidDataException>(() => ModelZoo.Load("inceptionv1", new WeightsSource.File(lucent), Device.CPU));

            Run(Path.Combine(Root(), "tools", "convert_weights.py"), ["inceptionv1", "lucent", lucent, converted]);
            using var loaded = ModelZoo.Load("inceptionv1", new WeightsSource.File(converted), Device.CPU);
            Assert.Equal(source.Parameters.ContentHash(), loaded.Version);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void The_converter_refuses_an_unknown_model_and_layout_pair()
    {
        var (code, output) = Run(Path.Combine(Root(), "tools", "convert_weights.py"), ["alexnet", "torchvision", "in", "out"], expectSuccess: false);
        Assert.NotEqual(0, code);
        Assert.Contains("no converter for model 'alexnet' from 'torchvision'", output);
    }

    /// <summary>Runs a tools/ script with Debian's /usr/bin/python3 (-B: no __pycache__ in the checkout).</summary>
    internal static (int Code, string Output) Run(string script, string[] arguments, bool expectSuccess = true)
    {
        var start = new ProcessStartInfo("/usr/bin/python3", ["-B", script, .. arguments]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd() + stderr.Result;
        process.WaitForExit();
        if (expectSuccess) Assert.True(process.ExitCode == 0, $"{Path.GetFileName(script)} failed ({process.ExitCode}): {output}");
        return (process.ExitCode, output);
    }

    internal static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Microscope.Farm.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root (Microscope.Farm.sln) not found above " + AppContext.BaseDirectory);
    }
}
