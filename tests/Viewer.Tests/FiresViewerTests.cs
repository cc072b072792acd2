using System.Net;
using System.Net.Http.Headers;
using Microscope.Engine.Demo;
using Microscope.Engine.Imaging;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Microscope.Viewer.Tests;

/// <summary>"Where it fires" on the unit page: an uploaded image comes back with the unit's
/// activation map as an overlay (real Chromium); a non-image is a problem the page shows.</summary>
[Collection(ViewerCollection.Name)]
public sealed class FiresViewerTests(ViewerFarm farm, ChromiumBrowser chromium)
{
    private static byte[] GratingPng()
    {
        var pixels = Enumerable.Repeat(0.5f, 3 * 64 * 64).ToArray();
        var grating = ProceduralImages.Grating(16, 45, cyclesPerImage: 3);
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < 16; y++)
                for (var x = 0; x < 16; x++)
                    pixels[(c * 64 + 40 + y) * 64 + 8 + x] = grating[(c * 16 + y) * 16 + x];
        return ImageFile.EncodePng(pixels, 64, 64);
    }

    [Fact]
    public async Task An_uploaded_image_shows_the_units_map_as_an_overlay()
    {
        var page = await chromium.NewPageAsync(farm.ViewerUrl);
        await page.GotoAsync("/models/demo/conv3/9");
        await page.Locator("#token").FillAsync(ViewerFarm.ResearcherToken);
        await page.Locator("#token").DispatchEventAsync("change");
        await page.Locator("#fires-image").SetInputFilesAsync(new FilePayload { Name = "not-an-image.png", MimeType = "image/png", Buffer = "plain text"u8.ToArray() });
        await page.Locator("#fires button[type=submit]").ClickAsync();
        await Expect(page.Locator("#fires-status")).ToContainTextAsync("not a PNG or JPEG");
        await page.Locator("#fires-image").SetInputFilesAsync(new FilePayload { Name = "grating.png", MimeType = "image/png", Buffer = GratingPng() });
        await page.Locator("#fires button[type=submit]").ClickAsync();
        await Expect(page.Locator("#fires-status")).ToHaveTextAsync("done", new() { Timeout = 60_000 });
        await page.WaitForFunctionAsync("() => { const i = document.querySelector('#fires-overlay'); return i && i.complete && i.naturalWidth === 64; }");
        await Expect(page.Locator("#fires-caption")).ToContainTextAsync("of 64 x 64 px; map 16 x 16");
        await Expect(page.Locator("#fires-overlay")).ToHaveAttributeAsync("alt", "activation map of demo conv3 unit 9 over grating.png");
        await ChromiumBrowser.ScreenshotAsync(page, "21-fires-upload");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_upload_needs_a_token()
    {
        var content = new ByteArrayContent(GratingPng());
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var anonymous = await farm.Http.PostAsync("/models/demo/conv3/9/fires", content);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/models/demo/conv3/99/fires") { Content = new ByteArrayContent(GratingPng()) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ViewerFarm.ResearcherToken);
        using var missing = await farm.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var noise = new Random(1);
        // A photo-sized upload passes the viewer's 16 KiB limit for other routes; over 8 MiB is 413.
        var photo = ImageFile.EncodePng(Enumerable.Range(0, 3 * 400 * 300).Select(_ => noise.NextSingle()).ToArray(), 400, 300);
        Assert.True(photo.Length > 100_000);
        Assert.Equal(HttpStatusCode.OK, (await Upload("/models/demo/conv3/9/fires", photo)).StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await Upload("/models/demo/conv3/9/fires", new byte[(8 << 20) + 10])).StatusCode);
    }

    private async Task<HttpResponseMessage> Upload(string path, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ViewerFarm.ResearcherToken);
        return await farm.Http.SendAsync(request);
    }
}
