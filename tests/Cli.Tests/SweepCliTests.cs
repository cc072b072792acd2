using System.Net.Http.Json;
using System.Text.Json;
using Microscope.Contracts;
using Microscope.Coordinator;
using Microsoft.Extensions.Configuration;

namespace Microscope.Cli.Tests;

/// <summary>`microscope sweep` against a coordinator (in this process, in-memory transport,
/// SQLite, no worker, so a sweep stays where the CLI left it).</summary>
public class SweepCliTests
{
    [Fact]
    public async Task A_paused_sweep_is_expanded_and_sends_nothing_and_bad_input_is_named()
    {
        var dir = Directory.CreateTempSubdirectory("ms-sweep-").FullName;
        var config = InMemoryFarmSettings.Build(dir);
        var app = CoordinatorHost.Build(config);
        await app.StartAsync();
        try
        {
            var url = CoordinatorHost.Address(app);
            var r = CliRunner.Run("sweep", "-c", url, "--model", "demo", "--op", "conv1", "--op", "conv2", "-t", "channel", "--paused");
            Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
            var line = System.Text.RegularExpressions.Regex.Match(r.Stdout, @"sweep ([0-9a-f-]{36}): (\d+) tuples \(0 already rendered\), paused");
            Assert.True(line.Success, r.Stdout);
            Assert.Equal("48", line.Groups[2].Value);   // conv1 16 + conv2 32 units

            using var http = new HttpClient { BaseAddress = new Uri(url) };
            await Task.Delay(500);   // a dispatcher tick
            var status = await http.GetFromJsonAsync<SweepStatus>($"/api/sweeps/{line.Groups[1].Value}", new JsonSerializerOptions(JsonSerializerDefaults.Web));
            Assert.Equal(("paused", 48, 0), (status!.State, status.Counts["pending"], status.Counts["queued"]));

            // Operators follow and steer it from the CLI too.
            var sweepId = line.Groups[1].Value;
            var list = CliRunner.Run("sweeps", "-c", url, "--json");
            Assert.True(list.ExitCode == 0, list.Stderr);
            var listed = JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().Single();
            Assert.Equal((sweepId, "paused", 48), (listed.GetProperty("id").GetString(), listed.GetProperty("state").GetString(), listed.GetProperty("total").GetInt32()));
            Assert.Contains($"{sweepId}  sweep   demo@789b3a3d4cf0", CliRunner.Run("sweeps", "-c", url).Stdout);
            var show = CliRunner.Run("sweeps", "show", sweepId, "-c", url);
            Assert.True(show.ExitCode == 0, show.Stderr);
            Assert.StartsWith($"sweep {sweepId}: paused; pending 48 of 48", show.Stdout);
            var cancel = CliRunner.Run("sweeps", "cancel", sweepId, "-c", url);
            Assert.True(cancel.ExitCode == 0, cancel.Stderr);
            Assert.StartsWith($"sweep {sweepId}: cancelled; cancelled 48 of 48", cancel.Stdout);
            var resume = CliRunner.Run("sweeps", "resume", sweepId, "-c", url);
            Assert.Equal(2, resume.ExitCode);
            Assert.Contains($"error: the coordinator refused to resume sweep {sweepId} (409)", resume.Stderr);
            var unknown = Guid.NewGuid();
            var missingSweep = CliRunner.Run("sweeps", "show", unknown.ToString(), "-c", url);
            Assert.Equal(2, missingSweep.ExitCode);
            Assert.Contains($"error: the coordinator refused to show sweep {unknown} (404)", missingSweep.Stderr);

            var bad = CliRunner.Run("sweep", "-c", url, "--model", "demo", "--op", "conv9");
            Assert.NotEqual(0, bad.ExitCode);
            Assert.Contains("error: the coordinator refused the sweep (422)", bad.Stderr);
            Assert.Contains("conv9", bad.Stderr);
            // Without a token (MICROSCOPE_TOKEN unset, no config file) a write is refused in one line naming the variable.
            var tokenless = CliRunner.RunWith(new Dictionary<string, string?> { ["MICROSCOPE_TOKEN"] = null, ["XDG_CONFIG_HOME"] = dir },
                "sweeps", "pause", sweepId, "-c", url);
            Assert.Equal(2, tokenless.ExitCode);
            Assert.Contains($"error: the coordinator refused to pause sweep {sweepId} (401)", tokenless.Stderr);
            Assert.Contains("MICROSCOPE_TOKEN", tokenless.Stderr);
            // The config file is the other source of the token.
            Directory.CreateDirectory(Path.Combine(dir, "microscope"));
            await File.WriteAllTextAsync(Path.Combine(dir, "microscope", "token"), CliRunner.Token + "\n");
            var fromFile = CliRunner.RunWith(new Dictionary<string, string?> { ["MICROSCOPE_TOKEN"] = null, ["XDG_CONFIG_HOME"] = dir },
                "sweep", "-c", url, "--model", "demo", "--op", "conv1", "-t", "channel", "--paused");
            Assert.True(fromFile.ExitCode == 0, fromFile.Stderr);
            var missing = CliRunner.Run("sweep", "-c", "http://127.0.0.1:9", "--model", "demo");
            Assert.Equal(2, missing.ExitCode);
            Assert.Contains("error: cannot reach the coordinator: Connection refused (127.0.0.1:9)", missing.Stderr);
            Assert.DoesNotContain("   at ", missing.Stderr);
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
