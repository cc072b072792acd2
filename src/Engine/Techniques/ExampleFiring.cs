using Microscope.Engine.Imaging;
using Microscope.Engine.Models;

namespace Microscope.Engine.Techniques;

/// <summary>Where one example excites its unit most: the peak of the unit's map in the source
/// image's pixels, and the map's largest and mean values.</summary>
public sealed record ExamplePeak(string ImageId, int X, int Y, double Max, double Mean);

/// <summary>A unit's firing on its examples: each example with the map laid over it (one heat
/// scale for the unit: the largest value over its examples), and each map's peak.</summary>
public sealed record UnitExampleFiring(IReadOnlyList<RgbImage> Overlays, IReadOnlyList<ExamplePeak> Peaks);

/// <summary>The dataset examples' activation maps, computed where the images are (the worker or
/// the CLI, after the pass that chose them): one more forward over the distinct example images
/// only, in small batches, keeping just the maps of the units that chose each image.</summary>
public static class ExampleFiring
{
    private const int Batch = 8;

    /// <summary>Overlays are drawn on <paramref name="thumb"/>-pixel thumbnails (what the sprite
    /// shows), so large photos cost no more than small ones; peaks are in source pixels.</summary>
    public static IReadOnlyDictionary<int, UnitExampleFiring> Of(VisionModel model, string op, IImageSource source,
        IReadOnlyDictionary<int, IReadOnlyList<Example>> examples, int thumb, CancellationToken cancel = default)
    {
        var wanted = examples.SelectMany(e => e.Value.Select(x => (Image: x.ImageId, Unit: e.Key))).ToLookup(p => p.Image, p => p.Unit);
        var maps = new Dictionary<(string Image, int Unit), FiringMap>();
        var thumbs = new Dictionary<string, (RgbImage Thumb, int Width, int Height)>(StringComparer.Ordinal);
        foreach (var chunk in wanted.Select(g => g.Key).Chunk(Batch))
        {
            cancel.ThrowIfCancellationRequested();
            var loaded = chunk.Select(source.Load).ToList();
            var units = chunk.SelectMany(id => wanted[id]).Distinct().Order().ToList();
            var result = UnitFiring.Maps(model, op, loaded, units);
            for (var i = 0; i < chunk.Length; i++)
            {
                thumbs[chunk[i]] = (DatasetExamples.Thumbnail(loaded[i], thumb), loaded[i].Width, loaded[i].Height);
                foreach (var u in wanted[chunk[i]]) maps[(chunk[i], u)] = result[i][units.IndexOf(u)];
            }
        }
        return examples.ToDictionary(e => e.Key, e =>
        {
            var unitMaps = e.Value.Select(x => maps[(x.ImageId, e.Key)]).ToList();
            var scale = unitMaps.Count == 0 ? 0 : unitMaps.Max(m => m.Max);
            var overlays = e.Value.Select((x, i) => UnitFiring.Overlay(thumbs[x.ImageId].Thumb, unitMaps[i], scale)).ToList();
            var peaks = e.Value.Select((x, i) =>
            {
                var (_, width, height) = thumbs[x.ImageId];
                var (px, py) = unitMaps[i].PeakIn(width, height);
                return new ExamplePeak(x.ImageId, px, py, unitMaps[i].Max, unitMaps[i].Mean);
            }).ToList();
            return new UnitExampleFiring(overlays, peaks);
        });
    }
}
