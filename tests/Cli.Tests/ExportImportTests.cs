using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microscope.Coordinator;
using Microscope.Farm.Hosting;
using Microscope.Farm.Storage;
using Microscope.Worker;

namespace Microscope.Cli.Tests;

/// <summary>`microscope export` then `microscope import` into an empty farm: a viewer over the
/// import serves the same pages and files as a viewer over the original.</summary>
public class ExportImportTests
{
    [Fact]
    public async Task An_exported_catalogue_imported_into_an_empty_viewer_serves_the_same_pages()
    {
        var clock = Stopwatch.StartNew();
        var root = Directory.CreateTempSubdirectory("ms-export-").FullName;
        var source = Path.Combine(root, "source");
        var target = Path.Combine(root, "target");
        var export = Path.Combine(root, "export");

        // The source farm renders conv1 units 0-3 with three lenses (diversity writes several images per unit).
        var config = InMemoryFarmSettings.Build(source, new Dictionary<string, string?> { ["Coordinator:DispatchIntervalMs"] = "100", ["Worker:HeartbeatSeconds"] = "1" });
        var worker = FarmConfiguration.Bind<WorkerOptions>(config, WorkerOptions.Section);
        var storage = FarmConfiguration.Bind<StorageOptions>(config, StorageOptions.Section);
        var app = CoordinatorHost.Build(config, s => WorkerHost.AddServices(s, worker, storage), WorkerHost.AddConsumers);
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(CoordinatorHost.Address(app)) };
            http.DefaultRequestHeaders.Authorization = new("Bearer", CliRunner.Token);
            using var created = await http.PostAsJsonAsync("/api/sweeps", new
            {
                model = "demo", ops = new[] { "conv1" }, units = new[] { 0, 1, 2, 3 }, techniques = new[] { "channel", "neuron", "diversity" },
                parameters = new { steps = 2, size = 16 },
            });
            var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
            for (var i = 0; ; i++)
            {
                var state = JsonDocument.Parse(await http.GetStringAsync($"/api/sweeps/{id}")).RootElement.GetProperty("state").GetString();
                if (state is "done") break;
                Assert.True(state is "active" && i < 600, $"sweep {state}");
                await Task.Delay(200);
            }
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }

        var exported = CliRunner.Run(Env(source), "export", "demo", export);
        Assert.True(exported.ExitCode == 0, exported.Stdout + exported.Stderr);
        var sourceFiles = Directory.EnumerateFiles(Path.Combine(source, "objects", "demo"), "*", SearchOption.AllDirectories).Count();
        Assert.Contains($"exported demo: 1 version(s), 12 results, {sourceFiles} files to {export}", exported.Stdout);
        Assert.True(sourceFiles > 24, $"{sourceFiles} files: diversity's extra images are missing");
        var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(export, "catalogue.json"))).RootElement;
        Assert.Equal("microscope-catalogue/1", index.GetProperty("format").GetString());
        Assert.Equal(12, index.GetProperty("results").GetArrayLength());
        Assert.Equal(sourceFiles, Directory.EnumerateFiles(Path.Combine(export, "objects"), "*", SearchOption.AllDirectories).Count());
        // Exporting into a folder that is not empty is refused, naming it; nothing is touched.
        var again = CliRunner.Run(Env(source), "export", "demo", export);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains($"error: '{export}' is not empty", again.Stderr);
        var unknown = CliRunner.Run(Env(source), "export", "nosuch", Path.Combine(root, "nosuch"));
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("error: no model 'nosuch' in this farm's catalogue (it has: demo)", unknown.Stderr);

        var imported = CliRunner.Run(Env(target), "import", export);
        Assert.True(imported.ExitCode == 0, imported.Stdout + imported.Stderr);
        Assert.Contains($"imported {export}: 1 new version(s), 12 results (0 already there), {sourceFiles} files", imported.Stdout);
        var twice = CliRunner.Run(Env(target), "import", export);
        Assert.Contains("0 new version(s), 0 results (12 already there)", twice.Stdout);
        var notAnExport = CliRunner.Run(Env(target), "import", source);
        Assert.Equal(2, notAnExport.ExitCode);
        Assert.Contains($"error: '{source}' has no catalogue.json", notAnExport.Stderr);

        // Two viewers, each its own process (the viewer caches parameter sets per process).
        using var original = ViewerProcess.Start(Env(source));
        using var copy = ViewerProcess.Start(Env(target));
        using var a = new HttpClient { BaseAddress = new Uri(original.Url) };
        using var b = new HttpClient { BaseAddress = new Uri(copy.Url) };
        string[] pages = ["/", "/models/demo", "/models/demo/conv1", "/models/demo/conv1/0", "/models/demo/conv1/3"];
        foreach (var page in pages)
        {
            var expected = await a.GetStringAsync(page);
            Assert.Equal(expected, await b.GetStringAsync(page));
        }
        var unit = await a.GetStringAsync("/models/demo/conv1/0");
        Assert.Contains("data-technique=\"diversity\"", unit);
        foreach (var src in Regex.Matches(unit, "src=\"(/objects/[^\"]+)\"").Select(m => m.Groups[1].Value).Distinct())
            Assert.Equal(await a.GetByteArrayAsync(src), await b.GetByteArrayAsync(src));
        Console.WriteLine($"export/import round trip took {clock.Elapsed.TotalSeconds:F0} s");
    }

    private static Dictionary<string, string> Env(string dir) => new()
    {
        ["MICROSCOPE_DATABASE__PROVIDER"] = "Sqlite",
        ["MICROSCOPE_DATABASE__CONNECTIONSTRING"] = $"Data Source={Path.Combine(dir, "farm.db")}",
        ["MICROSCOPE_STORAGE__KIND"] = "Folder",
        ["MICROSCOPE_STORAGE__FOLDER"] = Path.Combine(dir, "objects"),
        ["MICROSCOPE_VIEWER__URLS"] = "http://127.0.0.1:0",
    };

    /// <summary>`microscope viewer` as a child process, until disposed.</summary>
    private sealed class ViewerProcess : IDisposable
    {
        private readonly Process _process;
        public string Url { get; }

        private ViewerProcess(Process process, string url) => (_process, Url) = (process, url);

        public static ViewerProcess Start(IReadOnlyDictionary<string, string> env)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var (k, v) in env) psi.Environment[k] = v;
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "microscope.dll"));
            psi.ArgumentList.Add("viewer");
            var p = Process.Start(psi)!;
            p.ErrorDataReceived += (_, _) => { };
            p.BeginErrorReadLine();
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (DateTime.UtcNow < deadline && p.StandardOutput.ReadLine() is { } line)
                if (Regex.Match(line, @"viewer listening on (http://\S+)") is { Success: true } m) return new ViewerProcess(p, m.Groups[1].Value);
            p.Kill(true);
            throw new TimeoutException("the viewer did not start");
        }

        public void Dispose()
        {
            try { _process.Kill(true); } catch (InvalidOperationException) { }
            _process.WaitForExit(10_000);
            _process.Dispose();
        }
    }
}
