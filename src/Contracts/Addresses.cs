namespace Microscope.Contracts;

/// <summary>One unit of one op of one model version, as linked everywhere:
/// <c>demo/abc123def456/conv3/9</c>. Op-level results (deepdream, caricature) have unit
/// <see cref="OpLevel"/> (-1), written "op" in addresses and keys: <c>demo/abc123def456/conv3/op</c>.</summary>
public sealed record UnitAddress(string Model, string Version, string Op, int Unit)
{
    public const int OpLevel = -1;

    public string UnitSegment => Unit == OpLevel ? "op" : Unit.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public override string ToString() => $"{Model}/{Version}/{Op}/{UnitSegment}";
}

/// <summary>Deterministic object keys (architecture doc): a re-delivered message overwrites
/// the same objects instead of adding new ones.</summary>
public static class ObjectKeys
{
    public static string Image(UnitAddress a, string technique, string paramsHash) => $"{Stem(a, technique, paramsHash)}.png";
    public static string Record(UnitAddress a, string technique, string paramsHash) => $"{Stem(a, technique, paramsHash)}.json";
    /// <summary>Any file of a result: the stem plus the technique's suffix (".png", "-0.png",
    /// ".channel.png", ".orientation.svg", ".json", ...).</summary>
    public static string File(UnitAddress a, string technique, string paramsHash, string suffix) => $"{Stem(a, technique, paramsHash)}{suffix}";

    /// <summary>The longer side of the small copy the worker stores beside every PNG (grids, strips).</summary>
    public const int ThumbnailSize = 96;

    /// <summary>The small copy of a PNG object: its key with ".png" made ".96px.png"
    /// (<c>…/{paramsHash}.96px.png</c>, <c>…/{paramsHash}-0.96px.png</c>); null for other files.</summary>
    public static string? Thumbnail(string key, int size = ThumbnailSize) =>
        key.EndsWith(".png", StringComparison.Ordinal) && !IsThumbnail(key) ? $"{key[..^4]}.{size}px.png" : null;

    public static bool IsThumbnail(string key) => key.EndsWith($".{ThumbnailSize}px.png", StringComparison.Ordinal);

    /// <summary>The full image a thumbnail key was made from.</summary>
    public static string? FullOf(string thumbnailKey) =>
        IsThumbnail(thumbnailKey) ? thumbnailKey[..^$".{ThumbnailSize}px.png".Length] + ".png" : null;

    /// <summary>The worker's log lines for a tuple that failed (text, one line per event).</summary>
    public static string Log(UnitAddress a, string technique, string paramsHash) => $"{Stem(a, technique, paramsHash)}.log.txt";

    /// <summary>A result's primary image (the one the catalogue shows): the first PNG or SVG
    /// among its files' suffixes, in the lens's order; null if it has none.</summary>
    public static string? PrimaryImageSuffix(IEnumerable<string> suffixes) =>
        suffixes.FirstOrDefault(s => s.EndsWith(".png", StringComparison.Ordinal) || s.EndsWith(".svg", StringComparison.Ordinal));

    /// <summary>An object under a model version's root rather than beside one result: files that
    /// do not depend on render parameters and that other parts find by a name of their own
    /// (the circuits' weight tables, <c>{model}/{version}/_circuits/{op}/{fromOp}.safetensors</c>).</summary>
    public static string InModel(string model, string version, string name) => $"{model}/{version}/{name}";

    public static string Stem(UnitAddress a, string technique, string paramsHash) =>
        $"{a.Model}/{a.Version}/{a.Op}/{a.UnitSegment}/{technique}/{paramsHash}";
}
