using System.CommandLine;
using System.Net.Http.Json;
using Microscope.Contracts;
using Microscope.Coordinator;
using Microscope.Engine.Models.Custom;
using Microscope.Farm.Hosting;
using Microscope.Farm.Storage;
using Microscope.Viewer;
using Microscope.Worker;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Microscope.Cli.Commands;

/// <summary>`microscope demo`: the whole farm in one process (coordinator, one worker, the
/// status page) on the in-memory transport, SQLite and a folder, sweeping every op, channel
/// and neuron of the demo model. Same code paths as the distributed farm, other adapters.</summary>
public static class DemoCommand
{
    /// <summary>The exit code of a demo stopped by Ctrl+C or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;

    public static Command Create()
    {
        var settings = new FarmSettings();
        var model = new Option<string>("--model", "-m") { Description = "model to sweep: a slug, or your own model's .model.json (its weights beside it)", DefaultValueFactory = _ => "demo" };
        var steps = new Option<int>("--steps") { Description = "optimisation steps per image (DEMO_STEPS)", DefaultValueFactory = _ => EnvInt("DEMO_STEPS", 128) };
        var size = new Option<int>("--size") { Description = "image size in pixels (DEMO_SIZE)", DefaultValueFactory = _ => EnvInt("DEMO_SIZE", 64) };
        var techniques = new Option<string[]>("--technique", "-t") { Description = $"techniques: {string.Join(", ", Engine.Lenses.LensRegistry.Names)} or {Engine.Lenses.LensRegistry.Everything} (default: {string.Join(" and ", Engine.Lenses.LensRegistry.DefaultSweep)})", AllowMultipleArgumentsPerToken = true };
        var ops = new Option<string[]>("--op") { Description = "ops to sweep (default: all)", AllowMultipleArgumentsPerToken = true };
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "folder for the database and the objects", DefaultValueFactory = _ => new DirectoryInfo("out/demo-farm") };
        var port = new Option<int>("--port") { Description = "port of the status page and API on 127.0.0.1 (0: any free port)", DefaultValueFactory = _ => 5080 };
        var packetSize = new Option<int>("--packet-size") { Description = "units per work packet", DefaultValueFactory = _ => 32 };
        var force = new Option<bool>("--force") { Description = "render again even what an earlier run already rendered" };
        var exit = new Option<bool>("--exit") { Description = "exit when the sweep is finished instead of serving until Ctrl+C" };
        var sample = new Option<string?>("--sample") { Description = "after the sweep, render a sample of this model too (e.g. resnet18: real trained features)" };
        var sampleOps = new Option<string[]>("--sample-op") { Description = "the sample's ops (default: up to 5 of the model's swept ops, spread from first to last)", AllowMultipleArgumentsPerToken = true };
        var sampleUnits = new Option<int>("--sample-units") { Description = "channels 0..N-1 of each sampled op", DefaultValueFactory = _ => 8 };
        var sampleSteps = new Option<int>("--sample-steps") { Description = "the sample's optimisation steps (SAMPLE_STEPS)", DefaultValueFactory = _ => EnvInt("SAMPLE_STEPS", 256) };
        var sampleSize = new Option<int>("--sample-size") { Description = "the sample's image size in pixels (SAMPLE_SIZE)", DefaultValueFactory = _ => EnvInt("SAMPLE_SIZE", 128) };
        var command = new Command("demo", "Run the single-machine farm and sweep the demo model.")
        {
            model, steps, size, techniques, ops, output, port, packetSize, force, exit, sample, sampleOps, sampleUnits, sampleSteps, sampleSize,
        };
        settings.AddTo(command);
        command.SetAction(r => ServiceErrors.Run(() =>
        {
            var dir = r.GetValue(output)!;
            dir.Create();
            var (modelName, userModel) = UserModelSettings(r.GetValue(model)!);
            // One operator token for this run, shared by the coordinator and the viewer
            // (unless the settings name tokens): the demo's sweep, the CLI and the viewer's
            // re-render form and sweep buttons use it.
            var demoToken = "demo-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
            // The sample's dataset examples come from the real photo folder (scripts/photos.sh;
            // the ./microscope wrapper assembles it), not the demo's procedural images.
            var photos = r.GetValue(sample) is not null && Engine.Techniques.RealPhotos.Folder() is { } folder ? Path.GetFullPath(folder) : null;
            if (photos is not null) userModel[$"Models:Datasets:{r.GetValue(sample)}"] = photos;
            var config = settings.Build(r, new Dictionary<string, string?>(userModel)
            {
                ["Coordinator:OperatorTokens"] = demoToken,
                ["Viewer:OperatorTokens"] = demoToken,
                ["Transport:Kind"] = "InMemory",
                ["Database:Provider"] = "Sqlite",
                ["Database:ConnectionString"] = $"Data Source={Path.Combine(dir.FullName, "farm.db")}",
                ["Storage:Kind"] = "Folder",
                ["Storage:Folder"] = Path.Combine(dir.FullName, "objects"),
                ["Coordinator:Urls"] = $"http://127.0.0.1:{r.GetValue(port)}",
                ["Coordinator:PacketSize"] = r.GetValue(packetSize).ToString(System.Globalization.CultureInfo.InvariantCulture),
                // Ctrl+C drops the packet being rendered at its next step instead of finishing it.
                ["Worker:FinishPacketOnShutdown"] = "false",
                // The progress bar owns the terminal: only warnings and errors are logged.
                ["Serilog:MinimumLevel:Default"] = "Warning",
                ["Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime"] = "Warning",
            });
            var workerOptions = FarmConfiguration.Bind<WorkerOptions>(config, WorkerOptions.Section);
            var storage = FarmConfiguration.Bind<StorageOptions>(config, StorageOptions.Section);
            using var app = CoordinatorHost.Build(config, services => WorkerHost.AddServices(services, workerOptions, storage), WorkerHost.AddConsumers);
            app.StartAsync().GetAwaiter().GetResult();
            var url = CoordinatorHost.Address(app);
            Console.WriteLine($"Microscope farm (single machine): {url}   objects: {storage.Folder}");
            // The viewer beside it on the next port, reading the same database and folder.
            config["Viewer:Urls"] ??= $"http://127.0.0.1:{(r.GetValue(port) == 0 ? 0 : r.GetValue(port) + 1)}";
            config["Viewer:Coordinator"] ??= url;
            using var viewer = StartViewer(config);
            Console.WriteLine($"viewer: {ViewerHost.Address(viewer)}");

            var token = Microscope.Farm.Security.AccessTokens.Parse(config["Coordinator:OperatorTokens"]).First();
            Console.WriteLine($"operator token for this run: {token}");
            Console.WriteLine($"  CLI: export {FarmClient.TokenVariable}={token}; microscope sweeps -c {url}");
            Console.WriteLine("  viewer: paste it into the token field of a unit page (re-render) or of /sweeps");
            using var http = FarmClient.Http(url, token);
            var accepted = FarmClient.StartSweepAsync(http, new SweepRequest
            {
                Model = modelName,
                Ops = r.GetValue(ops) is { Length: > 0 } o ? o : null,
                // None named: the coordinator's default sweep (channel, neuron, and circuits where they apply).
                Techniques = r.GetValue(techniques) is { Length: > 0 } t ? t : null,
                Parameters = new RenderSettings { Steps = r.GetValue(steps), Size = r.GetValue(size) },
                Force = r.GetValue(force),
            }).GetAwaiter().GetResult();
            Console.WriteLine($"sweep {accepted.Id}: {accepted.Total} tuples of {modelName}@{accepted.Version} ({accepted.Reused} already rendered), parameters {accepted.ParamsHash}");
            // Ctrl+C and SIGTERM stop the host (its console lifetime); the wait on the sweep must
            // watch that too, or the demo sweeps on until the end.
            var stopping = app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            var status = FarmClient.Follow(http, accepted.Id, $"{modelName} sweep", accepted.Total, stopping);
            int Interrupt()
            {
                Console.Error.WriteLine("interrupted: what was rendered is kept, and the next `microscope demo` reuses it");
                viewer.StopAsync().GetAwaiter().GetResult();
                app.StopAsync().GetAwaiter().GetResult();
                return Interrupted;
            }
            if (stopping.IsCancellationRequested) return Interrupt();
            Console.WriteLine(FarmClient.Summary(status));
            if (r.GetValue(sample) is { } sampled)
            {
                var sampleStatus = RenderSample(http, sampled, r.GetValue(sampleOps), r.GetValue(sampleUnits), r.GetValue(sampleSteps), r.GetValue(sampleSize), r.GetValue(force),
                    photos is null ? ["channel"] : ["channel", "dataset_examples"], stopping);
                if (stopping.IsCancellationRequested) return Interrupt();
                Console.WriteLine(FarmClient.Summary(sampleStatus));
                Console.WriteLine($"viewer: {ViewerHost.Address(viewer)}/models/{sampled}");
                if (sampleStatus.State != "done") status = sampleStatus;
            }
            Console.WriteLine($"status page and API: {url}  (e.g. {url}/api/models/{modelName})");
            Console.WriteLine($"viewer: {ViewerHost.Address(viewer)}/models/{modelName}");
            if (!r.GetValue(exit))
            {
                Console.WriteLine("serving until Ctrl+C");
                app.WaitForShutdownAsync().GetAwaiter().GetResult();
            }
            else
            {
                viewer.StopAsync().GetAwaiter().GetResult();
                app.StopAsync().GetAwaiter().GetResult();
            }
            return status.State == "done" ? 0 : 1;
        }));
        return command;
    }

    /// <summary>A sample of a (real) model after the demo's sweep: channels 0..units-1 of a few
    /// ops with the channel technique, so a newcomer sees what a trained network learned.</summary>
    private static SweepStatus RenderSample(HttpClient http, string model, string[]? ops, int units, int steps, int size, bool force, string[] techniques, CancellationToken stopping)
    {
        if (ops is not { Length: > 0 })
        {
            var described = http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/models/{Uri.EscapeDataString(model)}").GetAwaiter().GetResult();
            var swept = described.GetProperty("ops").EnumerateArray().Where(o => o.GetProperty("inSweep").GetBoolean()).Select(o => o.GetProperty("name").GetString()!).ToList();
            ops = SpreadOps(swept, 5);
        }
        var accepted = FarmClient.StartSweepAsync(http, new SweepRequest
        {
            Model = model,
            Ops = ops,
            Units = [.. Enumerable.Range(0, units)],
            Techniques = techniques,
            Parameters = new RenderSettings { Steps = steps, Size = size },
            Force = force,
        }).GetAwaiter().GetResult();
        Console.WriteLine($"sample {accepted.Id}: {accepted.Total} tuples of {model}@{accepted.Version} ({string.Join(", ", ops)}: channels 0..{units - 1}, {string.Join(" and ", techniques)}, {steps} steps, {size} px; {accepted.Reused} already rendered)");
        return FarmClient.Follow(http, accepted.Id, $"{model} sample", accepted.Total, stopping);
    }

    /// <summary>Up to <paramref name="count"/> ops spread evenly from the first to the last.</summary>
    public static string[] SpreadOps(IReadOnlyList<string> ops, int count) =>
        ops.Count <= count ? [.. ops] : [.. Enumerable.Range(0, count).Select(i => ops[(int)Math.Round(i * (ops.Count - 1) / (double)(count - 1))]).Distinct()];

    /// <summary>The viewer on its port, or on any free port when that one is taken: a busy
    /// port must not stop the demo (checked first, so the host logs no bind failure).</summary>
    private static Microsoft.AspNetCore.Builder.WebApplication StartViewer(Microsoft.Extensions.Configuration.IConfigurationRoot config)
    {
        if (Uri.TryCreate(config["Viewer:Urls"], UriKind.Absolute, out var wanted) && wanted.Port != 0 && !PortFree(wanted.Port))
        {
            Console.Error.WriteLine($"viewer: port {wanted.Port} is taken; using a free port");
            config["Viewer:Urls"] = "http://127.0.0.1:0";
        }
        var viewer = ViewerHost.Build(config);
        viewer.StartAsync().GetAwaiter().GetResult();
        return viewer;
    }

    /// <summary>A .model.json (a user's own model) becomes Models:Specs and Models:Weights (the
    /// safetensors beside it) under the spec's name; a slug needs nothing.</summary>
    private static (string Name, Dictionary<string, string?> Settings) UserModelSettings(string model)
    {
        if (!ModelSpec.IsSpecPath(model)) return (model, []);
        var spec = ModelSpec.Read(model);
        return (spec.Name, new() { [$"Models:Specs:{spec.Name}"] = Path.GetFullPath(model), [$"Models:Weights:{spec.Name}"] = Path.GetFullPath(ModelSpec.WeightsBeside(model)) });
    }

    private static bool PortFree(int port)
    {
        try
        {
            var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            probe.Start();
            probe.Stop();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;
}
