using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Microscope.Viewer.Fires;

/// <summary>Reads an uploaded image for "where it fires": this route's own body limit (the
/// viewer's other routes take 16 KiB), read whole before it is forwarded, so a too-large
/// upload is the viewer's 413 problem, never a connection reset half-way through forwarding.</summary>
public static class FiresUpload
{
    /// <summary>The coordinator's limit (Coordinator's FiresApi.MaxBytes), 8 MiB.</summary>
    public const int MaxBytes = 8 << 20;
    private const long DrainBytes = 64L << 20;

    public static async Task<(byte[]? Image, IResult? Refused)> ReadAsync(HttpRequest request, CancellationToken cancel)
    {
        // Past the limit the rest is read and dropped (up to DrainBytes), so the client, still
        // sending, receives the 413 instead of a reset connection.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = DrainBytes;
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        var total = 0L;
        try
        {
            int n;
            while ((n = await request.Body.ReadAsync(chunk, cancel)) > 0)
            {
                total += n;
                if (total <= MaxBytes) buffer.Write(chunk, 0, n);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge) { return (null, TooLarge()); }
        return total > MaxBytes ? (null, TooLarge()) : (buffer.ToArray(), null);
    }

    private static IResult TooLarge() =>
        Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "image too large", detail: $"image: at most {MaxBytes} bytes ({MaxBytes >> 20} MiB)");
}
