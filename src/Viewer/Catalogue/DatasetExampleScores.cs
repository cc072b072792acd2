using System.Text.Json;

namespace Microscope.Viewer.Catalogue;

/// <summary>One top dataset example of a unit: rank order as in the sprite.</summary>
public sealed record ExampleScore(string ImageId, double Score, int[]? Crop);

/// <summary>A unit's top examples by channel and by neuron, and the data set they were
/// searched in (its source, e.g. "folder /weights/datasets/places365 (2048 images)", and how
/// many images were seen).</summary>
public sealed record DatasetExamples(IReadOnlyList<ExampleScore> Channel, IReadOnlyList<ExampleScore> Neuron, string? Source, long? ImagesSeen)
{
    public static readonly DatasetExamples None = new([], [], null, null);
}

/// <summary>The scores and crops of a dataset-examples result, read from its JSON record
/// (the TechniqueRunner's snake_case: <c>channel</c> and <c>neuron</c> lists of
/// <c>{image_id, score, crop}</c>, <c>source</c>, <c>images_seen</c>). A record that is
/// missing or not in that shape gives none.</summary>
public static class DatasetExampleScores
{
    private static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static DatasetExamples Parse(byte[]? record)
    {
        if (record is null) return DatasetExamples.None;
        try
        {
            var root = JsonDocument.Parse(record).RootElement;
            if (root.ValueKind != JsonValueKind.Object) return DatasetExamples.None;
            var source = root.TryGetProperty("source", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            long? seen = root.TryGetProperty("images_seen", out var n) && n.TryGetInt64(out var count) ? count : null;
            return new DatasetExamples(List(root, "channel"), List(root, "neuron"), source, seen);
        }
        catch (JsonException)
        {
            return DatasetExamples.None;
        }
    }

    private static IReadOnlyList<ExampleScore> List(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array
            ? list.Deserialize<List<ExampleScore>>(SnakeCase) ?? []
            : [];
}
