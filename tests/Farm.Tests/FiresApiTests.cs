using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microscope.Engine.Demo;
using Microscope.Engine.Imaging;
using Microscope.Engine.Models;
using Microscope.Engine.Techniques;
using Microscope.Engine.Torch;

namespace Microscope.Farm.Tests;

/// <summary>POST /api/models/{m}/{op}/{unit}/fires: the unit's map on an uploaded image, equal
/// to the Engine's, peaking on a planted pattern; bad uploads are problem details.</summary>
public class FiresApiTests
{
    private static byte[] PlantedPng(int x0, int y0)
    {
        const int size = 64, patch = 16;
        var pixels = Enumerable.Repeat(0.5f, 3 * size * size).ToArray();
        var grating = ProceduralImages.Grating(patch, 45, cyclesPerImage: 3);
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < patch; y++)
                for (var x = 0; x < patch; x++)
                    pixels[(c * size + y0 + y) * size + x0 + x] = grating[(c * patch + y) * patch + x];
        return ImageFile.EncodePng(pixels, size, size);
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient http, string path, byte[] body, string type = "image/png")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        using var response = await http.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task An_uploaded_image_gets_the_units_map_peaking_on_the_planted_pattern()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        var png = PlantedPng(40, 6);
        using var model = ModelZoo.Load("demo", new WeightsSource.Shipped(), Device.CPU);
        // The conv3 unit the pattern excites most (as UnitFiringTests chooses it).
        var grey = new RgbImage(Enumerable.Repeat(0.5f, 3 * 64 * 64).ToArray(), 64, 64);
        var maps = UnitFiring.Maps(model, "conv3", [ImageFile.Decode(png), grey], Enumerable.Range(0, 48).ToList());
        var unit = Enumerable.Range(0, 48).MaxBy(u => maps[0][u].Mean - maps[1][u].Mean);

        var (status, body) = await PostAsync(farm.Http, $"/api/models/demo/conv3/{unit}/fires", png);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(maps[0][unit].Mean, body.GetProperty("activation").GetDouble(), 4);
        Assert.Equal(maps[0][unit].Max, body.GetProperty("max").GetDouble(), 4);
        var (px, py) = (body.GetProperty("peak").GetProperty("x").GetInt32(), body.GetProperty("peak").GetProperty("y").GetInt32());
        Assert.True(px is >= 35 and < 61 && py is >= 1 and < 27, $"the peak ({px}, {py}) is not on the pattern at (40, 6)-(56, 22)");
        Assert.Equal(16 * 16, body.GetProperty("map").GetProperty("values").GetArrayLength());
        var overlay = ImageFile.Decode(Convert.FromBase64String(body.GetProperty("overlay").GetString()!["data:image/png;base64,".Length..]));
        Assert.Equal((64, 64), (overlay.Width, overlay.Height));
    }

    [Fact]
    public async Task Bad_uploads_are_refused_with_problem_details()
    {
        await using var farm = await InProcessFarm.StartAsync(worker: false);
        var png = PlantedPng(0, 0);
        using var anonymous = new HttpClient { BaseAddress = farm.Http.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(anonymous, "/api/models/demo/conv3/1/fires", png)).Status);
        var (notImage, problem) = await PostAsync(farm.Http, "/api/models/demo/conv3/1/fires", "hello, not an image"u8.ToArray(), "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notImage);
        Assert.Contains("not a PNG or JPEG", problem.GetProperty("detail").GetString());
        var truncated = await PostAsync(farm.Http, "/api/models/demo/conv3/1/fires", png[..40]);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, truncated.Status);
        var (tooLarge, big) = await PostAsync(farm.Http, "/api/models/demo/conv3/1/fires", [.. png, .. new byte[9 << 20]]);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge);
        Assert.Contains("at most 8388608", big.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(farm.Http, "/api/models/demo/conv3/48/fires", png)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(farm.Http, "/api/models/demo/nope/1/fires", png)).Status);
    }
}
