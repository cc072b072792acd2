using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microscope.Contracts;
using Microscope.Coordinator;
using Microscope.Coordinator.Data;
using Microscope.Coordinator.Models;
using Microscope.Farm.Hosting;
using Microscope.Farm.Storage;
using Microscope.Worker;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Viewer.Tests;

/// <summary>The single-machine farm (coordinator + a real worker on the in-memory bus,
/// SQLite, a folder) and the viewer over the same database and folder, both on free ports
/// of 127.0.0.1. Seeded once with real demo renders (conv2 and conv3 channel, conv3 neuron,
/// a second parameter set of conv3), a sweep that fails, and results of the other
/// techniques for demo/conv3/9 so every kind of section is on the pages.</summary>
public sealed class ViewerFarm : IAsyncLifetime
{
    public const string OperatorToken = "operator-token-0123";
    public const string ResearcherToken = "researcher-token-0123";
    public static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "viewer-test-" + Guid.NewGuid().ToString("N")[..12]);
    public WebApplication Coordinator { get; private set; } = null!;
    public WebApplication Viewer { get; private set; } = null!;
    public string ViewerUrl { get; private set; } = "";
    public HttpClient Http { get; private set; } = null!;
    public HttpClient Farm { get; private set; } = null!;
    public string DemoVersion { get; private set; } = "";
    public Guid FailedSweep { get; private set; }
    public Guid ConvSweep { get; private set; }
    public IObjectStore Store => Coordinator.Services.GetRequiredService<IObjectStore>();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Folder);
        var values = new Dictionary<string, string?>
        {
            ["Transport:Kind"] = "InMemory",
            ["Database:Provider"] = "Sqlite",
            ["Database:ConnectionString"] = $"Data Source={Path.Combine(Folder, "farm.db")}",
            ["Storage:Kind"] = "Folder",
            ["Storage:Folder"] = Path.Combine(Folder, "objects"),
            ["Coordinator:Urls"] = "http://127.0.0.1:0",
            ["Coordinator:DispatchIntervalMs"] = "100",
            ["Coordinator:PacketSize"] = "16",
            ["Worker:RetryIntervalMs"] = "10",
            ["Worker:HeartbeatSeconds"] = "1",
            // A sweep at 96 px fails permanently with a reason (the sweeps page shows it).
            ["Worker:MaxImageSize"] = "64",
            ["Viewer:Urls"] = "http://127.0.0.1:0",
            ["Viewer:OperatorTokens"] = OperatorToken,
            ["Viewer:ResearcherTokens"] = ResearcherToken,
            // The coordinator takes the same tokens: the viewer forwards the caller's.
            ["Coordinator:OperatorTokens"] = OperatorToken,
            ["Coordinator:ResearcherTokens"] = ResearcherToken,
            ["Serilog:MinimumLevel:Default"] = "Warning",
        };
        // The same tests against PostgreSQL (an empty database, e.g. from scripts/servers/postgres.sh).
        if (Environment.GetEnvironmentVariable("VIEWER_TEST_POSTGRES") is { Length: > 0 } postgres)
        {
            values["Database:Provider"] = "Postgres";
            values["Database:ConnectionString"] = postgres;
        }
        var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var workerOptions = FarmConfiguration.Bind<WorkerOptions>(config, WorkerOptions.Section);
        var storage = FarmConfiguration.Bind<StorageOptions>(config, StorageOptions.Section);
        Coordinator = CoordinatorHost.Build(config, s => WorkerHost.AddServices(s, workerOptions, storage), WorkerHost.AddConsumers);
        await Coordinator.StartAsync();
        var farmUrl = CoordinatorHost.Address(Coordinator);
        config["Viewer:Coordinator"] = farmUrl;
        Viewer = ViewerHost.Build(config);
        await Viewer.StartAsync();
        ViewerUrl = ViewerHost.Address(Viewer);
        Http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(ViewerUrl), Timeout = TimeSpan.FromMinutes(2) };
        Farm = new HttpClient { BaseAddress = new Uri(farmUrl), Timeout = TimeSpan.FromMinutes(2) };
        Farm.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", OperatorToken);

        ConvSweep = await SweepAsync(new { model = "demo", ops = new[] { "conv2", "conv3" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 } });
        var neuron = await SweepAsync(new { model = "demo", ops = new[] { "conv3" }, techniques = new[] { "neuron" }, parameters = new { steps = 4, size = 32 } });
        var second = await SweepAsync(new { model = "demo", ops = new[] { "conv3" }, techniques = new[] { "channel" }, parameters = new { steps = 6, size = 32, seed = 1 } });
        FailedSweep = await SweepAsync(new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 96 } });
        foreach (var id in new[] { ConvSweep, neuron, second, FailedSweep }) await WaitAsync(id, TimeSpan.FromMinutes(3));
        DemoVersion = Db(db => db.Models.Single(m => m.Name == "demo").Version);
        await SeedOtherTechniquesAsync();
        await SeedInceptionCatalogueAsync();
        await SeedResNetUnitAsync();
    }

    /// <summary>ResNetV2-50's real descriptor (op names with slashes) and one channel result of
    /// <see cref="ResNetOp"/> unit 5, its image stored under the key the worker would write.</summary>
    private async Task SeedResNetUnitAsync()
    {
        ResNetVersion = (await RegisterZooDescriptorAsync("resnetv2_50")).Version;
        var png = (await Store.GetAsync(Db(db => db.Results.First(r => r.Model == "demo" && r.Technique == "channel")).ImageKey))!;
        var stem = $"resnetv2_50/{ResNetVersion}/{ResNetOp}/5/channel/0123456789ab";
        await Store.PutAsync(stem + ".png", png, "image/png");
        await Store.PutAsync(stem + ".json", Encoding.UTF8.GetBytes("{\"technique\":\"channel\"}"), "application/json");
        await Db(async db =>
        {
            db.Results.Add(new ResultRow
            {
                Model = "resnetv2_50", Version = ResNetVersion, Op = ResNetOp, Unit = 5, Technique = "channel", ParamsHash = "0123456789ab",
                ImageKey = stem + ".png", RecordKey = stem + ".json", ObjectiveStart = 0.1, ObjectiveEnd = 2.5, MsPerStep = 3,
                TupleId = Guid.NewGuid(), RenderedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            });
            await db.SaveChangesAsync();
        });
    }

    public const string ResNetOp = "block2/unit_3/add";
    public string ResNetVersion { get; private set; } = "";

    /// <summary>Results in the catalogue when the performance test runs.</summary>
    public const int CatalogueResults = 100_000;
    public string InceptionVersion { get; private set; } = "";

    /// <summary>Registers a zoo model's real descriptor (random weights: only its ops matter).</summary>
    private async Task<(Microscope.Engine.Models.ModelDescriptor Descriptor, string Version)> RegisterZooDescriptorAsync(string slug)
    {
        Microscope.Engine.Models.ModelDescriptor d;
        using (var model = Microscope.Engine.Models.ModelZoo.Load(slug, new Microscope.Engine.Models.WeightsSource.Random(0), Microscope.Engine.Torch.Device.CPU))
            d = model.Describe();
        await Registry.RegisterAsync(d);
        return (d, ModelRegistry.VersionOf(d));
    }

    /// <summary>InceptionV1's real descriptor (random weights: only its ops matter) and
    /// channel and neuron results of every sweep unit under several parameter sets, until
    /// the catalogue holds <see cref="CatalogueResults"/> results (objects not stored).</summary>
    private async Task SeedInceptionCatalogueAsync()
    {
        var (d, version) = await RegisterZooDescriptorAsync("inceptionv1");
        InceptionVersion = version;
        var existing = Db(db => db.Results.Count());
        var rows = new List<object?[]>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var set = 0; existing + rows.Count < CatalogueResults; set++)
        {
            var hash = $"perf{set:D8}";
            foreach (var op in d.Ops.Where(o => o.InSweep))
                foreach (var technique in new[] { "channel", "neuron" })
                    for (var u = 0; u < op.Channels && existing + rows.Count < CatalogueResults; u++)
                    {
                        var stem = $"inceptionv1/{InceptionVersion}/{op.Name}/{u}/{technique}/{hash}";
                        rows.Add([d.Name, InceptionVersion, op.Name, u, technique, hash, stem + ".png", stem + ".json", 0.5, 9.5, 30.0, Guid.NewGuid().ToString(), now - set]);
                    }
        }
        await Db(async db =>
        {
            var connection = db.Database.GetDbConnection();
            await connection.OpenAsync();
            await using var tx = await connection.BeginTransactionAsync();
            await BulkInsert.InsertAsync(connection, tx, "results",
                ["model", "version", "op", "unit", "technique", "params_hash", "image_key", "record_key", "objective_start", "objective_end", "ms_per_step", "tuple_id", "rendered_at"], rows);
            await tx.CommitAsync();
        });
    }

    /// <summary>Diversity, dataset examples, tuning curves for demo/conv3/9 and a DeepDream
    /// of conv3, stored the way the TechniqueRunner names its outputs.</summary>
    private async Task SeedOtherTechniquesAsync()
    {
        var channel = Db(db => db.Results.First(r => r.Model == "demo" && r.Op == "conv3" && r.Unit == 9 && r.Technique == "channel"));
        var png = (await Store.GetAsync(channel.ImageKey))!;
        const string hash = "feedfacecafe";
        var rows = new List<ResultRow>();
        async Task Add(string technique, int unit, string firstKeySuffix, params (string Suffix, byte[] Data, string Type)[] objects)
        {
            var stem = $"demo/{DemoVersion}/conv3/{unit}/{technique}/{hash}";
            foreach (var (suffix, data, type) in objects) await Store.PutAsync(stem + suffix, data, type);
            var record = technique == "dataset_examples"
                ? "{\"technique\":\"dataset_examples\",\"source\":\"folder /weights/datasets/places365 (2048 images)\",\"images_seen\":2047,\"channel\":[{\"image_id\":\"procedural/0017\",\"score\":3.25},{\"image_id\":\"procedural/0420\",\"score\":2.5}],\"neuron\":[{\"image_id\":\"procedural/0099\",\"score\":4.125,\"crop\":[10,12,18,18]}]}"
                : "{\"technique\":\"" + technique + "\"}";
            await Store.PutAsync(stem + ".json", Encoding.UTF8.GetBytes(record), "application/json");
            rows.Add(new ResultRow
            {
                Model = "demo", Version = DemoVersion, Op = "conv3", Unit = unit, Technique = technique, ParamsHash = hash,
                ImageKey = stem + firstKeySuffix, RecordKey = stem + ".json", ObjectiveStart = 0.1, ObjectiveEnd = 2.5, MsPerStep = 3,
                TupleId = Guid.NewGuid(), RenderedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            });
        }
        await Add("diversity", 9, "-0.png", [.. Enumerable.Range(0, 4).Select(i => ($"-{i}.png", png, "image/png"))]);
        await Add("dataset_examples", 9, ".channel.png", (".channel.png", png, "image/png"), (".neuron.png", png, "image/png"));
        var svg = Encoding.UTF8.GetBytes("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"100\"><polyline points=\"0,90 50,10 100,60 200,80\" fill=\"none\" stroke=\"black\"/></svg>");
        await Add("tuning_curves", 9, ".orientation.svg", [.. new[] { "orientation", "curve", "hue", "frequency" }.Select(f => ($".{f}.svg", svg, "image/svg+xml"))]);
        await Add("deepdream", 0, ".png", (".png", png, "image/png"));
        await Db(async db => { db.Results.AddRange(rows); await db.SaveChangesAsync(); });
    }

    public T Db<T>(Func<FarmDb, T> read)
    {
        using var scope = Coordinator.Services.CreateScope();
        return read(scope.ServiceProvider.GetRequiredService<FarmDb>());
    }

    public async Task Db(Func<FarmDb, Task> write)
    {
        using var scope = Coordinator.Services.CreateScope();
        await write(scope.ServiceProvider.GetRequiredService<FarmDb>());
    }

    public ModelRegistry Registry => Coordinator.Services.GetRequiredService<ModelRegistry>();

    public async Task<Guid> SweepAsync(object request)
    {
        using var response = await Farm.PostAsJsonAsync("/api/sweeps", request, Web);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
    }

    public async Task<SweepStatus> WaitAsync(Guid id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var status = (await Farm.GetFromJsonAsync<SweepStatus>($"/api/sweeps/{id}", Web))!;
            if (status.State is "done" or "failed" or "cancelled") return status;
            if (DateTime.UtcNow > deadline) Assert.Fail($"sweep {id} not finished after {timeout}: {JsonSerializer.Serialize(status)}");
            await Task.Delay(200);
        }
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        Farm?.Dispose();
        try
        {
            if (Viewer is not null) { await Viewer.StopAsync(); await Viewer.DisposeAsync(); }
            if (Coordinator is not null) { await Coordinator.StopAsync(); await Coordinator.DisposeAsync(); }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ViewerCollection : ICollectionFixture<ViewerFarm>, ICollectionFixture<ChromiumBrowser>
{
    public const string Name = "viewer";
}
