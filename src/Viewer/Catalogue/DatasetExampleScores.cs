using System.Text.Json;
using System.Text.Json.Nodes;
using Microscope.Engine.Lenses;

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

/// <summary>The scores and crops of a dataset-examples result, read from its record (any
/// format, through <see cref="LensRecord.Parse"/>: the lens's details hold <c>channel</c> and
/// <c>neuron</c> lists of <c>{image_id, score, crop}</c>, <c>source</c>, <c>images_seen</c>; older
/// records had them at the top level). A record that is missing or not in that shape gives none.</summary>
public static class DatasetExampleScores
{
    public static DatasetExamples Parse(byte[]? record)
    {
        if (record is null || LensRecord.Parse(record)?.Details is not { } details) return DatasetExamples.None;
        try
        {
            var source = details["source"] is JsonValue s && s.TryGetValue<string>(out var text) ? text : null;
            long? seen = details["images_seen"] is JsonValue n && n.TryGetValue<long>(out var count) ? count : null;
            return new DatasetExamples(List(details, "channel"), List(details, "neuron"), source, seen);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return DatasetExamples.None;
        }
    }

    private static IReadOnlyList<ExampleScore> List(JsonObject details, string name) =>
        details[name] is JsonArray list ? list.Deserialize<List<ExampleScore>>(LensRecord.Json) ?? [] : [];
}
