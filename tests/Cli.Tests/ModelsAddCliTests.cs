using Microscope.Coordinator;
using Microscope.Farm.Tests;
using Microsoft.Extensions.Configuration;

namespace Microscope.Cli.Tests;

/// <summary>`microscope models add` against a coordinator in this process: added, added again
/// (nothing changes), a bad file refused in one line with exit code 2.</summary>
public class ModelsAddCliTests
{
    [Fact]
    public async Task A_model_file_is_added_once_and_a_bad_one_is_one_error_line()
    {
        var dir = Directory.CreateTempSubdirectory("ms-models-add-").FullName;
        var config = InMemoryFarmSettings.Build(dir);
        var app = CoordinatorHost.Build(config);
        await app.StartAsync();
        try
        {
            var url = CoordinatorHost.Address(app);
            var file = Path.Combine(dir, "Tiny Net.onnx");
            File.Copy(TinyOnnxModel.FileFor(3), file);
            var added = CliRunner.Run("models", "add", file, "-c", url);
            Assert.True(added.ExitCode == 0, added.Stdout + added.Stderr);
            var line = System.Text.RegularExpressions.Regex.Match(added.Stdout, @"^added model tiny_net version ([0-9a-f]{12}): 7 ops, 10 units");
            Assert.True(line.Success, added.Stdout);

            var again = CliRunner.Run("models", "add", file, "--name", "tiny_net", "-c", url);
            Assert.True(again.ExitCode == 0, again.Stderr);
            Assert.StartsWith($"model tiny_net version {line.Groups[1].Value} was already there: nothing changed", again.Stdout);

            var broken = Path.Combine(dir, "broken.onnx");
            File.WriteAllBytes(broken, File.ReadAllBytes(file)[..1000]);
            var refused = CliRunner.Run("models", "add", broken, "-c", url);
            Assert.Equal(2, refused.ExitCode);
            Assert.StartsWith("error: the coordinator refused the model 'broken.onnx' (422): 'broken.onnx' cannot be built as model 'broken': ONNX model 'broken.onnx' is truncated", refused.Stderr);
            Assert.Single(refused.Stderr.Trim().Split('\n'));

            var wrongKind = CliRunner.Run("models", "add", Path.Combine(dir, "farm.db"), "-c", url);
            Assert.Equal(2, wrongKind.ExitCode);
            Assert.Contains("'farm.db' is neither an ONNX model (.onnx) nor a model spec (.model.json)", wrongKind.Stderr);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }
}
