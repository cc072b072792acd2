using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace Microscope.Farm.Tests;

/// <summary>Bad input gets a 4xx problem-details answer naming the problem and changes nothing.</summary>
public class ApiValidationTests
{
    public static TheoryData<string, string, int, string> BadRequests => new()
    {
        { "/api/sweeps", """{"model":"nosuchmodel"}""", 422, "unknown model" },
        { "/api/sweeps", """{"model":"inceptionv1"}""", 422, "cannot be loaded" },
        { "/api/sweeps", """{"model":"demo","ops":["conv9"]}""", 422, "no op 'conv9'" },
        { "/api/sweeps", """{"model":"demo","techniques":["deepest-dream"]}""", 422, "unknown technique" },
        { "/api/sweeps", """{"model":"demo","parameters":{"steps":0}}""", 422, "steps must be between" },
        { "/api/sweeps", """{"model":"demo","parameters":{"size":4}}""", 422, "size must be between" },
        { "/api/sweeps", """{"model":"demo","parameters":{"precision":"fp16"}}""", 422, "precision must be fp32 or bf16, not 'fp16'" },
        { "/api/renders", """{"model":"demo","op":"conv1","unit":1,"parameters":{"precision":"fp16"}}""", 422, "precision must be fp32 or bf16" },
        { "/api/sweeps", """{"model":"demo","parameters":{"steps":"many"}}""", 400, "steps" },
        { "/api/sweeps", """{"model":"demo","parameters":{"stepz":10}}""", 400, "stepz" },
        { "/api/sweeps", """{"model":"demo", """, 400, "malformed" },
        { "/api/sweeps", """{"model":"demo","version":"000000000000"}""", 422, "no version" },
        { "/api/sweeps", """{"model":"demo","packetSize":0}""", 422, "packetSize" },
        { "/api/sweeps", "{}", 422, "model is required" },
        { "/api/renders", """{"model":"demo","op":"conv1","unit":16}""", 422, "out of range" },
        { "/api/renders", """{"model":"demo","op":"conv1","unit":-1}""", 422, "out of range" },
        { "/api/renders", """{"model":"demo","op":"conv1"}""", 422, "unit is required" },
        { "/api/renders", """{"model":"demo","op":"nope","unit":1}""", 422, "no op 'nope'" },
        { "/api/renders", """{"model":"demo","op":"conv1","unit":1,"technique":"dreams"}""", 422, "unknown technique" },
        { "/api/sweeps", """{"model":"demo","techniques":["channel"],"parameters":{"lensParameters":{"diversity":{"images":"6"}}}}""", 422, "which this request does not render" },
        { "/api/sweeps", """{"model":"demo","techniques":["diversity"],"parameters":{"lensParameters":{"diversity":{"images":"99"}}}}""", 422, "diversity parameter 'images' must be in 2..16, not 99" },
        { "/api/renders", """{"model":"demo","op":"conv1","unit":1,"technique":"diversity","parameters":{"lensParameters":{"diversity":{"imagez":"3"}}}}""", 422, "diversity has no parameter 'imagez'" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadInputIsAProblemAndChangesNothing(string path, string body, int status, string mentions)
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        using var response = await farm.Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(mentions, text, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, farm.Db(db => db.Sweeps.Count()));
        Assert.Equal(0, farm.Db(db => db.Tuples.Count()));
    }

    [Fact]
    public async Task OversizedBodyIs413()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        var body = $$"""{"model":"demo","ops":[{{string.Join(",", Enumerable.Repeat("\"conv1\"", 20_000))}}]}""";
        using var response = await farm.Http.PostAsync("/api/sweeps", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, farm.Db(db => db.Sweeps.Count()));
    }

    [Fact]
    public async Task UnknownIdsAre404AndHealthIsUp()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        foreach (var path in new[] { $"/api/sweeps/{Guid.NewGuid()}", $"/api/renders/{Guid.NewGuid()}", "/api/models/nosuch", "/api/models/demo/conv1/99", "/objects/demo/x/../../etc/passwd" })
        {
            using var r = await farm.Http.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.NotFound, $"{path}: {(int)r.StatusCode}");
        }
        using var pause = await farm.Http.PostAsync($"/api/sweeps/{Guid.NewGuid()}/pause", null);
        Assert.Equal(HttpStatusCode.NotFound, pause.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await farm.Http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await farm.Http.GetAsync("/health/ready")).StatusCode);
        var models = await farm.Http.GetFromJsonAsync<JsonElement>("/api/models/demo");
        Assert.Equal(6, models.GetProperty("ops").GetArrayLength());
    }

    [Fact]
    public async Task Objects_are_served_with_their_media_type()
    {
        // The status page shows tuning curves as <img src=".../x.curve.svg">: an SVG served as
        // octet-stream is a broken image in the browser.
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        var files = new Dictionary<string, string>
        {
            ["demo/v/conv1/op/tuning_curves/h.curve.svg"] = "image/svg+xml",
            ["demo/v/conv1/3/channel/h.png"] = "image/png",
            ["demo/v/conv1/3/channel/h.json"] = "application/json",
        };
        foreach (var key in files.Keys) await farm.Store.PutAsync(key, "x"u8.ToArray(), "text/plain");
        foreach (var (key, type) in files)
        {
            using var response = await farm.Http.GetAsync($"/objects/{key}");
            Assert.Equal((HttpStatusCode.OK, type), (response.StatusCode, response.Content.Headers.ContentType?.MediaType));
        }
    }
}
