using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Microscope.Deploy.Tests;

/// <summary>scripts/gpu (the GPU check, run only on a lent GPU machine, never in CI): the
/// scripts parse, what they name exists (test classes, bench options, ops, bundle entries),
/// and the bench table computes units per hour from a bench report.</summary>
public sealed class GpuCheckScriptTests
{
    private static string Gpu(string file) => Path.Combine(RepositoryPaths.Root, "scripts", "gpu", file);
    private static string Read(params string[] parts) => File.ReadAllText(Path.Combine([RepositoryPaths.Root, .. parts]));

    [Theory]
    [InlineData("check.sh")]
    [InlineData("prepare.sh")]
    public void The_scripts_parse(string script)
    {
        var (code, output) = Run("bash", "-n", Gpu(script));
        Assert.True(code == 0, $"bash -n {script}: {output}");
    }

    [Fact]
    public void What_the_check_names_exists()
    {
        var check = File.ReadAllText(Gpu("check.sh"));
        Assert.True(File.Exists(Path.Combine(RepositoryPaths.Root, "src", "Engine", "native", "CMakeLists.txt")));
        Assert.Contains("scripts/gpu/bench_table.py", check, StringComparison.Ordinal);
        Assert.True(File.Exists(Gpu("bench_table.py")));

        // The test classes it runs are in the Engine tests.
        var testSources = string.Join("\n", Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, "tests", "Engine.Tests"), "*.cs", SearchOption.AllDirectories).Select(File.ReadAllText));
        var classes = Regex.Matches(check, @"-class Microscope\.Engine\.Tests\.(\w+)").Select(m => m.Groups[1].Value).ToList();
        Assert.True(classes.Count >= 3, "check.sh names no Engine test classes");
        foreach (var c in classes) Assert.Matches(new Regex($@"\bclass {c}\b"), testSources);
        Assert.Contains("MICROSCOPE_TEST_DEVICE", File.ReadAllText(Path.Combine(RepositoryPaths.Root, "tests", "Engine.Tests", "TestDevice.cs")), StringComparison.Ordinal);

        // The bench options it passes are the CLI's, and its ops are InceptionV1's.
        var bench = Read("src", "Cli", "Commands", "BenchCommand.cs") + Read("src", "Cli", "ModelOptions.cs") + Read("src", "Cli", "Commands", "PrecisionOption.cs");
        foreach (var option in Regex.Matches(check, @"bench[^\n]*").SelectMany(m => Regex.Matches(m.Value, @"--[a-z][a-z-]+").Select(o => o.Value)).Distinct())
            Assert.True(bench.Contains($"\"{option}\"", StringComparison.Ordinal), $"check.sh passes {option} to the bench, which has no such option");
        var inception = Read("src", "Engine", "Models", "Zoo", "descriptors.json");
        foreach (var op in Regex.Matches(check, @"--op (\w+)").Select(m => m.Groups[1].Value))
            Assert.Contains($"\"Name\": \"{op}\"", inception, StringComparison.Ordinal);

        // The bundle entries it needs are what prepare.sh builds.
        Assert.Contains("<AssemblyName>microscope</AssemblyName>", Read("src", "Cli", "Cli.csproj"), StringComparison.Ordinal);
        Assert.Contains("<AssemblyName>Microscope.Engine.Tests</AssemblyName>", Read("tests", "Engine.Tests", "Engine.Tests.csproj"), StringComparison.Ordinal);
        var prepare = File.ReadAllText(Gpu("prepare.sh"));
        foreach (var entry in new[] { "dotnet", "cli", "tests", "xunit" })
            Assert.Matches(new Regex($@"tar -cJf .*\b{entry}\b"), prepare);
        Assert.Contains("/.gpu/", Read(".gitignore"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_bench_table_gives_ms_per_step_and_units_per_hour()
    {
        var dir = Directory.CreateTempSubdirectory("gpu-bench-table-");
        try
        {
            // The shape `microscope bench --json` writes (snake_case rows under render_steps).
            string Report(double conv, double mixed) => $$"""
                {"model": "inceptionv1 (random weights)", "device": "cuda:0", "threads": 16, "steps": 20,
                 "render_steps": [{"op": "conv2d2", "batch": 32, "size": 224, "ms_per_step": {{conv}}},
                                  {"op": "mixed4a", "batch": 32, "size": 224, "ms_per_step": {{mixed}}}],
                 "truncation": []}
                """;
            File.WriteAllText(Path.Combine(dir.FullName, "fp32.json"), Report(100, 250));
            File.WriteAllText(Path.Combine(dir.FullName, "tf32.json"), Report(50, 125));
            File.WriteAllText(Path.Combine(dir.FullName, "bench-bf16.json"), Report(80, 200));
            var (code, output) = Run("python3", Gpu("bench_table.py"), Path.Combine(dir.FullName, "fp32.json"), Path.Combine(dir.FullName, "tf32.json"),
                Path.Combine(dir.FullName, "bench-bf16.json"));
            Assert.True(code == 0, output);
            // 32 units per render of 512 steps at 100 ms a step: 32 * 3600 s / 51.2 s = 2250 units/hour.
            Assert.Matches(new Regex(@"conv2d2\s+32\s+100\.00\s+2250\s+50\.00\s+4500\s+2\.00x\s+80\.00\s+2812\s+1\.25x"), output);
            Assert.Matches(new Regex(@"mixed4a\s+32\s+250\.00\s+900\s+125\.00\s+1800\s+2\.00x\s+200\.00\s+1125\s+1\.25x"), output);
            Assert.Contains("bf16 ms/step", output, StringComparison.Ordinal);

            File.WriteAllText(Path.Combine(dir.FullName, "broken.json"), "  measured conv2d2 batch 32\n");
            var (bad, message) = Run("python3", Gpu("bench_table.py"), Path.Combine(dir.FullName, "broken.json"));
            Assert.NotEqual(0, bad);
            Assert.Contains("is not the bench's JSON", message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static (int Code, string Output) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr);
    }
}
