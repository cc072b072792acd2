using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microscope.Contracts;
using Microscope.Coordinator;
using Microscope.Engine.Imaging;
using Microscope.Engine.Lenses;
using Microscope.Farm.Hosting;
using Microscope.Farm.Storage;
using Microscope.Viewer;
using Microscope.Worker;
using Microsoft.Extensions.Configuration;

namespace Microscope.Cli.Tests;

/// <summary>A lens defined only in this test project (<see cref="DimmerLens"/>): rendered by
/// the CLI, swept by the single-machine farm and shown by the viewer, with no other file
/// changed; and an unknown lens refused by the CLI and the API.</summary>
public class TestLensTests
{
    private static readonly Dictionary<string, string> WithTestLens = new() { [LensRegistry.AssembliesVariable] = typeof(DimmerLens).Assembly.Location };

    [Fact]
    public void The_CLI_renders_a_lens_from_another_assembly_and_checks_its_parameters_at_parse_time()
    {
        var dir = Directory.CreateTempSubdirectory("ms-lens-").FullName;
        try
        {
            var r = CliRunner.Run(WithTestLens, "render", "--op", "conv3", "--unit", "9", "--technique", "test_dimmer", "--param", "strength=2",
                "--steps", "8", "--size", "32", "--out", dir, "--json");
            Assert.True(r.ExitCode == 0, r.Stderr);
            var line = JsonDocument.Parse(r.Stdout.Trim()).RootElement;
            Assert.Equal(("test_dimmer", 9, "2"), (line.GetProperty("technique").GetString(), line.GetProperty("unit").GetInt32(),
                line.GetProperty("lens_parameters").GetProperty("strength").GetString()));
            Assert.StartsWith("-2 * channel(conv3, 9)", line.GetProperty("objective").GetString());
            Assert.True(line.GetProperty("objective_end").GetDouble() > line.GetProperty("objective_start").GetDouble());
            Assert.Equal(32, ImageFile.Load(Path.Combine(dir, "demo_conv3_9_test_dimmer.png")).Width);
            Assert.True(File.Exists(Path.Combine(dir, "demo_conv3_9_test_dimmer.json")));

            var bad = CliRunner.Run(WithTestLens, "render", "--op", "conv3", "--unit", "9", "--technique", "test_dimmer", "--param", "strength=99", "--out", dir);
            Assert.Equal(1, bad.ExitCode);   // a parse error: nothing loaded, nothing rendered
            Assert.Contains("test_dimmer parameter 'strength' must be in 0.1..10, not 99", bad.Stderr);
            var typo = CliRunner.Run(WithTestLens, "render", "--op", "conv3", "--unit", "9", "--technique", "test_dimmer", "--param", "strenght=2", "--out", dir);
            Assert.Contains("no chosen technique has a parameter 'strenght'", typo.Stderr);
            // Without the assembly the lens does not exist: refused, never rendered as another.
            var unknown = CliRunner.Run("render", "--op", "conv3", "--unit", "9", "--technique", "test_dimmer", "--out", dir);
            Assert.NotEqual(0, unknown.ExitCode);
            Assert.Contains("test_dimmer", unknown.Stderr);
            Assert.Equal(2, Directory.GetFiles(dir).Length);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task The_farm_sweeps_a_registered_test_lens_and_the_viewer_shows_it()
    {
        LensRegistry.Register(new DimmerLens());
        var dir = Directory.CreateTempSubdirectory("ms-lens-farm-").FullName;
        var config = InMemoryFarmSettings.Build(dir, new Dictionary<string, string?>
        {
            ["Coordinator:DispatchIntervalMs"] = "100",
            ["Coordinator:PacketSize"] = "8",
            ["Viewer:Urls"] = "http://127.0.0.1:0",
        });
        var worker = FarmConfiguration.Bind<WorkerOptions>(config, WorkerOptions.Section);
        var storage = FarmConfiguration.Bind<StorageOptions>(config, StorageOptions.Section);
        var app = CoordinatorHost.Build(config, s => WorkerHost.AddServices(s, worker, storage), WorkerHost.AddConsumers);
        await app.StartAsync();
        config["Viewer:Coordinator"] = CoordinatorHost.Address(app);
        var viewer = ViewerHost.Build(config);
        await viewer.StartAsync();
        try
        {
            using var farm = new HttpClient { BaseAddress = new Uri(CoordinatorHost.Address(app)) };
            farm.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", CliRunner.Token);
            using var pages = new HttpClient { BaseAddress = new Uri(ViewerHost.Address(viewer)) };
            var listed = await farm.GetFromJsonAsync<JsonElement>("/api/techniques");
            var mine = listed.EnumerateArray().Single(t => t.GetProperty("name").GetString() == "test_dimmer");
            Assert.Equal(("unit", "strength"), (mine.GetProperty("kind").GetString(), mine.GetProperty("parameters")[0].GetProperty("name").GetString()));

            using var refused = await farm.PostAsJsonAsync("/api/sweeps", new { model = "demo", techniques = new[] { "test_dimmer", "dimmer" } });
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
            Assert.Contains("unknown technique(s) dimmer", await refused.Content.ReadAsStringAsync());
            using var badParameter = await farm.PostAsJsonAsync("/api/sweeps", new { model = "demo", techniques = new[] { "test_dimmer" },
                parameters = new { lensParameters = new { test_dimmer = new { strength = "0" } } } });
            Assert.Equal(HttpStatusCode.UnprocessableEntity, badParameter.StatusCode);
            Assert.Contains("must be in 0.1..10, not 0", await badParameter.Content.ReadAsStringAsync());

            using var created = await farm.PostAsJsonAsync("/api/sweeps", new
            {
                model = "demo", ops = new[] { "conv1" }, techniques = new[] { "test_dimmer" },
                parameters = new { steps = 4, size = 32, lensParameters = new { test_dimmer = new { strength = "2" } } },
            });
            Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
            var accepted = await created.Content.ReadFromJsonAsync<JsonElement>();
            var id = accepted.GetProperty("id").GetGuid();
            var hash = accepted.GetProperty("paramsHash").GetString()!;
            Assert.NotEqual(new RenderSettings { Steps = 4, Size = 32 }.Hash(), hash);   // the lens's parameter is in the hash
            var web = new JsonSerializerOptions(JsonSerializerDefaults.Web);
            SweepStatus status;
            var deadline = DateTime.UtcNow.AddMinutes(4);
            do
            {
                await Task.Delay(200);
                status = (await farm.GetFromJsonAsync<SweepStatus>($"/api/sweeps/{id}", web))!;
            } while (status.State == "active" && DateTime.UtcNow < deadline);
            Assert.Equal(("done", 16), (status.State, status.Counts.GetValueOrDefault("done")));

            var store = app.Services.GetService(typeof(IObjectStore)) as IObjectStore;
            var version = status.Version;
            var record = LensRecord.Parse((await store!.GetAsync($"demo/{version}/conv1/5/test_dimmer/{hash}.json"))!)!;
            Assert.Equal(("test_dimmer", 5, "2", hash), (record.Technique, record.Unit, record.LensParameters["strength"], record.ParamsHash));
            Assert.Equal(32, ImageFile.Decode((await store.GetAsync($"demo/{version}/conv1/5/test_dimmer/{hash}.png"))!).Width);

            var op = await pages.GetStringAsync("/models/demo/conv1?technique=test_dimmer");
            Assert.Contains($"/conv1/5/test_dimmer/{hash}.png", op);
            var unit = await pages.GetStringAsync("/models/demo/conv1/5");
            Assert.Contains("data-technique=\"test_dimmer\"", unit);
            Assert.Contains($"/conv1/5/test_dimmer/{hash}.png", unit);
        }
        finally
        {
            await viewer.StopAsync();
            await app.StopAsync();
            await viewer.DisposeAsync();
            await app.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }
}
