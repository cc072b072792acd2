namespace Microscope.Deploy.Tests;

/// <summary>Where the repository's deploy files are, found from the test's output folder.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();
    public static string K8s => Path.Combine(Root, "deploy", "k8s");
    public static string Base => Path.Combine(K8s, "base");
    public static string Docker => Path.Combine(Root, "deploy", "docker");
    public static string Overlay(string name) => Path.Combine(K8s, "overlays", name);
    public static IReadOnlyList<string> OverlayNames { get; } = ["dev", "prod"];

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Microscope.Farm.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (Microscope.Farm.sln) above " + AppContext.BaseDirectory);
    }
}
