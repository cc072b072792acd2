using System.Net.Http.Json;
using Npgsql;
using Xunit.Abstractions;

namespace Microscope.Farm.IntegrationTests;

/// <summary>A researcher's hourly render budget on real PostgreSQL under concurrent requests:
/// the check and the charge are one transaction, so exactly the renders that fit are admitted.</summary>
[Collection(RealServersCollection.Name)]
public sealed class RenderBudgetTests(RealServers servers, ITestOutputHelper output) : IDisposable
{
    private const string Researcher = "integration-researcher-token";
    private readonly List<FarmProcess> _processes = [];

    public void Dispose()
    {
        foreach (var p in _processes) p.Dispose();
    }

    [Fact]
    public async Task ConcurrentRendersNeverOvershootTheBudget()
    {
        var iso = await servers.IsolateAsync("budget");
        // Each render: 4 steps x 32 x 32 px = 4,096; the budget holds exactly ten.
        const long cost = 4 * 32 * 32, budget = 10 * cost;
        var env = new Dictionary<string, string>(servers.Environment(iso))
        {
            ["MICROSCOPE_COORDINATOR__RESEARCHERTOKENS"] = Researcher,
            ["MICROSCOPE_COORDINATOR__RENDERBUDGETPERHOUR"] = budget.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var (coordinator, url) = await FarmProcess.StartCoordinatorAsync(env);
        _processes.Add(coordinator);
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Researcher);
        // The model is loaded by the first request; the race is between the rest.
        await http.GetAsync("/api/models/demo");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var start = new SemaphoreSlim(0);
        var requests = Enumerable.Range(0, 30).Select(async unit =>
        {
            await start.WaitAsync();
            using var r = await http.PostAsJsonAsync("/api/renders", new { model = "demo", op = "conv2", unit, parameters = new { steps = 4, size = 32 } });
            return ((int)r.StatusCode, await r.Content.ReadAsStringAsync());
        }).ToList();
        start.Release(requests.Count);
        var answers = await Task.WhenAll(requests);
        output.WriteLine($"30 concurrent renders answered in {clock.Elapsed.TotalSeconds:F1} s: {string.Join(", ", answers.GroupBy(a => a.Item1).Select(g => $"{g.Count()} x {g.Key}"))}");

        Assert.True(answers.Count(a => a.Item1 == 202) == 10, string.Join("\n", answers.Select(a => $"{a.Item1} {a.Item2}")));
        Assert.Equal(20, answers.Count(a => a.Item1 == 429));
        await using var pg = new NpgsqlConnection(iso.Postgres);
        await pg.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*), coalesce(sum(cost), 0) FROM sweeps WHERE kind = 'render'", pg);
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((10L, budget), (reader.GetInt64(0), reader.GetInt64(1)));
    }
}
