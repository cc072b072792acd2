using System.Text.Json;

namespace Microscope.Cli.Tests;

/// <summary>`microscope bench`: every section reports figures for what was asked, and the naive
/// PyTorch reference computes the same network as the engine.</summary>
public class BenchCliTests
{
    [Fact]
    public void Bench_reports_steps_pruning_sweep_and_profile_for_the_demo_model()
    {
        var r = CliRunner.Run("bench", "--model", "demo", "--op", "conv3", "--batch", "4", "--size", "32", "--steps", "2", "--warmup", "1",
            "--rounds", "2", "--precision", "fp32", "bf16", "--pruning", "--sweep", "--profile", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var report = JsonDocument.Parse(r.Stdout).RootElement;
        // One step row per precision asked for, side by side.
        var steps = report.GetProperty("render_steps").EnumerateArray().ToList();
        Assert.Equal(["fp32", "bf16"], steps.Select(s => s.GetProperty("precision").GetString()));
        foreach (var step in steps)
        {
            Assert.Equal(("conv3", 4), (step.GetProperty("op").GetString(), step.GetProperty("batch").GetInt32()));
            Assert.True(step.GetProperty("ms_per_step").GetDouble() > 0);
        }
        Assert.True(report.GetProperty("pruning").EnumerateArray().Single().GetProperty("speed_up").GetDouble() > 0);
        var sweep = report.GetProperty("sweep");
        Assert.Equal(234, sweep.GetProperty("units").GetInt32());
        Assert.Equal(6, sweep.GetProperty("ops").GetArrayLength());
        Assert.Equal(sweep.GetProperty("units").GetInt32() / sweep.GetProperty("hours").GetDouble(), sweep.GetProperty("units_per_hour").GetDouble(), 1e-6);
        var profile = report.GetProperty("profiles").EnumerateArray().Single();
        var phases = profile.GetProperty("phases").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("ms").GetDouble());
        Assert.True(phases["forward"] > 0 && phases["backward"] > 0, string.Join(", ", phases));
        var layers = profile.GetProperty("layers").EnumerateArray().ToList();
        // conv1 and conv2 feed conv3 whole; conv3 computes only the four units asked for.
        Assert.Contains(layers, l => l.GetProperty("node").GetString() == "conv1" && l.GetProperty("g_flop").GetDouble() > 0);
        Assert.Contains(layers, l => l.GetProperty("node").GetString() == "conv3 (own units)");
    }

    [Fact]
    public void An_unknown_precision_is_refused_before_any_work()
    {
        var r = CliRunner.Run("render", "--model", "demo", "--op", "conv3", "--unit", "0", "--precision", "fp16", "--out", Path.GetTempPath());
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("fp16", r.Stderr);
        Assert.Contains("bf16", r.Stderr);
    }

    [Fact]
    public void A_zoo_model_without_weights_is_one_line_naming_the_options_that_give_some()
    {
        var r = CliRunner.Run("bench", "--model", "inceptionv1", "--op", "conv2d2", "--steps", "1");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("ships no weights", r.Stderr);
        Assert.Contains("--random-weights SEED", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void The_naive_reference_scores_the_engines_images_as_the_engine_does()
    {
        var r = CliRunner.Run("bench", "--model", "inceptionv1", "--naive", "--op", "conv2d1", "--batch", "2", "--size", "32", "--steps", "1",
            "--warmup", "0", "--rounds", "1", "--objective-steps", "2", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var naive = JsonDocument.Parse(r.Stdout).RootElement.GetProperty("naive").EnumerateArray().Single();
        Assert.True(naive.GetProperty("naive_ms_per_step").GetDouble() > 0);
        var byReference = naive.GetProperty("objective").GetDouble();
        var byEngine = naive.GetProperty("objective_by_engine").GetDouble();
        Assert.True(byEngine > 0, $"objective {byEngine}");
        Assert.True(Math.Abs(byReference - byEngine) < 1e-3 * Math.Abs(byEngine), $"reference scores {byReference}, engine {byEngine}");
    }
}
