using Microscope.Contracts;
using Microscope.Engine.Imaging;
using Microscope.Farm.Storage;

namespace Microscope.Viewer.Objects;

/// <summary>Thumbnails of results stored before workers wrote them (ObjectKeys.Thumbnail): made
/// here from the full PNG on first request, with the worker's own function, and written back
/// under the key the worker would have used, so every later request (from this viewer or
/// another, or an export) finds it. Making them lazily keeps old catalogues working with no
/// migration step, and costs one decode per image once; pages never have to know which
/// results are old.</summary>
public static class Thumbnails
{
    /// <summary>The object's bytes; for a missing thumbnail key, the thumbnail made from its full
    /// image (null when neither exists).</summary>
    public static async Task<byte[]?> GetAsync(IObjectStore store, string key, CancellationToken cancel)
    {
        var data = await store.GetAsync(key, cancel);
        if (data is not null || ObjectKeys.FullOf(key) is not { } fullKey) return data;
        if (await store.GetAsync(fullKey, cancel) is not { } full) return null;
        byte[] small;
        try { small = Thumbnail.FitPng(full, ObjectKeys.ThumbnailSize, fullKey); }
        catch (InvalidDataException) { return null; }
        // Caching is best effort: a read-only store still serves the thumbnail.
        try { await store.PutAsync(key, small, "image/png", cancel); }
        catch (Exception e) when (e is not OperationCanceledException) { }
        return small;
    }
}
