using Microscope.Contracts;
using Microscope.Engine.Lenses;

namespace Microscope.Farm.Rendering;

/// <summary>The key a result's tuple and row name as its image, for the worker that stores it
/// and the coordinator's reconciler that finds it in the bucket: its primary picture
/// (<see cref="ObjectKeys.PrimaryImageSuffix"/>), or its record for a lens without pictures
/// (<see cref="Lens.Pictured"/> false: circuits' weight tables); null when a pictured lens's
/// result has no picture.</summary>
public static class ResultImageKey
{
    public static string? Of(UnitAddress address, string technique, string paramsHash, IEnumerable<string> suffixes) =>
        ObjectKeys.PrimaryImageSuffix(suffixes) is { } image ? ObjectKeys.File(address, technique, paramsHash, image)
        : LensRegistry.TryGet(technique) is { Pictured: false } ? ObjectKeys.Record(address, technique, paramsHash)
        : null;
}
