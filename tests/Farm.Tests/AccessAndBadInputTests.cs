using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Microscope.Farm.Tests;

/// <summary>Every write of the coordinator needs a token of the right role; renders count
/// against a researcher's hourly budget; an Idempotency-Key makes a repeated create return
/// the first sweep; malformed requests on every route are 4xx problem details and change nothing.</summary>
public class AccessAndBadInputTests
{
    private static StringContent Json(string body, string type = "application/json") => new(body, Encoding.UTF8, type);

    private static async Task<(int Status, string? Type, string Body)> SendAsync(HttpClient http, HttpMethod method, string path, HttpContent? content = null,
        string? token = null, string? key = null, bool noToken = false)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (noToken) request.Headers.Authorization = null;
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (key is not null) request.Headers.Add("Idempotency-Key", key);
        // The farm's client sends the operator token by default; requests here choose their own.
        using var bare = new HttpClient { BaseAddress = http.BaseAddress, Timeout = http.Timeout };
        using var response = await (token is null && !noToken ? http : bare).SendAsync(request);
        return ((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    private const string TinySweep = """{"model":"demo","ops":["conv1"],"techniques":["channel"],"parameters":{"steps":4,"size":32}}""";

    [Fact]
    public async Task WritesNeedATokenOfTheRightRole()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        var none = await SendAsync(farm.Http, HttpMethod.Post, "/api/sweeps", Json(TinySweep), noToken: true);
        Assert.Equal((401, "application/problem+json"), (none.Status, none.Type));
        Assert.Contains("token", none.Body);
        Assert.Equal(403, (await SendAsync(farm.Http, HttpMethod.Post, "/api/sweeps", Json(TinySweep), token: "not-a-known-token")).Status);
        var researcher = await SendAsync(farm.Http, HttpMethod.Post, "/api/sweeps", Json(TinySweep), token: InProcessFarm.ResearcherToken);
        Assert.Equal(403, researcher.Status);
        Assert.Contains("operator", researcher.Body);
        Assert.Equal(0, farm.Db(db => db.Sweeps.Count()));

        var created = await SendAsync(farm.Http, HttpMethod.Post, "/api/sweeps", Json(TinySweep));
        Assert.Equal(202, created.Status);
        var id = JsonDocument.Parse(created.Body).RootElement.GetProperty("id").GetGuid();
        foreach (var action in new[] { "pause", "resume", "cancel", "retry-failed" })
        {
            Assert.Equal(401, (await SendAsync(farm.Http, HttpMethod.Post, $"/api/sweeps/{id}/{action}", noToken: true)).Status);
            Assert.Equal(403, (await SendAsync(farm.Http, HttpMethod.Post, $"/api/sweeps/{id}/{action}", token: InProcessFarm.ResearcherToken)).Status);
        }
        Assert.Equal("active", farm.Db(db => db.Sweeps.Single().State));
        Assert.Equal(401, (await SendAsync(farm.Http, HttpMethod.Post, "/api/renders", Json("""{"model":"demo","op":"conv1","unit":1}"""), noToken: true)).Status);
        // Reads stay open.
        Assert.Equal(200, (await SendAsync(farm.Http, HttpMethod.Get, $"/api/sweeps/{id}", noToken: true)).Status);
    }

    [Fact]
    public async Task AResearchersRendersStopAtTheHourlyBudget()
    {
        // Two renders of 4 steps at 32 px fit (4 x 32 x 32 = 4,096 each), the third does not.
        await using var farm = await InProcessFarm.StartAsync(worker: false, new Dictionary<string, string?> { ["Coordinator:RenderBudgetPerHour"] = "8192" });
        string Render(int unit) => $$$"""{"model":"demo","op":"conv1","unit":{{{unit}}},"parameters":{"steps":4,"size":32}}""";
        Assert.Equal(202, (await SendAsync(farm.Http, HttpMethod.Post, "/api/renders", Json(Render(1)), token: InProcessFarm.ResearcherToken)).Status);
        Assert.Equal(202, (await SendAsync(farm.Http, HttpMethod.Post, "/api/renders", Json(Render(2)), token: InProcessFarm.ResearcherToken)).Status);
        var third = await SendAsync(farm.Http, HttpMethod.Post, "/api/renders", Json(Render(3)), token: InProcessFarm.ResearcherToken);
        Assert.Equal((429, "application/problem+json"), (third.Status, third.Type));
        Assert.Contains("8,192", third.Body);
        var big = await SendAsync(farm.Http, HttpMethod.Post, "/api/renders", Json("""{"model":"demo","op":"conv1","unit":4,"parameters":{"steps":100000,"size":512}}"""), token: InProcessFarm.ResearcherToken);
        Assert.Equal(429, big.Status);
        Assert.Equal(2, farm.Db(db => db.Sweeps.Count()));
        // An operator's render is not budgeted.
        Assert.Equal(202, (await SendAsync(farm.Http, HttpMethod.Post, "/api/renders", Json(Render(3)))).Status);
    }

    [Fact]
    public async Task AnIdempotencyKeyReturnsTheFirstSweep()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        var ids = new List<string>();
        foreach (var _ in Enumerable.Range(0, 3))
        {
            var r = await SendAsync(farm.Http, HttpMethod.Post, "/api/sweeps", Json(TinySweep), key: "sweep-2026-11-30-a");
            Assert.Equal(202, r.Status);
            ids.Add(JsonDocument.Parse(r.Body).RootElement.GetProperty("id").GetString()!);
        }
        Assert.Single(ids.Distinct());
        Assert.Equal(1, farm.Db(db => db.Sweeps.Count()));
        Assert.Equal(16, farm.Db(db => db.Tuples.Count()));
        // Another key (or none) is another sweep.
        Assert.Equal(202, (await SendAsync(farm.Http, HttpMethod.Post, "/api/sweeps", Json(TinySweep), key: "sweep-2026-11-30-b")).Status);
        Assert.Equal(2, farm.Db(db => db.Sweeps.Count()));
    }

    [Fact]
    public async Task ModelNamesAreNeverPaths()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        var secret = Path.Combine(farm.Folder, "secret.model.json");
        await File.WriteAllTextAsync(secret, """{"name":"leak","secretField":"do-not-echo-0xC0FFEE"}""");
        foreach (var name in new[] { secret, "../" + Path.GetFileName(secret), "x/../../etc/passwd", "secret.model.json" })
        {
            var r = await SendAsync(farm.Http, HttpMethod.Post, "/api/sweeps", Json(JsonSerializer.Serialize(new { model = name })));
            Assert.Equal(422, r.Status);
            Assert.Contains("not a model name", r.Body);
            Assert.DoesNotContain("C0FFEE", r.Body);
            Assert.DoesNotContain("secretField", r.Body);
        }
        var get = await SendAsync(farm.Http, HttpMethod.Get, "/api/models/" + Uri.EscapeDataString(secret));
        Assert.Equal(404, get.Status);
        Assert.DoesNotContain("C0FFEE", get.Body);
        var longName = new string('m', 60_000);
        var r2 = await SendAsync(farm.Http, HttpMethod.Post, "/api/sweeps", Json(JsonSerializer.Serialize(new { model = longName })));
        Assert.Equal(422, r2.Status);
        Assert.True(r2.Body.Length < 2_000, $"the answer echoes the name: {r2.Body.Length} characters");
    }

    /// <summary>At least 150 malformed requests across every route: none is answered 5xx or
    /// without a problem body, and nothing in the database changes.</summary>
    [Fact]
    public async Task MalformedRequestsOnEveryRouteAreProblemsAndChangeNothing()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        var created = await SendAsync(farm.Http, HttpMethod.Post, "/api/sweeps", Json("""{"model":"demo","ops":["conv1"],"techniques":["channel"],"parameters":{"steps":4,"size":32},"paused":true}"""));
        var sweep = JsonDocument.Parse(created.Body).RootElement.GetProperty("id").GetGuid();
        string Snapshot() => farm.Db(db => string.Join("|",
            db.Sweeps.Count(), db.Packets.Count(), db.Tuples.Count(), db.Results.Count(),
            string.Join(",", db.Sweeps.OrderBy(s => s.Id).Select(s => s.State)), string.Join(",", db.Tuples.OrderBy(t => t.Id).Select(t => t.State))));
        var before = Snapshot();

        var bodies = new[]
        {
            """{"model":"demo","parameters":{"steps":"64"}}""", """{"model":"demo","parameters":{"size":"32"}}""", """{"model":"demo","packetSize":"8"}""",
            """{"model":"demo","ops":[null]}""", """{"model":"demo","techniques":[null]}""", """{"model":"demo","parameters":{"thresholds":null}}""",
            """{"model":"demo","parameters":{"thresholds":[null]}}""", """{"model":"demo","parameters":null,"force":null}""", """{"model":"demo","force":"true"}""",
            """{"model":"demo","paused":1}""", """{"model":"demo","unknown":1}""", """{"model":"demo","model":"demo"}""", """{"model":5}""", """{"model":["demo"]}""",
            """{"model":{"name":"demo"}}""", """[{"model":"demo"}]""", "null", "\"demo\"", "42", "", "{", """{"model":"demo"}}""", """{"model":"demo",}""",
            """{'model':'demo'}""", "\uFEFF{\"model\":\"demo\"}", """{"model":"demo","parameters":{"steps":1e400}}""", """{"model":"demo","parameters":{"steps":64.5}}""",
            """{"model":"demo","parameters":{"seed":-99999999999}}""", """{"model":"demo","parameters":{"learningRate":"NaN"}}""", """{"model":"demo","parameters":{"transforms":"yes"}}""",
            """{"model":"/etc/passwd"}""", """{"model":"../../x.model.json"}""", """{"model":"demo","version":"../../x"}""", """{"model":"demo","ops":["conv1/../../x"]}""",
            """{"model":"demo","op":"conv1","unit":"3"}""", """{"model":"demo","op":"conv1","unit":null}""", """{"model":"demo","op":null,"unit":1}""",
            """{"model":"demo","op":"conv1","unit":1.5}""", """{"model":"demo","op":"conv1","unit":99999999999}""", """{"model":"demo","op":"conv1","unit":1,"technique":5}""",
        };
        var responses = new List<(string What, int Status, string? Type)>();
        async Task Probe(string what, HttpMethod method, string path, HttpContent? content = null, string? token = null, bool noToken = false, string? key = null)
        {
            var r = await SendAsync(farm.Http, method, path, content, token, key, noToken);
            responses.Add(($"{method} {path} {what}", r.Status, r.Type));
        }
        foreach (var path in new[] { "/api/sweeps", "/api/renders" })
        {
            foreach (var body in bodies) await Probe(body, HttpMethod.Post, path, Json(body));
            await Probe("text/plain", HttpMethod.Post, path, Json(TinySweep, "text/plain"));
            await Probe("form", HttpMethod.Post, path, Json("model=demo", "application/x-www-form-urlencoded"));
            await Probe("no token", HttpMethod.Post, path, Json(TinySweep), noToken: true);
            await Probe("bad token", HttpMethod.Post, path, Json(TinySweep), token: "x");
            await Probe("bad key", HttpMethod.Post, path, Json("{}"), key: new string('k', 300));
            await Probe("huge", HttpMethod.Post, path, Json("{\"model\":\"" + new string('a', 70_000) + "\"}"));
            foreach (var m in new[] { HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch }) await Probe("method", m, path, Json(TinySweep));
        }
        foreach (var action in new[] { "pause", "resume", "cancel", "retry-failed" })
        {
            await Probe("unknown id", HttpMethod.Post, $"/api/sweeps/{Guid.NewGuid()}/{action}");
            await Probe("not an id", HttpMethod.Post, $"/api/sweeps/not-a-guid/{action}");
            await Probe("no token", HttpMethod.Post, $"/api/sweeps/{sweep}/{action}", noToken: true);
            await Probe("researcher", HttpMethod.Post, $"/api/sweeps/{sweep}/{action}", token: InProcessFarm.ResearcherToken);
            await Probe("GET", HttpMethod.Get, $"/api/sweeps/{sweep}/{action}");
            await Probe("PUT", HttpMethod.Put, $"/api/sweeps/{sweep}/{action}");
        }
        await Probe("unknown action", HttpMethod.Post, $"/api/sweeps/{sweep}/explode");
        foreach (var path in new[]
        {
            $"/api/sweeps/{Guid.NewGuid()}", $"/api/sweeps/{Guid.NewGuid()}/packets", $"/api/sweeps/{Guid.NewGuid()}/tuples", "/api/sweeps/xyz",
            $"/api/renders/{Guid.NewGuid()}", "/api/renders/xyz", "/api/models/nosuch", "/api/models/demo/nosuch", "/api/models/demo/conv1/99",
            "/api/models/demo/conv1/-1", "/api/models/" + Uri.EscapeDataString("../../etc/passwd"), "/api/models/demo?version=" + new string('v', 500),
            "/api/models/" + new string('m', 3000), "/objects/../../etc/passwd", "/objects/%2e%2e/secret", "/objects/demo/nosuch.png", "/nope", "/api/nope",
            "/api/models/demo/" + Uri.EscapeDataString("conv1/../../x") + "/1", "/api/sweeps?x=" + new string('q', 9_000),
        })
        {
            await Probe("read", HttpMethod.Get, path);
            await Probe("post", HttpMethod.Post, path, Json("{}"));
        }
        foreach (var m in new[] { HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete }) await Probe("method", m, "/api/models");
        await Probe("method", HttpMethod.Delete, $"/api/sweeps/{sweep}");

        Assert.True(responses.Count >= 150, $"{responses.Count} requests");
        var bad = responses.Where(r => r.Status is < 400 or >= 500 || r.Type != "application/problem+json").ToList();
        Assert.True(bad.Count == 0, "not a 4xx problem: " + string.Join("\n", bad.Select(b => $"{b.Status} {b.Type} {b.What[..Math.Min(160, b.What.Length)]}")));
        Assert.Equal(before, Snapshot());
        Assert.Contains(responses, r => r.Status == 405);
        Assert.Contains(responses, r => r.Status == 414);
        Assert.Contains(responses, r => r.Status == 415);
    }
}
