using System.Diagnostics;
using static Microscope.Deploy.Tests.Yaml;

namespace Microscope.Deploy.Tests;

/// <summary>Where kubectl is installed, the real kustomize renders the same objects, images,
/// environment sources and GPU limits as the subset the other tests use (on CI, without
/// kubectl, this passes vacuously and says so on stderr).</summary>
public sealed class KubectlCrossCheckTests
{
    public static TheoryData<string> Overlays => new(RepositoryPaths.OverlayNames);

    [Theory, MemberData(nameof(Overlays))]
    public async Task Kubectl_kustomize_renders_what_the_checks_see(string overlay)
    {
        var kubectl = FindOnPath("kubectl");
        if (kubectl is null)
        {
            Console.Error.WriteLine("kubectl not on PATH: the kustomize cross-check did not run");
            return;
        }
        var copy = CopyWithExampleSecrets();
        try
        {
            var start = new ProcessStartInfo(kubectl, ["kustomize", Path.Combine(copy, "overlays", overlay)]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, $"kubectl kustomize failed: {await stderr}");
            var output = Path.Combine(copy, "rendered.yaml");
            await File.WriteAllTextAsync(output, await stdout);
            var real = LoadDocuments(output);
            var ours = OverlayTests.Overlay(overlay);

            // Same objects (kustomize appends a hash to generated names).
            string Key(string kind, string name) => $"{kind}/{name}";
            var realKeys = real.Select(d => Key(StrAt(d, "kind")!, Unhashed(d))).Order().ToList();
            Assert.Equal(ours.Objects.Select(o => Key(o.Kind, o.Name)).Order().ToList(), realKeys);

            foreach (var document in real)
            {
                var ourObject = ours.Get(StrAt(document, "kind")!, Unhashed(document));
                Assert.Equal(StrAt(document, "metadata", "namespace"), ourObject.Namespace);
                var realObject = new KubeObject(ourObject.Kind, ourObject.Name, document, "kubectl");
                var realContainers = Kustomize.Containers(realObject).ToList();
                var ourContainers = Kustomize.Containers(ourObject).ToList();
                Assert.Equal(ourContainers.Select(c => Str(c["image"])), realContainers.Select(c => Str(c["image"])));
                Assert.Equal(ourContainers.Select(c => StrAt(c, "resources", "limits", "nvidia.com/gpu")), realContainers.Select(c => StrAt(c, "resources", "limits", "nvidia.com/gpu")));
                Assert.Equal(ourContainers.Select(EnvSources), realContainers.Select(EnvSources));
                if (ourObject.Kind is "ConfigMap" or "Secret")
                {
                    var realKeysOfData = (Map(At(document, "data")) ?? []).Keys.Cast<string>().Order();
                    Assert.Equal((Map(At(ourObject.Body, "data")) ?? []).Keys.Cast<string>().Order(), realKeysOfData);
                }
            }
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    /// <summary>envFrom names without kustomize's hash suffix, and env names.</summary>
    private static string EnvSources(Dictionary<object, object?> container) =>
        string.Join(",", Maps(container.GetValueOrDefault("envFrom")).Select(e => StrAt(e, "configMapRef", "name") ?? StrAt(e, "secretRef", "name")).Select(StripHash)
            .Concat(Maps(container.GetValueOrDefault("env")).Select(e => Str(e["name"]))));

    private static string Unhashed(Dictionary<object, object?> document) =>
        StrAt(document, "kind") is "ConfigMap" or "Secret" ? StripHash(StrAt(document, "metadata", "name")) : StrAt(document, "metadata", "name")!;

    /// <summary>The name without kustomize's 10-character hash suffix, where it has one
    /// (a generator with disableNameSuffixHash keeps its plain name, such as rabbitmq-management).</summary>
    private static string StripHash(string? name) =>
        name is null ? "" : Generated.Contains(name) ? name : System.Text.RegularExpressions.Regex.Replace(name, "-[a-z0-9]{10}$", "");

    private static readonly HashSet<string> Generated = RepositoryPaths.OverlayNames.SelectMany(o => OverlayTests.Overlay(o).Objects)
        .Where(o => o.Kind is "ConfigMap" or "Secret").Select(o => o.Name).ToHashSet();

    /// <summary>deploy/k8s copied to a temporary folder with the prod credentials' examples
    /// in place of the real (uncommitted) files.</summary>
    private static string CopyWithExampleSecrets()
    {
        var target = Path.Combine(Path.GetTempPath(), $"microscope-k8s-{Guid.NewGuid():N}");
        foreach (var file in Directory.EnumerateFiles(RepositoryPaths.K8s, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(RepositoryPaths.K8s, file);
            var destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
            if (file.EndsWith(".secret.env.example", StringComparison.Ordinal) && !File.Exists(file[..^".example".Length]))
                File.Copy(file, destination[..^".example".Length]);
        }
        return target;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
