namespace Microscope.Farm.Storage;

/// <summary>Where rendered images and their records live: a folder (single machine) or any
/// S3-compatible store (MinIO in production, s3rver in tests). Keys are deterministic
/// (<see cref="Microscope.Contracts.ObjectKeys"/>): writing a key again overwrites it.</summary>
public interface IObjectStore
{
    /// <summary>Creates the bucket or folder when missing.</summary>
    Task EnsureReadyAsync(CancellationToken cancel = default);
    Task PutAsync(string key, byte[] data, string contentType, CancellationToken cancel = default);
    /// <summary>The object's bytes, or null when there is no such key.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken cancel = default);
    Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancel = default);
    string Describe();
}

public static class ObjectKeyRules
{
    /// <summary>Keys are relative, '/'-separated, without empty, '.' or '..' segments.</summary>
    public static void Check(string key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 1024 || key.StartsWith('/') || key.Contains('\\', StringComparison.Ordinal)
            || key.Split('/').Any(s => s.Length == 0 || s == "." || s == ".."))
            throw new ArgumentException($"invalid object key '{key}'");
    }

    /// <summary>The media type every server of objects (coordinator, viewer) answers with.</summary>
    public static string ContentType(string key) =>
        key.EndsWith(".png", StringComparison.Ordinal) ? "image/png"
        : key.EndsWith(".json", StringComparison.Ordinal) ? "application/json"
        : key.EndsWith(".svg", StringComparison.Ordinal) ? "image/svg+xml"
        : key.EndsWith(".txt", StringComparison.Ordinal) ? "text/plain; charset=utf-8"
        : "application/octet-stream";
}
