using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microscope.Contracts;
using Microscope.Engine.Imaging;
using Microscope.Engine.Lenses;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Microscope.Viewer.Tests;

/// <summary>The viewer's look (issue 13): op grids of thumbnails through srcset, the op graph's
/// thumbnail strips, the unit page led by its lens's large images with the location + lens bars,
/// and failed tuples linked to their worker's log lines. In Chromium, with screenshots
/// (test-results/screenshots/1x-*.png).</summary>
[Collection(ViewerCollection.Name)]
public sealed class LookTests(ViewerFarm farm, ChromiumBrowser chromium)
{
    private Task<IPage> Page() => chromium.NewPageAsync(farm.ViewerUrl);

    private static string Thumb(string key) => ObjectKeys.Thumbnail(key)!;

    [Fact]
    public async Task The_op_grid_shows_thumbnails_at_1x_and_the_full_image_on_a_dense_screen()
    {
        var page = await Page();
        await page.GotoAsync("/models/demo/conv3");
        var first = page.Locator("ul.grid li[data-unit='0'] img");
        await Expect(first).ToHaveAttributeAsync("width", "96");
        await Expect(first).ToHaveAttributeAsync("loading", "lazy");
        await Expect(first).ToHaveAttributeAsync("decoding", "async");
        await Expect(first).ToHaveAttributeAsync("src", new Regex(@"^/objects/demo/\w+/conv3/0/channel/\w+\.96px\.png\?r=\d+$"));
        await Expect(first).ToHaveAttributeAsync("srcset", new Regex(@"^/objects/demo/\w+/conv3/0/channel/\w+\.png\?r=\d+ 2x$"));
        // The first row is decoded, each from its thumbnail.
        const string firstRow = "[...document.querySelectorAll('ul.grid li img')].slice(0, 8)";
        await page.WaitForFunctionAsync($"() => {firstRow}.every(i => i.complete && i.naturalWidth === 32)");
        Assert.True(await page.EvaluateAsync<bool>($"() => {firstRow}.every(i => i.currentSrc.includes('.96px.png'))"),
            string.Join(", ", await page.EvaluateAsync<string[]>($"() => {firstRow}.map(i => i.currentSrc)")));
        await ChromiumBrowser.ScreenshotAsync(page, "1x-op-grid-thumbnails");
        await page.Context.CloseAsync();

        // On a screen of two device pixels per CSS pixel the 96 px cell takes the full image
        // (as a 2x image: its density-corrected natural width is half its 32 pixels).
        var dense = await chromium.Browser!.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = farm.ViewerUrl, DeviceScaleFactor = 2, ViewportSize = new ViewportSize { Width = 1200, Height = 900 },
        });
        var densePage = await dense.NewPageAsync();
        await densePage.GotoAsync("/models/demo/conv3");
        await densePage.WaitForFunctionAsync($"() => {firstRow}.every(i => i.complete && i.naturalWidth === 16)");
        Assert.True(await densePage.EvaluateAsync<bool>($"() => {firstRow}.every(i => /\\/channel\\/\\w+\\.png/.test(i.currentSrc) && !i.currentSrc.includes('.96px.png'))"));
        await dense.CloseAsync();
    }

    [Fact]
    public async Task A_result_stored_without_a_thumbnail_still_shows_and_gets_one_made_from_its_pixels()
    {
        // The ResNet result was stored before thumbnails (ViewerFarm): none beside it yet.
        var full = farm.Db(db => db.Results.Single(r => r.Model == "resnetv2_50" && r.Unit == 5)).ImageKey;
        Assert.Null(await farm.Store.GetAsync(Thumb(full)));
        var page = await Page();
        await page.GotoAsync("/models/resnetv2_50/block2/unit_3/add");
        await page.WaitForFunctionAsync("() => { const i = document.querySelector('ul.grid li[data-unit=\"5\"] img'); return i && i.complete && i.naturalWidth === 32 && i.currentSrc.includes('.96px.png'); }");
        await page.Context.CloseAsync();
        // Made by the viewer on first request and kept under the worker's key: the same pixels (32 px is within 96).
        var made = await farm.Store.GetAsync(Thumb(full));
        Assert.NotNull(made);
        Assert.Equal(ImageFile.Decode((await farm.Store.GetAsync(full))!).Pixels, ImageFile.Decode(made).Pixels);

        // A large old image: its thumbnail is its 2x2 block means (to 8-bit rounding).
        var random = new Random(5);
        var big = new RgbImage(Enumerable.Range(0, 3 * 192 * 192).Select(_ => random.NextSingle()).ToArray(), 192, 192);
        var key = $"resnetv2_50/{farm.ResNetVersion}/{ViewerFarm.ResNetOp}/6/channel/look192000ab.png";
        await farm.Store.PutAsync(key, ImageFile.EncodePng(big.Pixels, 192, 192), "image/png");
        using var response = await farm.Http.GetAsync(Html(Thumb(key)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var small = ImageFile.Decode(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal((96, 96), (small.Width, small.Height));
        var stored = ImageFile.Decode(ImageFile.EncodePng(big.Pixels, 192, 192));
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < 96; y++)
                for (var x = 0; x < 96; x++)
                {
                    var mean = (stored[c, 2 * y, 2 * x] + stored[c, 2 * y, 2 * x + 1] + stored[c, 2 * y + 1, 2 * x] + stored[c, 2 * y + 1, 2 * x + 1]) / 4;
                    Assert.True(Math.Abs(small[c, y, x] - mean) <= 0.5f / 255 + 1e-6f, $"({c}, {y}, {x}): {small[c, y, x]} vs {mean}");
                }
        // A thumbnail of nothing is a 404, as any missing object.
        using var missing = await farm.Http.GetAsync(Html(Thumb($"resnetv2_50/{farm.ResNetVersion}/{ViewerFarm.ResNetOp}/7/channel/nothing.png")));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    private static string Html(string key) => Microscope.Viewer.Pages.Html.ObjectUrl(key);

    [Fact]
    public async Task The_op_graph_shows_a_strip_of_unit_thumbnails_in_each_rendered_op()
    {
        var page = await Page();
        await page.GotoAsync("/models/demo");
        await Expect(page.Locator("svg a.node")).ToHaveCountAsync(6);
        // conv2 and conv3 have channel renders: four thumbnails each, units 0-3; the others empty slots.
        foreach (var op in new[] { "conv2", "conv3" })
        {
            var strip = page.Locator($"svg a.node[data-op={op}] g.strip image");
            await Expect(strip).ToHaveCountAsync(4);
            for (var u = 0; u < 4; u++)
                await Expect(strip.Nth(u)).ToHaveAttributeAsync("href", new Regex($@"^/objects/demo/\w+/{op}/{u}/channel/\w+\.96px\.png\?r=\d+$"));
        }
        await Expect(page.Locator("svg a.node[data-op=conv1] g.strip image")).ToHaveCountAsync(0);
        await Expect(page.Locator("svg a.node[data-op=conv1] g.strip rect")).ToHaveCountAsync(4);
        // Every strip image is a PNG the viewer serves (SVG images have no naturalWidth: fetched).
        var statuses = await page.EvaluateAsync<string[]>("async () => Promise.all([...document.querySelectorAll('svg g.strip image')].map(async i => { const r = await fetch(i.getAttribute('href')); return r.status + ' ' + r.headers.get('content-type') + ' ' + (await r.arrayBuffer()).byteLength; }))");
        Assert.Equal(8, statuses.Length);
        Assert.All(statuses, s => Assert.Matches(@"^200 image/png [1-9]\d+$", s));
        await ChromiumBrowser.ScreenshotAsync(page, "1x-model-graph-strips");
        // A strip's op box links into the op's grid.
        await page.Locator("svg a.node[data-op=conv3] g.strip image").First.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/models/demo/conv3$"));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_unit_page_leads_with_the_lens_large_and_keeps_lens_and_location_while_browsing()
    {
        var page = await Page();
        await page.GotoAsync("/models/demo/conv3/9");
        var lenses = page.Locator("nav.lenses a");
        await Expect(lenses).ToHaveCountAsync(LensRegistry.Sweepable.Count(l => l.Pictured));
        await Expect(page.Locator("nav.lenses a[aria-current=page]")).ToHaveTextAsync("channel");
        await Expect(page.Locator("nav.location")).ToContainTextAsync("demo › conv3 › unit 9");
        // The lead image comes before any section and is shown large.
        const string leadLoaded = "() => { const i = document.querySelector('section.lead img'); return i && i.complete && i.naturalWidth > 0; }";
        await page.WaitForFunctionAsync(leadLoaded);
        Assert.True(await page.EvaluateAsync<bool>("() => document.querySelector('section.lead').compareDocumentPosition(document.querySelector('section.technique')) & Node.DOCUMENT_POSITION_FOLLOWING"));
        var box = await page.Locator("section.lead img").First.BoundingBoxAsync();
        Assert.True(box!.Width >= 400, $"lead image {box.Width} px wide");
        await ChromiumBrowser.ScreenshotAsync(page, "1x-unit-lens-channel");
        // The page's first screen alone (docs/images/viewer-unit-lead.png is one).
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ChromiumBrowser.ScreenshotFolder, "1x-unit-lead.png"), Clip = new Clip { X = 0, Y = 0, Width = 1000, Height = 680 } });

        // A lens is a link that keeps the location; ← and → keep the lens.
        await page.Locator("nav.lenses a[data-lens=neuron]").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/models/demo/conv3/9\?lens=neuron$"));
        await Expect(page.Locator("section.lead")).ToHaveAttributeAsync("data-lens", "neuron");
        await page.WaitForFunctionAsync(leadLoaded);
        await Expect(page.Locator("section.lead img")).ToHaveAttributeAsync("alt", "neuron visualisation of demo conv3 unit 9");
        await page.Keyboard.PressAsync("ArrowRight");
        await Expect(page).ToHaveURLAsync(new Regex(@"/models/demo/conv3/10\?lens=neuron$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("demo / conv3 / unit 10");
        await page.Keyboard.PressAsync("ArrowLeft");
        await Expect(page.Locator("h1")).ToHaveTextAsync("demo / conv3 / unit 9");
        await page.Keyboard.PressAsync("ArrowLeft");
        await Expect(page).ToHaveURLAsync(new Regex(@"/models/demo/conv3/8\?lens=neuron$"));

        // Several images (diversity) are shown side by side; an op-level lens shows the op's result here.
        await page.GotoAsync("/models/demo/conv3/9?lens=diversity");
        await Expect(page.Locator("section.lead ul.many img")).ToHaveCountAsync(4);
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('section.lead img')].every(i => i.complete && i.naturalWidth > 0)");
        await ChromiumBrowser.ScreenshotAsync(page, "1x-unit-lens-diversity");
        await page.Locator("nav.lenses a[data-lens=deepdream]").ClickAsync();
        await Expect(page.Locator("section.lead")).ToContainTextAsync("deepdream of the whole op conv3");
        await page.WaitForFunctionAsync(leadLoaded);
        await page.Locator("nav.lenses a[data-lens=caricature]").ClickAsync();
        await Expect(page.Locator("section.lead p.no-lens-result")).ToHaveTextAsync("No caricature result for the op conv3 yet: a sweep or the re-render form below makes one.");
        await page.Context.CloseAsync();

        using var bogus = await farm.Http.GetAsync("/models/demo/conv3/9?lens=bogus");
        Assert.Equal(HttpStatusCode.NotFound, bogus.StatusCode);
        Assert.Contains("There is no lens &#39;bogus&#39;.", await bogus.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_tuple_on_the_sweeps_page_links_the_log_lines_its_worker_wrote()
    {
        var page = await Page();
        await page.GotoAsync("/sweeps");
        var failed = page.Locator($"section[data-sweep='{farm.FailedSweep}'] details.failed-tuples li");
        await Expect(failed).ToHaveCountAsync(16);   // conv1's 16 units, all over the worker's size limit
        await ChromiumBrowser.ScreenshotAsync(page, "1x-sweeps-failed-tuples");
        var tuple = await failed.First.GetAttributeAsync("data-tuple");
        await failed.First.Locator("a.tuple-log").ClickAsync();
        var text = await page.Locator("body").InnerTextAsync();
        Assert.Contains($"# worker log of tuple {tuple}: demo/{farm.DemoVersion}/conv1/0 channel", text, StringComparison.Ordinal);
        Assert.Matches(new Regex(@"\d\d:\d\d:\d\d\.\d{3}Z WRN packet cannot be rendered: size 96 exceeds this worker's limit of 64 px \(Worker:MaxImageSize\) \{SweepId=" + farm.FailedSweep + @", PacketId=[0-9a-f-]+, Worker=[^}]+\}"), text);
        await page.Context.CloseAsync();
    }
}
