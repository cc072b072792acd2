using Microscope.Engine.Demo;
using Microscope.Engine.Imaging;

namespace Microscope.Engine.Techniques;

/// <summary>One image of a data set, with a stable id (what results store and links show).</summary>
public sealed record SourceImage(string Id, RgbImage Image);

/// <summary>A data set streamed one image at a time, so sets larger than memory work.</summary>
public interface IImageSource
{
    string Name { get; }
    /// <summary>How many images (for progress), when known.</summary>
    long? Count { get; }
    IEnumerable<SourceImage> Read();
    /// <summary>Loads one image again by its id (for sprites and crops after the pass).</summary>
    RgbImage Load(string id);
}

/// <summary>The demo's procedural data set: ids "procedural/{seed}/{index}"; the label of an
/// image is its index modulo the class count.</summary>
public sealed class ProceduralImageSource(int seed, int count, int size = 64) : IImageSource
{
    public string Name => $"procedural (seed {seed}, {count} images, {size} px)";
    public long? Count => count;

    public IEnumerable<SourceImage> Read()
    {
        for (var i = 0; i < count; i++) yield return new SourceImage(Id(i), Render(i));
    }

    public RgbImage Load(string id) => Render(Index(id));

    public static string Id(long index) => $"procedural/{index}";
    public static int Index(string id) =>
        id.StartsWith("procedural/", StringComparison.Ordinal) && int.TryParse(id.AsSpan(11), out var i) && i >= 0
            ? i : throw new ArgumentException($"'{id}' is not a procedural image id");
    public static string ClassOf(string id) => ProceduralImages.ClassNames[Index(id) % ProceduralImages.ClassCount];

    private RgbImage Render(long index) => new(ProceduralImages.Sample(seed, index, size, out _), size, size);
}

/// <summary>Every PNG/JPEG file under a folder (recursively, in name order); ids are paths
/// relative to the folder. Files that cannot be decoded are skipped and listed.</summary>
public sealed class FolderImageSource : IImageSource
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];
    private readonly string _root;
    private readonly List<string> _files;

    public FolderImageSource(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"image folder not found: {folder}");
        _root = Path.GetFullPath(folder);
        _files = Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories)
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Select(f => Path.GetRelativePath(_root, f))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();
        if (_files.Count == 0) throw new ArgumentException($"no PNG or JPEG images in {folder}");
    }

    public string Name => $"folder {_root} ({_files.Count} images)";
    public long? Count => _files.Count;
    public List<string> Skipped { get; } = [];

    public IEnumerable<SourceImage> Read()
    {
        foreach (var id in _files)
        {
            RgbImage image;
            try { image = Load(id); }
            catch (InvalidDataException) { Skipped.Add(id); continue; }
            yield return new SourceImage(id, image);
        }
    }

    public RgbImage Load(string id)
    {
        var path = Path.GetFullPath(Path.Combine(_root, id));
        if (!path.StartsWith(_root, StringComparison.Ordinal)) throw new ArgumentException($"'{id}' is outside the image folder");
        return ImageFile.Load(path);
    }
}
