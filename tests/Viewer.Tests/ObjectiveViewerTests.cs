using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Microscope.Viewer.Tests;

/// <summary>Objective renders in the viewer: the unit page's form takes an expression (token
/// rules as any re-render), the worker renders it, and it gets a stable page with its
/// expression and its terms linked to their units.</summary>
[Collection(ViewerCollection.Name)]
public sealed class ObjectiveViewerTests(ViewerFarm farm, ChromiumBrowser chromium)
{
    [Fact]
    public async Task An_objective_from_the_form_endpoint_gets_a_stable_page_listing_its_terms()
    {
        const string path = "/models/demo/conv2/3/renders";
        const string body = "{\"objective\":\"conv2:3 - 0.5 * conv2:4\",\"steps\":4,\"size\":24}";
        Assert.Equal(HttpStatusCode.Unauthorized, (await Post(path, null, body)).Status);
        var bad = await Post(path, ViewerFarm.ResearcherToken, "{\"objective\":\"conv2:3 * conv2:4\"}");
        Assert.Equal((HttpStatusCode)422, bad.Status);
        Assert.Contains("cannot be multiplied", bad.Body);

        var accepted = await Post(path, ViewerFarm.ResearcherToken, body);
        Assert.Equal(HttpStatusCode.Accepted, accepted.Status);
        var statusUrl = JsonDocument.Parse(accepted.Body).RootElement.GetProperty("statusUrl").GetString()!;
        JsonElement state = default;
        for (var i = 0; i < 600; i++)
        {
            state = JsonDocument.Parse(await farm.Http.GetStringAsync(statusUrl)).RootElement;
            if (state.GetProperty("state").GetString() is "done" or "failed") break;
            await Task.Delay(200);
        }
        Assert.Equal("done", state.GetProperty("state").GetString());
        var hash = state.GetProperty("paramsHash").GetString()!;
        var link = state.GetProperty("link").GetString()!;
        Assert.StartsWith($"/models/demo/objectives/{hash}", link);

        var page = await farm.Http.GetStringAsync($"/models/demo/objectives/{hash}");
        Assert.Contains("<code>conv2:3 - 0.5*conv2:4</code>", page);
        Assert.Contains("href=\"/models/demo/conv2/3\"", page);
        Assert.Contains("href=\"/models/demo/conv2/4\"", page);
        Assert.Contains(state.GetProperty("imageUrl").GetString()!.Split('?')[0], page);
        var list = await farm.Http.GetStringAsync("/models/demo/objectives");
        Assert.Contains($"data-hash=\"{hash}\"", list);
        using var missing = await farm.Http.GetAsync("/models/demo/objectives/000000000000");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("no objective render", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_form_renders_a_negative_objective_and_links_its_page()
    {
        var page = await chromium.NewPageAsync(farm.ViewerUrl);
        await page.GotoAsync("/models/demo/conv3/9");
        await page.Locator("#objective").FillAsync("-conv3:9");
        await page.Locator("#steps").FillAsync("5");
        await page.Locator("#size").FillAsync("32");
        await page.Locator("#token").FillAsync(ViewerFarm.ResearcherToken);
        await page.Locator("#token").DispatchEventAsync("change");
        await page.Locator("#rerender button[type=submit]").ClickAsync();
        var link = page.Locator("#new-results figure.new-result a.objective-link");
        await Expect(link).ToBeVisibleAsync(new() { Timeout = 120_000 });
        await link.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/models/demo/objectives/[0-9a-f]{12}"));
        await Expect(page.Locator("p.expression code")).ToHaveTextAsync("-conv3:9");
        await page.WaitForFunctionAsync("() => { const i = document.querySelector('figure.objective img'); return i && i.complete && i.naturalWidth === 32; }");
        await Expect(page.Locator("table.terms a.term-unit")).ToHaveAttributeAsync("href", "/models/demo/conv3/9");
        await ChromiumBrowser.ScreenshotAsync(page, "20-objective-negative");
        await page.Context.CloseAsync();
    }

    private async Task<(HttpStatusCode Status, string Body)> Post(string path, string? token, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await farm.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
