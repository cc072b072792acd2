using System.Text.Json;
using System.Text.RegularExpressions;
using Microscope.Contracts;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Microscope.Viewer.Tests;

/// <summary>The viewer in a real Chromium: browsing, keyboard, search, a 404, the sweeps
/// page and a re-render through the in-process worker. Screenshots of the main pages go to
/// test-results/screenshots/.</summary>
[Collection(ViewerCollection.Name)]
public sealed class ViewerBrowserTests(ViewerFarm farm, ChromiumBrowser chromium)
{
    private Task<IPage> Page() => chromium.NewPageAsync(farm.ViewerUrl);

    [Fact]
    public async Task The_op_grid_is_browsed_with_the_arrow_keys()
    {
        var page = await Page();
        await page.GotoAsync("/models/demo/conv3");
        await Expect(page.Locator("ul.grid li")).ToHaveCountAsync(48);
        // The first arrow focuses the first unit; then right, down and up move by cell and row.
        await page.Keyboard.PressAsync("ArrowDown");
        await Expect(page.Locator("ul.grid li[data-unit='0'] a")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("ArrowRight");
        await Expect(page.Locator("ul.grid li[data-unit='1'] a")).ToBeFocusedAsync();
        var columns = await page.EvaluateAsync<int>("() => { const a = [...document.querySelectorAll('ul.grid > li > a')]; return a.filter(x => x.offsetTop === a[0].offsetTop).length; }");
        Assert.True(columns > 1 && columns < 48, $"{columns} columns");
        await page.Keyboard.PressAsync("ArrowDown");
        await Expect(page.Locator($"ul.grid li[data-unit='{1 + columns}'] a")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("ArrowUp");
        await page.Keyboard.PressAsync("ArrowLeft");
        await Expect(page.Locator("ul.grid li[data-unit='0'] a")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("End");
        await Expect(page.Locator("ul.grid li[data-unit='47'] a")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page).ToHaveURLAsync(new Regex("/models/demo/conv3/47$"));
    }

    [Fact]
    public async Task Browse_from_the_models_to_an_op_to_a_unit()
    {
        var page = await Page();
        await page.GotoAsync("/");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Models");
        await ChromiumBrowser.ScreenshotAsync(page, "01-models");
        await page.Locator("tr[data-model=demo] th a").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/models/demo$"));
        await Expect(page.Locator("svg a.node")).ToHaveCountAsync(6);
        await ChromiumBrowser.ScreenshotAsync(page, "02-model-demo");
        // The graph's node for conv3 is a link.
        await page.Locator("svg a.node[data-op=conv3]").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/models/demo/conv3$"));
        await Expect(page.Locator("ul.grid li")).ToHaveCountAsync(48);
        // Lazily loaded images arrive as they scroll into view: the first rows are decoded.
        var first = page.Locator("ul.grid li[data-unit='0'] img");
        await Expect(first).ToHaveAttributeAsync("alt", "channel visualisation of demo conv3 unit 0");
        await page.WaitForFunctionAsync("() => { const i = document.querySelector('ul.grid li[data-unit=\"0\"] img'); return i && i.complete && i.naturalWidth === 32; }");
        await ChromiumBrowser.ScreenshotAsync(page, "03-op-demo-conv3");
        await page.Locator("ul.grid li[data-unit='9'] a").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/models/demo/conv3/9$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("demo / conv3 / unit 9");
        await Expect(page.Locator("section.technique")).ToHaveCountAsync(5);
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('section.technique[data-technique=channel] > ul.results img')].every(i => i.complete && i.naturalWidth > 0)");
        await ChromiumBrowser.ScreenshotAsync(page, "04-unit-demo-conv3-9");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Keyboard_steps_to_the_next_and_previous_unit()
    {
        var page = await Page();
        await page.GotoAsync("/models/demo/conv3/9");
        await page.Keyboard.PressAsync("]");
        await Expect(page).ToHaveURLAsync(new Regex("/models/demo/conv3/10$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("demo / conv3 / unit 10");
        await page.Keyboard.PressAsync("[");
        await Expect(page).ToHaveURLAsync(new Regex("/models/demo/conv3/9$"));
        await page.Keyboard.PressAsync("[");
        await Expect(page.Locator("h1")).ToHaveTextAsync("demo / conv3 / unit 8");
        // Typing in the search box does not step units.
        await page.Keyboard.PressAsync("/");
        await Expect(page.Locator("#q")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync("]");
        await Expect(page.Locator("#q")).ToHaveValueAsync("]");
        await Expect(page).ToHaveURLAsync(new Regex("/models/demo/conv3/8$"));
        await page.Context.CloseAsync();
    }

    [Theory]
    [InlineData("conv3:9", "/models/demo/conv3/9", "demo / conv3 / unit 9")]
    [InlineData("demo/conv3/9", "/models/demo/conv3/9", "demo / conv3 / unit 9")]
    [InlineData("4c:447", "/models/inceptionv1/mixed4c/447", "inceptionv1 / mixed4c / unit 447")]
    [InlineData("mixed4c:447", "/models/inceptionv1/mixed4c/447", "inceptionv1 / mixed4c / unit 447")]
    [InlineData("inceptionv1/mixed4c/447", "/models/inceptionv1/mixed4c/447", "inceptionv1 / mixed4c / unit 447")]
    public async Task Search_box_shorthands_open_the_unit(string query, string path, string heading)
    {
        var page = await Page();
        await page.GotoAsync("/models/demo");
        await page.Locator("#q").FillAsync(query);
        await page.Locator("#q").PressAsync("Enter");
        await Expect(page).ToHaveURLAsync(new Regex(Regex.Escape(path) + "$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync(heading);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_missing_op_is_a_404_that_names_it_and_suggests_near_matches()
    {
        var page = await Page();
        var response = await page.GotoAsync("/models/demo/conv33/4");
        Assert.Equal(404, response!.Status);
        await Expect(page.Locator("p.missing")).ToHaveTextAsync("Model 'demo' has no op 'conv33'.");
        await Expect(page.Locator("ul.suggestions a").First).ToHaveTextAsync("conv3");
        await ChromiumBrowser.ScreenshotAsync(page, "05-not-found");
        await page.Locator("ul.suggestions a", new() { HasText = "conv3" }).First.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/models/demo/conv3$"));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Sweeps_page_shows_progress_and_failures_and_only_an_operator_controls_a_sweep()
    {
        var page = await Page();
        await page.GotoAsync("/sweeps");
        var conv = page.Locator($"section[data-sweep='{farm.ConvSweep}']");
        await Expect(conv.Locator(".progress")).ToContainTextAsync("80 / 80");
        await Expect(conv.Locator("table.by-op tbody tr")).ToHaveCountAsync(2);
        var failed = page.Locator($"section[data-sweep='{farm.FailedSweep}']");
        await Expect(failed.Locator("table.failures")).ToContainTextAsync("exceeds this worker's limit of 64 px");
        await ChromiumBrowser.ScreenshotAsync(page, "06-sweeps");
        await failed.Locator("button", new() { HasText = "Retry failed" }).ClickAsync();
        await Expect(page.Locator("#sweep-action-status")).ToContainTextAsync("token required");
        // A researcher may not; an operator may (the coordinator re-queues the failed tuples).
        await page.Locator("#token").FillAsync(ViewerFarm.ResearcherToken);
        await page.Locator("#token").DispatchEventAsync("change");
        await failed.Locator("button", new() { HasText = "Retry failed" }).ClickAsync();
        await Expect(page.Locator("#sweep-action-status")).ToContainTextAsync("needs an operator token");
        await page.Locator("#token").FillAsync(ViewerFarm.OperatorToken);
        await page.Locator("#token").DispatchEventAsync("change");
        await failed.Locator("button", new() { HasText = "Retry failed" }).ClickAsync();
        await Expect(page.Locator("#sweep-action-status")).ToHaveTextAsync("Retry failed: done");
        var status = await farm.WaitAsync(farm.FailedSweep, TimeSpan.FromMinutes(2));
        Assert.Equal(16, status.Counts["failed"]);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Rerender_from_the_form_shows_the_new_image_when_the_worker_is_done()
    {
        var page = await Page();
        await page.GotoAsync("/models/demo/conv2/5");
        await Expect(page.Locator("section.technique[data-technique=channel]")).ToHaveCountAsync(1);
        await page.Locator("#technique").SelectOptionAsync("channel");
        await page.Locator("#steps").FillAsync("6");
        await page.Locator("#size").FillAsync("40");
        await page.Locator("#seed").FillAsync("11");
        await page.Locator("#force").CheckAsync();
        // Without a token the form says so and nothing is queued.
        await page.Locator("#rerender button[type=submit]").ClickAsync();
        await Expect(page.Locator("#rerender-status")).ToContainTextAsync("token required");
        await page.Locator("#token").FillAsync(ViewerFarm.ResearcherToken);
        await page.Locator("#token").DispatchEventAsync("change");
        await page.Locator("#rerender button[type=submit]").ClickAsync();
        var image = page.Locator("section.technique[data-technique=channel] > ul.results figure.new-result img");
        await Expect(image).ToBeVisibleAsync(new() { Timeout = 120_000 });
        await Expect(page.Locator("#rerender-status")).ToHaveTextAsync("done");
        await page.WaitForFunctionAsync("() => { const i = document.querySelector('figure.new-result img'); return i && i.complete && i.naturalWidth === 40; }");
        await Expect(image).ToHaveAttributeAsync("alt", "channel visualisation of demo conv2 unit 5");
        await ChromiumBrowser.ScreenshotAsync(page, "07-rerender-done");
        // Reloaded, the page lists the new parameter set beside the sweep's.
        await page.ReloadAsync();
        await Expect(page.Locator("section.technique[data-technique=channel] details.params summary")).ToHaveTextAsync("Every stored parameter set (2)");
        await page.Context.CloseAsync();
    }

    /// <summary>The form's precision and the chosen lens's own parameters (generated from the
    /// registry, defaults filled in) reach the coordinator's stored request; a value out of the
    /// lens's range comes back as the coordinator's problem details, shown in the form.</summary>
    [Fact]
    public async Task The_form_sends_precision_and_lens_parameters_and_shows_a_refused_value()
    {
        var page = await Page();
        await page.GotoAsync("/models/demo/conv2/7");
        var images = page.Locator("#lens-diversity-images");
        await Expect(images).ToBeHiddenAsync();
        await page.Locator("#technique").SelectOptionAsync("diversity");
        await Expect(images).ToBeVisibleAsync();
        await Expect(images).ToHaveValueAsync("4");
        await Expect(page.Locator("#lens-diversity-weight")).ToHaveValueAsync("100");
        await Expect(page.Locator("#lens-top_k")).ToHaveCountAsync(0);
        await Expect(page.Locator("#precision")).ToHaveValueAsync("fp32");
        await Expect(page.Locator("#precision-help")).ToContainTextAsync("faster on CPUs with AVX-512 BF16; other pixels than fp32");
        await page.Locator("#steps").FillAsync("4");
        await page.Locator("#size").FillAsync("32");
        await page.Locator("#token").FillAsync(ViewerFarm.ResearcherToken);
        await page.Locator("#token").DispatchEventAsync("change");
        var status = page.Locator("#rerender-status");
        await images.FillAsync("99");
        await page.Locator("#rerender button[type=submit]").ClickAsync();
        await Expect(status).ToHaveTextAsync("invalid render: diversity parameter 'images' must be in 2..16, not 99");
        await Expect(status).ToHaveClassAsync(new Regex("error"));
        Assert.False(farm.Db(db => db.Tuples.Any(t => t.Model == "demo" && t.Op == "conv2" && t.Unit == 7 && t.Technique == "diversity")));

        await images.FillAsync("2");
        await page.Locator("#precision").SelectOptionAsync("bf16");
        await page.Locator("#rerender button[type=submit]").ClickAsync();
        await Expect(status).ToHaveTextAsync("done", new() { Timeout = 120_000 });
        var tuple = farm.Db(db => db.Tuples.Single(t => t.Model == "demo" && t.Op == "conv2" && t.Unit == 7 && t.Technique == "diversity"));
        var sweep = farm.Db(db => db.Sweeps.Single(s => s.Id == tuple.SweepId));
        var stored = JsonSerializer.Deserialize<RenderSettings>(sweep.ParametersJson, ViewerFarm.Web)!;
        Assert.Equal("bf16", stored.Precision);
        // Only the value that differs from its default is kept (the weight's 100 is not).
        Assert.Equal(new Dictionary<string, string> { ["images"] = "2" }, stored.ParametersOf("diversity"));
        var expected = new RenderSettings
        {
            Steps = 4, Size = 32, Precision = "bf16",
            LensParameters = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["diversity"] = new Dictionary<string, string> { ["images"] = "2" } },
        };
        Assert.Equal(expected.Hash(), tuple.ParamsHash);
        // The worker rendered two images, as asked.
        var result = farm.Db(db => db.Results.Single(r => r.TupleId == tuple.Id));
        Assert.EndsWith("-0.png", result.ImageKey);
        Assert.NotNull(await farm.Store.GetAsync(result.ImageKey[..^"-0.png".Length] + "-1.png"));
        Assert.Null(await farm.Store.GetAsync(result.ImageKey[..^"-0.png".Length] + "-2.png"));
        await page.Context.CloseAsync();
    }
}
