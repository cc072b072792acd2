using System.Net;
using System.Text.Json;

namespace Microscope.Farm.Tests;

/// <summary>Every list of the coordinator's API pages with ?limit= and the Link header's next
/// URL: walking the pages gives every row once, in the list's order; bad paging input is a 400
/// naming the parameter.</summary>
public class PagingTests
{
    /// <summary>Follows rel="next" from the first page; returns every page's rows.</summary>
    private static async Task<List<List<JsonElement>>> WalkAsync(HttpClient http, string first)
    {
        var pages = new List<List<JsonElement>>();
        for (string? url = first; url is not null && pages.Count < 100;)
        {
            using var r = await http.GetAsync(url);
            var body = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"{url}: {(int)r.StatusCode} {body}");
            pages.Add(JsonDocument.Parse(body).RootElement.EnumerateArray().Select(e => e.Clone()).ToList());
            url = r.Headers.TryGetValues("Link", out var links)
                ? System.Text.RegularExpressions.Regex.Match(string.Join(",", links), "<([^>]+)>; rel=\"next\"") is { Success: true } m ? m.Groups[1].Value : null
                : null;
        }
        return pages;
    }

    private static List<string> Ids(IEnumerable<JsonElement> rows, Func<JsonElement, string> key) => rows.Select(key).ToList();

    [Fact]
    public async Task Sweeps_packets_tuples_and_results_page_through_every_row_once()
    {
        await using var farm = await InProcessFarm.StartAsync();
        // Results: conv1's 16 units, rendered.
        var rendered = await farm.SweepAsync(new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "channel" }, parameters = new { steps = 2, size = 16 } });
        Assert.Equal("done", (await farm.WaitAsync(rendered, TimeSpan.FromMinutes(3))).State);
        // Paused sweeps: expanded, nothing sent. Four of them, so the sweeps list spans pages.
        var paused = new List<Guid>();
        for (var i = 0; i < 4; i++)
            paused.Add(await farm.SweepAsync(new { model = "demo", ops = new[] { "conv2", "conv3" }, techniques = new[] { "channel", "neuron" }, parameters = new { steps = 2 + i, size = 16 }, packetSize = 8, paused = true }));

        // Sweeps, newest first, two per page.
        var sweepPages = await WalkAsync(farm.Http, "/api/sweeps?limit=2");
        Assert.Equal([2, 2, 1], sweepPages.Select(p => p.Count));
        var all = Ids(sweepPages.SelectMany(p => p), e => e.GetProperty("id").GetString()!);
        Assert.Equal(Ids((await WalkAsync(farm.Http, "/api/sweeps")).Single(), e => e.GetProperty("id").GetString()!), all);
        Assert.Equal(paused.AsEnumerable().Reverse().Select(g => g.ToString()).Append(rendered.ToString()), all);

        // Tuples: (32 + 48) units x 2 techniques = 160, 7 per page; the same rows and order as one big page.
        var tuplePages = await WalkAsync(farm.Http, $"/api/sweeps/{paused[0]}/tuples?limit=7");
        Assert.Equal(23, tuplePages.Count);
        Assert.All(tuplePages.SkipLast(1), p => Assert.Equal(7, p.Count));
        static string TupleKey(JsonElement t) => $"{t.GetProperty("op").GetString()}/{t.GetProperty("technique").GetString()}/{t.GetProperty("unit").GetInt32()}";
        var tuples = Ids(tuplePages.SelectMany(p => p), TupleKey);
        Assert.Equal(160, tuples.Distinct().Count());
        Assert.Equal(Ids((await WalkAsync(farm.Http, $"/api/sweeps/{paused[0]}/tuples?limit=10000")).Single(), TupleKey), tuples);
        // A filter is kept in the next URL.
        var pending = (await WalkAsync(farm.Http, $"/api/sweeps/{paused[0]}/tuples?state=pending&limit=50")).SelectMany(p => p).ToList();
        Assert.Equal(160, pending.Count);
        Assert.All(pending, t => Assert.Equal("pending", t.GetProperty("state").GetString()));

        // Packets: 160 tuples in packets of 8 = 20, 3 per page.
        var packetPages = await WalkAsync(farm.Http, $"/api/sweeps/{paused[0]}/packets?limit=3");
        Assert.Equal(7, packetPages.Count);
        var seqs = packetPages.SelectMany(p => p).Select(p => p.GetProperty("seq").GetInt32()).ToList();
        Assert.Equal(20, seqs.Distinct().Count());
        Assert.Equal(seqs.Order(), seqs);

        // Results of the model's version: conv1's 16, 5 per page, in (op, unit) order.
        var resultPages = await WalkAsync(farm.Http, "/api/results?model=demo&limit=5");
        Assert.Equal([5, 5, 5, 1], resultPages.Select(p => p.Count));
        var units = resultPages.SelectMany(p => p).Select(r => r.GetProperty("unit").GetInt32()).ToList();
        Assert.Equal(Enumerable.Range(0, 16), units);
        var first = resultPages[0][0];
        Assert.Equal("conv1", first.GetProperty("op").GetString());
        using var image = await farm.Http.GetAsync(first.GetProperty("imageUrl").GetString());
        Assert.Equal("image/png", image.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData("/api/sweeps?limit=0", "limit")]
    [InlineData("/api/sweeps?limit=1001", "limit")]
    [InlineData("/api/sweeps?limit=ten", "limit")]
    [InlineData("/api/sweeps?after=not-a-cursor", "after")]
    [InlineData("/api/results?model=demo&after=WyJhIl0", "after")]
    [InlineData("/api/results", "model")]
    public async Task Bad_paging_input_is_a_problem_naming_the_parameter(string url, string field)
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        using var r = await farm.Http.GetAsync(url);
        var body = await r.Content.ReadAsStringAsync();
        Assert.True((int)r.StatusCode is 400 or 422, body);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(field, out _), body);
    }
}
