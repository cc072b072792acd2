using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microscope.Engine.Circuits;
using Microscope.Engine.Models;
using Microscope.Engine.Torch;
using Microscope.Viewer.Circuits;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Microscope.Viewer.Tests;

/// <summary>Connections between units (the JSON, the unit page's section, the circuit picture)
/// on the demo model the farm rendered, checked against the Engine's own weights.</summary>
[Collection(ViewerCollection.Name)]
public sealed class CircuitsTests(ViewerFarm farm, ChromiumBrowser chromium)
{
    /// <summary>conv3's weights from conv2 as the Engine computes them for the shipped demo model.</summary>
    private static WeightTable Expected()
    {
        using var model = ModelZoo.Load("demo", new WeightsSource.Shipped(), Device.CPU);
        return ExpandedWeights.Compute(model, "conv3", "conv2");
    }

    private static int[] Ranked(double[] weights) =>
        Enumerable.Range(0, weights.Length).OrderByDescending(i => weights[i]).ThenBy(i => i).ToArray();

    [Fact]
    public async Task Connections_json_lists_the_strongest_inputs_and_outputs_with_weights_links_and_thumbnails()
    {
        var response = await farm.Http.GetAsync("/api/models/demo/conv3/9/connections?top=3");
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var c = JsonSerializer.Deserialize<UnitConnections>(body, ViewerFarm.Web)!;
        var weights = Expected().WeightsOn(9);
        var ranked = Ranked(weights);

        var inputs = Assert.Single(c.Inputs);
        Assert.Equal("conv2", inputs.Op);
        Assert.Equal(ranked.Take(3), inputs.Positive.Select(u => u.Unit));
        Assert.Equal(ranked.Reverse().Take(3), inputs.Negative.Select(u => u.Unit));
        var best = inputs.Positive[0];
        Assert.Equal(weights[best.Unit], best.Weight, 1e-5);
        Assert.Equal($"/models/demo/conv2/{best.Unit}", best.Link);
        // conv2 went through a max pool: linearised as a 2x2 average, the window is 6x6 (3x3 kernel of pooled cells).
        Assert.Equal((6, 6), (inputs.KernelHeight, inputs.KernelWidth));
        Assert.Equal(6, best.Kernel.Length);
        Assert.Contains($"/objects/demo/{farm.DemoVersion}/conv2/{best.Unit}/channel/", best.Thumbnail);
        // Outputs: conv4 reads conv3 (no renders of conv4: no thumbnails).
        var outputs = Assert.Single(c.Outputs);
        Assert.Equal("conv4", outputs.Op);
        Assert.Equal(3, outputs.Positive.Count);
        Assert.All(outputs.Positive, u => Assert.Null(u.Thumbnail));
        Assert.Equal("/models/demo/conv3/9/circuit", c.Circuit);

        // Computed once, then stored for every later read.
        Assert.NotNull(await farm.Store.GetAsync(CircuitWeights.Key("demo", farm.DemoVersion, "conv3", "conv2")));
    }

    [Fact]
    public async Task Connections_into_a_linear_layer_span_the_whole_map()
    {
        // logits = linear(global average pool(relu(conv5))): each conv5 unit reaches a logit
        // through all 8x8 positions, each with 1/64 of the linear weight.
        var c = (await farm.Http.GetFromJsonAsync<UnitConnections>("/api/models/demo/conv5/0/connections?top=50", ViewerFarm.Web))!;
        var logits = Assert.Single(c.Outputs);
        Assert.Equal(("logits", 8, 8), (logits.Op, logits.KernelHeight, logits.KernelWidth));
        using var model = ModelZoo.Load("demo", new WeightsSource.Shipped(), Device.CPU);
        var w = model.Parameters["logits.weight"].data<float>();
        foreach (var u in logits.Positive.Concat(logits.Negative))
        {
            Assert.Equal(w[u.Unit * 64 + 0], u.Weight, 1e-5);
            Assert.All(u.Kernel.SelectMany(r => r), v => Assert.Equal(w[u.Unit * 64 + 0] / 64, v, 1e-6));
        }
        Assert.Equal(w.Where((_, i) => i % 64 == 0).Count(v => v != 0), logits.Positive.Count + logits.Negative.Count);
    }

    [Theory]
    [InlineData("/api/models/demo/conv3/48/connections", 404, "has no unit '48'")]
    [InlineData("/api/models/demo/conv9/1/connections", 404, "has no op 'conv9'")]
    [InlineData("/api/models/nomodel/conv3/1/connections", 404, "no model 'nomodel'")]
    [InlineData("/api/models/demo/conv3/1/connections?top=0", 400, "top: 0")]
    public async Task Bad_connection_requests_are_problems_that_name_the_part(string path, int status, string detail)
    {
        var response = await farm.Http.GetAsync(path);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(detail, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_model_whose_weights_the_viewer_lacks_says_so()
    {
        // The test catalogue's inceptionv1 has random weights the viewer does not have.
        var response = await farm.Http.GetAsync("/api/models/inceptionv1/mixed4c/447/connections");
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("inceptionv1", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Tables_a_sweep_has_queued_are_announced_as_being_computed_by_the_farm_instead_of_computed_here()
    {
        // A paused sweep queues mixed4c's circuits tuple (nothing renders it); its tables are not stored.
        var id = await farm.SweepAsync(new { model = "inceptionv1", ops = new[] { "mixed4c" }, techniques = new[] { "circuits" }, paused = true });
        try
        {
            var response = await farm.Http.GetAsync("/api/models/inceptionv1/mixed4c/447/connections");
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("10", response.Headers.GetValues("Retry-After").Single());
            Assert.Contains($"being computed by the farm (sweep {id}: 0 of 1 ops' tables done)", body);
            var page = await farm.Http.GetStringAsync("/models/inceptionv1/mixed4c/447");
            Assert.Contains("Connections being computed by the farm", page);
            using var circuit = await farm.Http.GetAsync("/models/inceptionv1/mixed4c/447/circuit");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, circuit.StatusCode);
        }
        finally
        {
            using var cancelled = await farm.Farm.PostAsync($"/api/sweeps/{id}/cancel", null);
            Assert.True(cancelled.IsSuccessStatusCode);
        }
        // Nothing queued any more: back to computing here (which this viewer cannot: 409).
        Assert.Equal(HttpStatusCode.Conflict, (await farm.Http.GetAsync("/api/models/inceptionv1/mixed4c/447/connections")).StatusCode);
    }

    [Fact]
    public async Task Unit_page_shows_top_inputs_with_thumbnails_that_link_to_the_right_units()
    {
        var ranked = Ranked(Expected().WeightsOn(9));
        var page = await chromium.NewPageAsync(farm.ViewerUrl);
        await page.GotoAsync("/models/demo/conv3/9");
        var positive = page.Locator("section.connections div[data-direction=inputs][data-op=conv2] ul[data-sign=positive] li");
        await Expect(positive).ToHaveCountAsync(UnitConnectionsBuilder.DefaultTop);
        for (var i = 0; i < UnitConnectionsBuilder.DefaultTop; i++)
        {
            var item = positive.Nth(i);
            await Expect(item).ToHaveAttributeAsync("data-unit", ranked[i].ToString());
            await Expect(item.Locator("a")).ToHaveAttributeAsync("href", $"/models/demo/conv2/{ranked[i]}");
            await Expect(item.Locator("img")).ToHaveAttributeAsync("src", new Regex($"/conv2/{ranked[i]}/channel/"));
            await Expect(item.Locator("svg.kernel rect")).ToHaveCountAsync(36);
        }
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('section.connections img')].every(i => i.complete && i.naturalWidth > 0)");
        await ChromiumBrowser.ScreenshotAsync(page, "10-unit-connections");
        // The strongest input's thumbnail opens its unit.
        await positive.Nth(0).Locator("a").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/models/demo/conv2/{ranked[0]}$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync($"demo / conv2 / unit {ranked[0]}");

        // The circuit: the unit, four inputs, three inputs of each.
        await page.GotoAsync("/models/demo/conv3/9/circuit");
        await Expect(page.Locator("svg.circuit a.circuit-node[data-op=conv3][data-unit='9']")).ToHaveCountAsync(1);
        await Expect(page.Locator("svg.circuit a.circuit-node[data-op=conv2]")).ToHaveCountAsync(4);
        Assert.InRange(await page.Locator("svg.circuit a.circuit-node[data-op=conv1]").CountAsync(), 3, 12);
        await Expect(page.Locator("svg.circuit line.edge")).ToHaveCountAsync(16);
        await ChromiumBrowser.ScreenshotAsync(page, "11-circuit");
        await page.Context.CloseAsync();
    }
}
