using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microscope.Engine.Render;

namespace Microscope.Engine.Lenses;

/// <summary>One optimised image of a result: its file suffix and objective values; for a
/// generator, the optimised latent (<c>VisionModel.Generate</c> of it is the image).</summary>
public sealed record LensImageRecord(string File, double ObjectiveStart, double ObjectiveEnd, IReadOnlyList<float> Trajectory,
    IReadOnlyList<float>? Latent = null);

/// <summary>The one record format every lens writes beside its files ("{...}/{paramsHash}.json"),
/// whoever renders it (CLI, worker): snake_case JSON, <see cref="Format"/> 2. Optimised lenses
/// fill the objective fields (means over the result's images, and each image in
/// <see cref="Images"/>); analysis lenses leave them null. Lens-specific results go in
/// <see cref="Details"/>. <see cref="Parse"/> also reads the two earlier formats (the
/// worker's camelCase channel/neuron record and the runner's snake_case one).</summary>
public sealed record LensRecord
{
    public const int CurrentFormat = 2;

    public int Format { get; init; } = CurrentFormat;
    public string Model { get; init; } = "";
    public string? Version { get; init; }
    public bool RandomWeights { get; init; }
    public string Op { get; init; } = "";
    /// <summary>Null for op-level lenses.</summary>
    public int? Unit { get; init; }
    public required string Technique { get; init; }
    /// <summary>The lens's parameters that differ from their defaults.</summary>
    public IReadOnlyDictionary<string, string> LensParameters { get; init; } = new Dictionary<string, string>();
    public RenderParameters? Parameters { get; init; }
    /// <summary>How seeds become starting images (see <see cref="ImageSeeds"/>); 0 in old records.</summary>
    public int RenderScheme { get; init; }
    public string? ParamsHash { get; init; }
    public string? Device { get; init; }
    public string? Objective { get; init; }
    public double? ObjectiveStart { get; init; }
    public double? ObjectiveEnd { get; init; }
    public double? MsPerStep { get; init; }
    public double? TotalMs { get; init; }
    /// <summary>The objective per step, the mean over the result's images.</summary>
    public IReadOnlyList<float> Trajectory { get; init; } = [];
    public IReadOnlyList<LensImageRecord> Images { get; init; } = [];
    /// <summary>Every file of the result besides this record, by suffix.</summary>
    public IReadOnlyList<string> Files { get; init; } = [];
    public JsonObject? Details { get; init; }
    // Farm context, when a worker rendered it.
    public Guid? PacketId { get; init; }
    public Guid? TupleId { get; init; }
    public int? Batch { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>A record of any format (2, or the earlier camelCase and snake_case ones), as
    /// format 2; null when the bytes are not a JSON object naming its technique.</summary>
    public static LensRecord? Parse(byte[] bytes)
    {
        JsonObject? root;
        try { root = JsonNode.Parse(bytes) as JsonObject; }
        catch (JsonException) { return null; }
        if (root is null) return null;
        if (root["format"] is null) root = FromFormat1(root);
        try
        {
            var record = root.Deserialize<LensRecord>(Json);
            return record is { Technique.Length: > 0 } ? record : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException)
        {
            return null;
        }
    }

    private static readonly HashSet<string> Common =
    [
        "model", "version", "random_weights", "op", "unit", "technique", "parameters", "params_hash", "device", "objective",
        "objective_start", "objective_end", "ms_per_step", "total_ms", "trajectory", "packet_id", "tuple_id", "batch", "schema_version", "file",
    ];

    /// <summary>The earlier records: the worker's camelCase one (scalars for its one image) and
    /// the runner's snake_case one (one entry per image; lens results at the top level).</summary>
    private static JsonObject FromFormat1(JsonObject old)
    {
        var o = new JsonObject();
        foreach (var (key, value) in old) o[Snake(key)] = value?.DeepClone();
        if (o["parameters"] is JsonObject p)
        {
            var snake = new JsonObject();
            foreach (var (key, value) in p) snake[Snake(key)] = value?.DeepClone();
            o["parameters"] = snake;
        }
        var result = new JsonObject { ["format"] = 1 };
        var details = new JsonObject();
        foreach (var (key, value) in o)
            if (!Common.Contains(key)) details[key] = value?.DeepClone();
        foreach (var key in new[] { "model", "version", "random_weights", "op", "unit", "technique", "parameters", "params_hash", "device", "objective", "ms_per_step", "total_ms", "packet_id", "tuple_id", "batch" })
            if (o[key] is { } v) result[key] = v.DeepClone();
        if (o["objective_start"] is JsonArray starts)
        {
            var ends = o["objective_end"] as JsonArray ?? [];
            var trajectories = o["trajectory"] as JsonArray ?? [];
            var images = new JsonArray();
            for (var i = 0; i < starts.Count; i++)
                images.Add(new JsonObject
                {
                    ["file"] = starts.Count == 1 ? ".png" : $"-{i}.png",
                    ["objective_start"] = starts[i]?.DeepClone(),
                    ["objective_end"] = i < ends.Count ? ends[i]?.DeepClone() : null,
                    ["trajectory"] = i < trajectories.Count ? trajectories[i]?.DeepClone() : new JsonArray(),
                });
            result["images"] = images;
            if (starts.Count > 0)
            {
                result["objective_start"] = starts.Average(v => v!.GetValue<double>());
                result["objective_end"] = ends.Count > 0 ? ends.Average(v => v!.GetValue<double>()) : null;
            }
            if (trajectories.Count > 0 && trajectories[0] is JsonArray first) result["trajectory"] = first.DeepClone();
        }
        else if (o["objective_start"] is JsonValue start)
        {
            result["objective_start"] = start.DeepClone();
            result["objective_end"] = o["objective_end"]?.DeepClone();
            result["trajectory"] = o["trajectory"]?.DeepClone();
            result["images"] = new JsonArray(new JsonObject
            {
                ["file"] = ".png", ["objective_start"] = start.DeepClone(), ["objective_end"] = o["objective_end"]?.DeepClone(),
                ["trajectory"] = o["trajectory"]?.DeepClone() ?? new JsonArray(),
            });
        }
        if (details.Count > 0) result["details"] = details;
        return result;
    }

    private static string Snake(string name)
    {
        var s = new StringBuilder();
        foreach (var c in name)
        {
            if (char.IsUpper(c)) { if (s.Length > 0) s.Append('_'); s.Append(char.ToLowerInvariant(c)); }
            else s.Append(c);
        }
        return s.ToString();
    }
}
