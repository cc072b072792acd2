using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microscope.Engine.Imaging;
using Microscope.Engine.Lenses;

namespace Microscope.Farm.Tests;

/// <summary>Objective expressions through the coordinator's render API: rendered by a worker,
/// stored under the expression's first op with the canonical expression in the parameters
/// hash, and refused with problem details when they do not parse or fit the model.</summary>
public class ObjectiveRenderTests
{
    [Fact]
    public async Task AnObjectiveRenderRoundTripsAndEqualExpressionsShareOneHash()
    {
        await using var farm = await InProcessFarm.StartAsync();
        var parameters = new { steps = 4, size = 32 };
        using var response = await farm.Http.PostAsJsonAsync("/api/renders", new { model = "demo", objective = "conv3:9 + 0.5*conv3:17", parameters });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = accepted.GetProperty("id").GetGuid();
        await farm.WaitAsync(id, TimeSpan.FromMinutes(1));

        var tuple = farm.Db(db => db.Tuples.Single(t => t.SweepId == id));
        Assert.Equal(("done", "conv3", -1, "objective"), (tuple.State, tuple.Op, tuple.Unit, tuple.Technique));
        Assert.Equal($"demo/{tuple.Version}/conv3/op/objective/{tuple.ParamsHash}.png", tuple.ImageKey);
        Assert.Equal(32, ImageFile.Decode((await farm.Store.GetAsync(tuple.ImageKey!))!).Width);
        var record = LensRecord.Parse((await farm.Store.GetAsync(tuple.RecordKey!))!)!;
        Assert.Equal("conv3:9 + 0.5*conv3:17", record.Objective);
        Assert.Equal("conv3:9 + 0.5*conv3:17", record.LensParameters["expression"]);

        // The same expression written otherwise is the same render (its hash, its key); another is not.
        using var again = await farm.Http.PostAsJsonAsync("/api/renders", new { model = "demo", objective = "0.5 * conv3:17*1 + (conv3:9)", parameters });
        using var same = await farm.Http.PostAsJsonAsync("/api/renders", new { model = "demo", objective = "conv3:9+0.5*conv3:17", parameters });
        using var negative = await farm.Http.PostAsJsonAsync("/api/renders", new { model = "demo", objective = "-conv3:9", parameters });
        Assert.Equal(accepted.GetProperty("paramsHash").GetString(), (await same.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("paramsHash").GetString());
        var otherHashes = new[] { again, negative }.Select(r => r.Content.ReadFromJsonAsync<JsonElement>().Result.GetProperty("paramsHash").GetString()).ToList();
        Assert.DoesNotContain(accepted.GetProperty("paramsHash").GetString(), otherHashes);   // term order is kept: another expression text
    }

    [Theory]
    [InlineData("""{"model":"demo","objective":"conv3:9 +"}""", "objective", "ends where a term")]
    [InlineData("""{"model":"demo","objective":"conv3:480"}""", "objective", "out of range")]
    [InlineData("""{"model":"demo","objective":"convX:1"}""", "objective", "no op 'convX'")]
    [InlineData("""{"model":"demo","objective":"conv3@[1,2,3]"}""", "objective", "has 3 numbers; the op has 48 channels")]
    [InlineData("""{"model":"demo","objective":"conv3@dir.json"}""", "objective", "give the numbers inline")]
    [InlineData("""{"model":"demo","objective":"conv3:1","technique":"channel"}""", "technique", "renders with the 'objective' technique")]
    [InlineData("""{"model":"demo","op":"conv3","technique":"objective"}""", "objective", "none was given")]
    public async Task ABadObjectiveIsA422NamingTheProblem(string body, string field, string message)
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        using var response = await farm.Http.PostAsync("/api/renders", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(message, problem.GetProperty("errors").GetProperty(field)[0].GetString());
        Assert.Equal(0, farm.Db(db => db.Tuples.Count()));
    }

    [Fact]
    public async Task TheObjectiveLensIsNotSweptAndNotInEverything()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        using var refused = await farm.Http.PostAsJsonAsync("/api/sweeps", new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "objective" } });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains("POST /api/renders", await refused.Content.ReadAsStringAsync());
        Assert.DoesNotContain(LensRegistry.Sweepable, l => l.Name == "objective");
    }
}
