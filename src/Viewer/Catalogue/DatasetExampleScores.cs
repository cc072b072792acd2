using System.Text.Json;

namespace Microscope.Viewer.Catalogue;

/// <summary>One top dataset example of a unit: rank order as in the sprite.</summary>
public sealed record ExampleScore(string ImageId, double Score, int[]? Crop);

/// <summary>The scores and crops of a dataset-examples result, read from its JSON record
/// (the TechniqueRunner's snake_case: <c>channel</c> and <c>neuron</c> lists of
/// <c>{image_id, score, crop}</c>). A record that is missing or not in that shape gives none.</summary>
public static class DatasetExampleScores
{
    private static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static (IReadOnlyList<ExampleScore> Channel, IReadOnlyList<ExampleScore> Neuron) Parse(byte[]? record)
    {
        if (record is null) return ([], []);
        try
        {
            var root = JsonDocument.Parse(record).RootElement;
            return (List(root, "channel"), List(root, "neuron"));
        }
        catch (JsonException)
        {
            return ([], []);
        }
    }

    private static IReadOnlyList<ExampleScore> List(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array
            ? list.Deserialize<List<ExampleScore>>(SnakeCase) ?? []
            : [];
}
