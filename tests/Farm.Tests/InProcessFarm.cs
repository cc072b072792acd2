using System.Net.Http.Json;
using System.Text.Json;
using Microscope.Contracts;
using Microscope.Coordinator;
using Microscope.Coordinator.Data;
using Microscope.Farm.Hosting;
using Microscope.Farm.Storage;
using Microscope.Worker;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Microscope.Farm.Tests;

/// <summary>The single-machine farm (in-memory transport, SQLite, folder) in the test
/// process, on a free port and a temporary folder, optionally with a worker.</summary>
public sealed class InProcessFarm : IAsyncDisposable
{
    public static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    /// <summary>The farm's tokens; <see cref="Http"/> sends the operator's.</summary>
    public const string OperatorToken = "test-operator-token";
    public const string ResearcherToken = "test-researcher-token";

    public WebApplication App { get; }
    public HttpClient Http { get; }
    public string Folder { get; }
    public IObjectStore Store => App.Services.GetRequiredService<IObjectStore>();

    private InProcessFarm(WebApplication app, HttpClient http, string folder)
    {
        App = app;
        Http = http;
        Folder = folder;
    }

    public static async Task<InProcessFarm> StartAsync(bool worker = true, IDictionary<string, string?>? settings = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), "farm-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        var values = new Dictionary<string, string?>
        {
            ["Transport:Kind"] = "InMemory",
            ["Database:Provider"] = "Sqlite",
            ["Database:ConnectionString"] = $"Data Source={Path.Combine(folder, "farm.db")}",
            ["Storage:Kind"] = "Folder",
            ["Storage:Folder"] = Path.Combine(folder, "objects"),
            ["Coordinator:Urls"] = "http://127.0.0.1:0",
            ["Coordinator:DispatchIntervalMs"] = "100",
            ["Worker:RetryIntervalMs"] = "10",
            ["Worker:HeartbeatSeconds"] = "1",
            ["Serilog:MinimumLevel:Default"] = "Warning",
            ["Coordinator:OperatorTokens"] = OperatorToken,
            ["Coordinator:ResearcherTokens"] = ResearcherToken,
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) values[k] = v;
        var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        WebApplication app;
        if (worker)
        {
            var workerOptions = FarmConfiguration.Bind<WorkerOptions>(config, WorkerOptions.Section);
            var storage = FarmConfiguration.Bind<StorageOptions>(config, StorageOptions.Section);
            app = CoordinatorHost.Build(config, s => WorkerHost.AddServices(s, workerOptions, storage), WorkerHost.AddConsumers);
        }
        else
        {
            app = CoordinatorHost.Build(config);
        }
        await app.StartAsync();
        var http = new HttpClient { BaseAddress = new Uri(CoordinatorHost.Address(app)), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", OperatorToken);
        return new InProcessFarm(app, http, folder);
    }

    public T Db<T>(Func<FarmDb, T> read)
    {
        using var scope = App.Services.CreateScope();
        return read(scope.ServiceProvider.GetRequiredService<FarmDb>());
    }

    public async Task DbAsync(Func<FarmDb, Task> write)
    {
        using var scope = App.Services.CreateScope();
        await write(scope.ServiceProvider.GetRequiredService<FarmDb>());
    }

    public async Task<Guid> SweepAsync(object request)
    {
        using var response = await Http.PostAsJsonAsync("/api/sweeps", request, Web);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
    }

    public async Task<SweepStatus> StatusAsync(Guid id) => (await Http.GetFromJsonAsync<SweepStatus>($"/api/sweeps/{id}", Web))!;

    /// <summary>Polls until the sweep has nothing open (or the timeout, which fails the test).</summary>
    public async Task<SweepStatus> WaitAsync(Guid id, TimeSpan timeout, Func<SweepStatus, bool>? until = null)
    {
        until ??= s => s.State is "done" or "failed" or "cancelled";
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var status = await StatusAsync(id);
            if (until(status)) return status;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"sweep {id} not finished after {timeout}: {JsonSerializer.Serialize(status)}");
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        try { await App.StopAsync(); }
        finally
        {
            await App.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
        }
    }
}
