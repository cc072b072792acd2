using System.Security.Cryptography;
using System.Text.Json;
using Microscope.Engine.Models;
using Microscope.Farm.Storage;

namespace Microscope.Farm.Models;

/// <summary>One file of an added model in the object store: kept under its content hash
/// (<c>_models/{sha256}{suffix}</c>), so adding the same file twice stores it once.</summary>
public sealed record StoredModelFile(string Key, string Sha256, long Bytes, string FileName);

/// <summary>A model added to a running farm (<c>POST /api/models</c>): its name, version
/// (the Engine's, from the files' content), format and files. Stored as a manifest object at
/// <see cref="ManifestKey"/> so a worker that only knows (name, version) from a packet can
/// fetch the files, and in the models table's <c>source_json</c> column.</summary>
public sealed record AddedModel(string Name, string Version, ModelFiles.Format Format, StoredModelFile File, StoredModelFile? Companion)
{
    /// <summary>Model files live apart from results: a model name starts with a letter, so no
    /// result key (<c>{model}/{version}/...</c>) can fall under this prefix.</summary>
    public const string Prefix = "_models";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    public static string ManifestKey(string name, string version) => $"{Prefix}/{name}/{version}.json";

    public static string FileKey(string sha256, string suffix) => $"{Prefix}/{sha256}{suffix}";

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static AddedModel Parse(string json) =>
        JsonSerializer.Deserialize<AddedModel>(json, Json) ?? throw new InvalidDataException("empty model manifest");

    /// <summary>The manifest of (name, version), or null when no such model was added.</summary>
    public static async Task<AddedModel?> FindAsync(IObjectStore store, string name, string version, CancellationToken cancel)
    {
        if (!ModelFiles.IsValidName(name) || version.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '-')) return null;
        var data = await store.GetAsync(ManifestKey(name, version), cancel);
        return data is null ? null : Parse(System.Text.Encoding.UTF8.GetString(data));
    }
}
