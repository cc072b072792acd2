using Microscope.Engine.Imaging;
using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Torch;
using F = Microscope.Engine.Torch.torch.nn.functional;

namespace Microscope.Engine.Techniques;

/// <summary>A data-set image that excites a unit, with its score; for neurons, the box
/// [X0, X1) x [Y0, Y1) of the image inside the neuron's receptive field (source pixels).</summary>
public sealed record Example(string ImageId, double Score, int[]? Crop = null);

public sealed record UnitExamples(int Unit, IReadOnlyList<Example> Channel, IReadOnlyList<Example> Neuron);

public sealed record DatasetExamplesResult(
    string Op, string Source, long ImagesSeen, int K, double ReceptiveFieldSize, IReadOnlyList<UnitExamples> Units);

/// <summary>One streaming pass over a data set computes, for every unit of an op, the top-k
/// images by channel activation (spatial mean) and by neuron activation (the centre
/// position). Images are resized to the model's input size; one forward serves every unit.
/// Memory is units x k, whatever the data set's size.</summary>
public static class DatasetExamples
{
    public static DatasetExamplesResult Run(VisionModel model, string op, IImageSource source, int k = 16, int batchSize = 32,
        IProgress<long>? progress = null, CancellationToken cancel = default)
    {
        if (k < 1) throw new ArgumentException($"k must be at least 1, not {k}");
        op = model.ResolveOp(op);
        var field = model.ReceptiveFieldOf(op);
        TopK[]? channelTop = null, neuronTop = null;
        var seen = 0L;
        var pending = new List<SourceImage>(batchSize);

        void Flush()
        {
            if (pending.Count == 0) return;
            var (channel, neuron, units, crop) = Score(model, op, pending, field);
            channelTop ??= Enumerable.Range(0, units).Select(_ => new TopK(k)).ToArray();
            neuronTop ??= Enumerable.Range(0, units).Select(_ => new TopK(k)).ToArray();
            for (var i = 0; i < pending.Count; i++)
            {
                var img = pending[i];
                var box = Scale(crop, model.InputSize, img.Image.Width, img.Image.Height);
                for (var u = 0; u < units; u++)
                {
                    channelTop[u].Offer(new Example(img.Id, channel[i * units + u]));
                    neuronTop[u].Offer(new Example(img.Id, neuron[i * units + u], box));
                }
            }
            seen += pending.Count;
            pending.Clear();
            progress?.Report(seen);
        }

        foreach (var img in source.Read())
        {
            cancel.ThrowIfCancellationRequested();
            pending.Add(img);
            if (pending.Count == batchSize) Flush();
        }
        Flush();
        if (channelTop is null || neuronTop is null) throw new ArgumentException($"data set {source.Name} has no readable images");
        var result = channelTop.Select((t, u) => new UnitExamples(u, t.Sorted(), neuronTop[u].Sorted())).ToList();
        return new DatasetExamplesResult(op, source.Name, seen, k, field.Size, result);
    }

    /// <summary>Channel and neuron scores (images x units, row-major) of a batch, and the
    /// neuron's receptive-field box in model-input pixels.</summary>
    public static (float[] Channel, float[] Neuron, int Units, (int X0, int Y0, int X1, int Y1) Crop) Score(
        VisionModel model, string op, IReadOnlyList<SourceImage> images, ReceptiveField field)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var s = model.InputSize;
        var resized = images.Select(img =>
        {
            var t = torch.tensor(img.Image.Pixels, [1, 3, img.Image.Height, img.Image.Width], model.Device);
            return img.Image.Width == s && img.Image.Height == s ? t : F.interpolate(t, (s, s), align_corners: true);
        }).ToList();
        var act = model.Forward(model.Preprocessing.Apply(torch.cat(resized, 0)), op);
        var shape = act.shape;
        var units = (int)shape[1];
        if (act.dim() == 2)
        {
            var flat = act.cpu().data<float>();
            return (flat, flat, units, (0, 0, s, s));
        }
        var (h, w) = ((int)shape[2], (int)shape[3]);
        var channel = act.mean([2, 3]).cpu().data<float>();
        var neuron = act.select(3, w / 2).select(2, h / 2).cpu().data<float>();
        return (channel, neuron, units, field.Box(h / 2, w / 2, s, s));
    }

    private static int[] Scale((int X0, int Y0, int X1, int Y1) box, int inputSize, int width, int height) =>
    [
        (int)Math.Floor(box.X0 * (double)width / inputSize), (int)Math.Floor(box.Y0 * (double)height / inputSize),
        (int)Math.Ceiling(box.X1 * (double)width / inputSize), (int)Math.Ceiling(box.Y1 * (double)height / inputSize),
    ];

    /// <summary>A sprite of a unit's examples: whole images for channels, receptive-field crops
    /// for neurons, each resized to <paramref name="thumb"/> pixels, in rank order.</summary>
    public static RgbImage Sprite(IImageSource source, IReadOnlyList<Example> examples, int thumb = 64)
    {
        if (examples.Count == 0) throw new ArgumentException("no examples to draw");
        var tiles = examples.Select(e =>
        {
            var img = source.Load(e.ImageId);
            var c = e.Crop ?? [0, 0, img.Width, img.Height];
            return Resample(img, c[0], c[1], c[2], c[3], thumb);
        }).ToList();
        return ContactSheet.Tile(tiles, thumb, columns: Math.Min(8, tiles.Count));
    }

    /// <summary>A sprite of whole images (each resized to <paramref name="thumb"/> pixels), in order.</summary>
    public static RgbImage Sprite(IReadOnlyList<RgbImage> images, int thumb = 64)
    {
        if (images.Count == 0) throw new ArgumentException("no images to draw");
        var tiles = images.Select(img => Resample(img, 0, 0, img.Width, img.Height, thumb)).ToList();
        return ContactSheet.Tile(tiles, thumb, columns: Math.Min(8, tiles.Count));
    }

    /// <summary>The whole image resampled to a square thumbnail of <paramref name="size"/> pixels.</summary>
    public static RgbImage Thumbnail(RgbImage img, int size) => new(Resample(img, 0, 0, img.Width, img.Height, size), size, size);

    /// <summary>Nearest-neighbour resample of a box of an image to a square thumbnail.</summary>
    private static float[] Resample(RgbImage img, int x0, int y0, int x1, int y1, int size)
    {
        var result = new float[3 * size * size];
        var (bw, bh) = (Math.Max(1, x1 - x0), Math.Max(1, y1 - y0));
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                    result[(c * size + y) * size + x] = img[c, Math.Min(img.Height - 1, y0 + y * bh / size), Math.Min(img.Width - 1, x0 + x * bw / size)];
        return result;
    }

    /// <summary>The k best examples seen so far (ties keep the earlier image).</summary>
    private sealed class TopK(int k)
    {
        private readonly List<Example> _items = new(k + 1);

        public void Offer(Example e)
        {
            if (_items.Count == k && e.Score <= _items[^1].Score) return;
            var i = _items.FindIndex(x => e.Score > x.Score);
            _items.Insert(i < 0 ? _items.Count : i, e);
            if (_items.Count > k) _items.RemoveAt(k);
        }

        public IReadOnlyList<Example> Sorted() => _items.ToList();
    }
}
