using Microscope.Coordinator.Api;
using Microscope.Coordinator.Models;
using Microscope.Coordinator.Sweeps;
using Microscope.Engine.Imaging;
using Microscope.Engine.Models;
using Microscope.Engine.Techniques;
using Microscope.Farm.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microscope.Coordinator.Fires;

/// <summary>POST /api/models/{model}/{op}/{unit}/fires: the unit's spatial activation map on an
/// uploaded PNG or JPEG (the body), its channel activation and peak, and the map as a heat
/// overlay PNG. Researcher token (as renders). Refused as problem details: 413 over
/// <see cref="MaxBytes"/>, 415 not a PNG/JPEG, 422 too many pixels or an unknown unit.</summary>
public static class FiresApi
{
    public const int MaxBytes = 8 << 20;
    public const long MaxPixels = 40_000_000;
    private const long DrainBytes = 64L << 20;
    /// <summary>Overlays are drawn at most this wide or high (the page shows them smaller).</summary>
    public const int OverlaySide = 512;

    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapPost("/models/{model}/{op}/{unit:int}/fires", (string model, string op, int unit, string? version, HttpContext http,
            ModelRegistry registry, FiringModels models, CancellationToken cancel) => FarmApi.Guard(async () =>
        {
            ModelDescriptor d;
            try { d = await registry.GetAsync(model, version, cancel); }
            catch (UnknownNameException e) { throw ApiProblem.NotFound(e.Message); }
            OpInfo info;
            try { info = ModelRegistry.ResolveOp(d, op); }
            catch (UnknownNameException e) { throw ApiProblem.NotFound(e.Message); }
            if (unit < 0 || unit >= info.Channels) throw ApiProblem.NotFound($"op '{info.Name}' has units 0..{info.Channels - 1}; {unit} is out of range");
            var bytes = await ReadImageAsync(http.Request, cancel);
            var image = Decode(bytes);
            var (map, overlay) = models.With(d.Name, m =>
            {
                // The coordinator's loaded weights must be the version asked about.
                if (m.Version != ModelRegistry.VersionOf(d))
                    throw new ApiProblem(409, "other version", new Dictionary<string, string[]> { ["version"] = [$"this coordinator computes maps with {d.Name} version {m.Version}, not {ModelRegistry.VersionOf(d)}"] });
                if (m.Latent is not null) throw ApiProblem.Invalid("image", $"model '{d.Name}' is a generator whose input is a latent vector: it is not shown images");
                var firing = UnitFiring.Map(m, info.Name, image, unit);
                var shown = image.Width <= OverlaySide && image.Height <= OverlaySide ? image : Shrink(image);
                return (firing, UnitFiring.Overlay(shown, firing, Math.Max(firing.Max, 0)));
            });
            var (px, py) = map.PeakIn(image.Width, image.Height);
            return Results.Ok(new
            {
                Model = d.Name, Version = ModelRegistry.VersionOf(d), Op = info.Name, Unit = unit,
                image.Width, image.Height,
                Activation = map.Mean, map.Max, Peak = new { X = px, Y = py },
                Map = new { map.Height, map.Width, map.Values },
                Overlay = "data:image/png;base64," + Convert.ToBase64String(ImageFile.EncodePng(overlay.Pixels, overlay.Width, overlay.Height)),
            });
        })).RequireRole(Role.Researcher);
    }

    private static async Task<byte[]> ReadImageAsync(HttpRequest request, CancellationToken cancel)
    {
        // This route's own limit, above the API's JSON limit (Coordinator:MaxBodyBytes).
        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = DrainBytes;
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        var total = 0L;
        int n;
        // Past the limit the rest is read and dropped (up to DrainBytes), so the client, still
        // sending, receives the 413 instead of a reset connection.
        try
        {
            while ((n = await request.Body.ReadAsync(chunk, cancel)) > 0)
            {
                total += n;
                if (total <= MaxBytes) buffer.Write(chunk, 0, n);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge) { throw TooLarge(DrainBytes + 1); }
        if (total > MaxBytes) throw TooLarge(total);
        if (buffer.Length == 0) throw new ApiProblem(422, "invalid request", new Dictionary<string, string[]> { ["image"] = ["the body is empty: send a PNG or JPEG image"] });
        return buffer.ToArray();
    }

    private static ApiProblem TooLarge(long bytes) =>
        new(413, "image too large", new Dictionary<string, string[]> { ["image"] = [$"the image has {(bytes > DrainBytes ? "more than " + DrainBytes : bytes.ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes; at most {MaxBytes} ({MaxBytes >> 20} MiB)"] });

    /// <summary>PNG or JPEG by their signatures, decoded; anything else is 415.</summary>
    private static RgbImage Decode(byte[] bytes)
    {
        var png = bytes.Length > 8 && bytes[0] == 0x89 && bytes[1] == (byte)'P' && bytes[2] == (byte)'N' && bytes[3] == (byte)'G';
        var jpeg = bytes.Length > 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
        if (!png && !jpeg) throw new ApiProblem(415, "not an image", new Dictionary<string, string[]> { ["image"] = ["the body is not a PNG or JPEG image"] });
        try
        {
            using var stream = new MemoryStream(bytes);
            var info = StbImageSharp.ImageInfo.FromStream(stream);
            if (info is { } i && (long)i.Width * i.Height > MaxPixels)
                throw new ApiProblem(422, "image too large", new Dictionary<string, string[]> { ["image"] = [$"the image is {i.Width} x {i.Height} pixels; at most {MaxPixels} pixels"] });
            return ImageFile.Decode(bytes, "the image");
        }
        catch (InvalidDataException e) { throw new ApiProblem(415, "not an image", new Dictionary<string, string[]> { ["image"] = [e.Message] }); }
    }

    private static RgbImage Shrink(RgbImage image)
    {
        var scale = (double)OverlaySide / Math.Max(image.Width, image.Height);
        var (w, h) = (Math.Max(1, (int)(image.Width * scale)), Math.Max(1, (int)(image.Height * scale)));
        var plane = w * h;
        var result = new float[3 * plane];
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                    result[(c * h + y) * w + x] = image[c, Math.Min(image.Height - 1, (int)(y / scale)), Math.Min(image.Width - 1, (int)(x / scale))];
        return new RgbImage(result, w, h);
    }
}
