namespace Microscope.Engine.Techniques;

/// <summary>The real photo folder (scripts/photos.sh assembles it from Debian's opencv-doc and
/// python3-skimage): the default images for dataset examples and caricatures of real models,
/// named by MICROSCOPE_PHOTOS (the ./microscope wrapper sets it to out/photos and assembles
/// that folder on first use).</summary>
public static class RealPhotos
{
    public const string Variable = "MICROSCOPE_PHOTOS";

    /// <summary>The folder, or null when none is configured or it does not exist.</summary>
    public static string? Folder() =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } dir && Directory.Exists(dir) ? dir : null;
}
