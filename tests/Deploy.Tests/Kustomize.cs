using static Microscope.Deploy.Tests.Yaml;

namespace Microscope.Deploy.Tests;

/// <summary>One Kubernetes object of a rendered overlay.</summary>
public sealed record KubeObject(string Kind, string Name, Dictionary<object, object?> Body, string Source)
{
    public string? Namespace => StrAt(Body, "metadata", "namespace");
    public override string ToString() => $"{Kind}/{Name} ({Source})";
}

/// <summary>A rendered overlay: its objects, plus the data of the ConfigMaps and Secrets it
/// generates (by their unhashed names, which is how the base refers to them).</summary>
public sealed record RenderedOverlay(string Name, List<KubeObject> Objects)
{
    public IEnumerable<KubeObject> OfKind(string kind) => Objects.Where(o => o.Kind == kind);
    public KubeObject? Find(string kind, string name) => Objects.FirstOrDefault(o => o.Kind == kind && o.Name == name);
    public KubeObject Get(string kind, string name) => Find(kind, name) ?? throw new KeyNotFoundException($"{Name}: no {kind}/{name}");

    /// <summary>A deep copy to mutate in a negative test.</summary>
    public RenderedOverlay Copy() => this with { Objects = Objects.Select(o => o with { Body = (Dictionary<object, object?>)Yaml.Clone(o.Body)! }).ToList() };
}

/// <summary>The subset of kustomize this repository's kustomizations use, so the invariants can
/// be checked where kubectl is not installed (CI): resources (files and folders), namespace,
/// images, configMapGenerator and secretGenerator (envs, files, literals), and strategic-merge
/// patches by kind and name (mappings merge, lists of named items merge by name, other values
/// are replaced). Where kubectl is installed, KubectlCrossCheckTests compares this with
/// `kubectl kustomize`. Generated names keep no hash suffix here.
///
/// A secretGenerator env file that is absent but has a committed <c>.example</c> beside it (the
/// prod overlay's credentials, which are never committed) is read from the example.</summary>
public static class Kustomize
{
    public static RenderedOverlay BuildOverlay(string overlay) => new(overlay, Build(RepositoryPaths.Overlay(overlay)));

    public static List<KubeObject> Build(string folder)
    {
        var kustomizationPath = Path.Combine(folder, "kustomization.yaml");
        var kustomization = LoadSingle(kustomizationPath);
        var objects = new List<KubeObject>();
        foreach (var resource in Seq(kustomization.GetValueOrDefault("resources")).Select(r => Str(r)!))
        {
            var path = Path.GetFullPath(Path.Combine(folder, resource));
            if (Directory.Exists(path)) objects.AddRange(Build(path));
            else objects.AddRange(LoadDocuments(path).Select(d => ToObject(d, path)));
        }
        foreach (var generator in Maps(kustomization.GetValueOrDefault("configMapGenerator")))
            objects.Add(Generate("ConfigMap", generator, folder));
        foreach (var generator in Maps(kustomization.GetValueOrDefault("secretGenerator")))
            objects.Add(Generate("Secret", generator, folder));
        foreach (var patch in Maps(kustomization.GetValueOrDefault("patches")))
        {
            var path = Path.Combine(folder, Str(patch["path"])!);
            foreach (var document in LoadDocuments(path))
            {
                var patchObject = ToObject(document, path);
                var target = objects.FirstOrDefault(o => o.Kind == patchObject.Kind && o.Name == patchObject.Name)
                    ?? throw new InvalidDataException($"{path}: patch target {patchObject.Kind}/{patchObject.Name} is not among the resources");
                MergeInto(target.Body, document);
            }
        }
        foreach (var image in Maps(kustomization.GetValueOrDefault("images")))
            SetImage(objects, Str(image["name"])!, Str(image.GetValueOrDefault("newName")), Str(image.GetValueOrDefault("newTag")));
        if (Str(kustomization.GetValueOrDefault("namespace")) is { } ns)
            foreach (var o in objects.Where(o => o.Kind != "Namespace"))
                ((Dictionary<object, object?>)o.Body["metadata"]!)["namespace"] = ns;
        return objects;
    }

    /// <summary>Every file a kustomization names (resources, generator inputs, patches), resolved.</summary>
    public static IEnumerable<(string Kustomization, string Path)> ReferencedFiles(string folder)
    {
        var kustomizationPath = Path.Combine(folder, "kustomization.yaml");
        var kustomization = LoadSingle(kustomizationPath);
        foreach (var resource in Seq(kustomization.GetValueOrDefault("resources")).Select(r => Str(r)!))
        {
            var path = Path.GetFullPath(Path.Combine(folder, resource));
            if (Directory.Exists(path))
            {
                yield return (kustomizationPath, Path.Combine(path, "kustomization.yaml"));
                foreach (var inner in ReferencedFiles(path)) yield return inner;
            }
            else yield return (kustomizationPath, path);
        }
        foreach (var generator in Maps(kustomization.GetValueOrDefault("configMapGenerator")).Concat(Maps(kustomization.GetValueOrDefault("secretGenerator"))))
            foreach (var file in Seq(generator.GetValueOrDefault("envs")).Concat(Seq(generator.GetValueOrDefault("files"))).Select(f => Str(f)!))
                yield return (kustomizationPath, Path.GetFullPath(Path.Combine(folder, file)));
        foreach (var patch in Maps(kustomization.GetValueOrDefault("patches")))
            yield return (kustomizationPath, Path.GetFullPath(Path.Combine(folder, Str(patch["path"])!)));
    }

    /// <summary>The file itself, or its committed <c>.example</c> where the real one is kept out of git.</summary>
    public static string? ExistingOrExample(string path) =>
        File.Exists(path) ? path : File.Exists(path + ".example") ? path + ".example" : null;

    public static Dictionary<string, string> ReadEnvFile(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new InvalidDataException($"{path}: '{line}' is not KEY=value");
            var key = line[..eq];
            if (!values.TryAdd(key, line[(eq + 1)..])) throw new InvalidDataException($"{path}: {key} is set twice");
        }
        return values;
    }

    private static KubeObject ToObject(Dictionary<object, object?> document, string source) =>
        new(StrAt(document, "kind") ?? throw new InvalidDataException($"{source}: a document without kind"),
            StrAt(document, "metadata", "name") ?? throw new InvalidDataException($"{source}: a document without metadata.name"),
            document, source);

    private static KubeObject Generate(string kind, Dictionary<object, object?> generator, string folder)
    {
        var name = Str(generator["name"])!;
        var data = new Dictionary<object, object?>();
        foreach (var env in Seq(generator.GetValueOrDefault("envs")).Select(e => Path.Combine(folder, Str(e)!)))
        {
            var file = ExistingOrExample(env) ?? throw new FileNotFoundException($"{kind} {name}: env file {env} (nor its .example) exists");
            foreach (var (key, value) in ReadEnvFile(file))
                if (!data.TryAdd(key, value)) throw new InvalidDataException($"{kind} {name}: {key} comes from two env files");
        }
        foreach (var file in Seq(generator.GetValueOrDefault("files")).Select(f => Str(f)!))
            data[Path.GetFileName(file)] = File.ReadAllText(Path.Combine(folder, file));
        foreach (var literal in Seq(generator.GetValueOrDefault("literals")).Select(l => Str(l)!))
            data[literal[..literal.IndexOf('=', StringComparison.Ordinal)]] = literal[(literal.IndexOf('=', StringComparison.Ordinal) + 1)..];
        var body = new Dictionary<object, object?>
        {
            ["apiVersion"] = "v1", ["kind"] = kind,
            ["metadata"] = new Dictionary<object, object?> { ["name"] = name },
            ["data"] = data,
        };
        return new KubeObject(kind, name, body, $"{kind.ToLowerInvariant()}Generator in {folder}");
    }

    /// <summary>Strategic merge, as far as these manifests need it.</summary>
    public static void MergeInto(Dictionary<object, object?> target, Dictionary<object, object?> patch)
    {
        foreach (var (key, value) in patch)
        {
            if (value is null) { target.Remove(key); continue; }
            if (value is Dictionary<object, object?> patchMap && target.GetValueOrDefault(key) is Dictionary<object, object?> targetMap)
                MergeInto(targetMap, patchMap);
            else if (value is List<object?> patchList && target.GetValueOrDefault(key) is List<object?> targetList && IsNamedList(patchList) && IsNamedList(targetList))
            {
                foreach (var item in patchList.Cast<Dictionary<object, object?>>())
                {
                    var match = targetList.Cast<Dictionary<object, object?>>().FirstOrDefault(t => Equals(t["name"], item["name"]));
                    if (match is null) targetList.Add(Clone(item));
                    else MergeInto(match, item);
                }
            }
            else target[key] = Clone(value);
        }
    }

    private static bool IsNamedList(List<object?> list) =>
        list.Count > 0 && list.All(i => i is Dictionary<object, object?> m && m.ContainsKey("name"));

    private static void SetImage(List<KubeObject> objects, string name, string? newName, string? newTag)
    {
        foreach (var container in objects.SelectMany(Containers))
        {
            var image = Str(container.GetValueOrDefault("image"));
            if (image is null) continue;
            var (imageName, _) = ImageReference.Split(image);
            if (imageName != name) continue;
            var (_, oldTag) = ImageReference.Split(image);
            container["image"] = $"{newName ?? imageName}:{newTag ?? oldTag}";
        }
    }

    /// <summary>The containers (and init containers) of a workload's pod template.</summary>
    public static IEnumerable<Dictionary<object, object?>> Containers(KubeObject o) =>
        Maps(At(PodSpec(o), "containers")).Concat(Maps(At(PodSpec(o), "initContainers")));

    public static Dictionary<object, object?>? PodSpec(KubeObject o) => o.Kind switch
    {
        "Deployment" or "StatefulSet" or "Job" or "DaemonSet" => Map(At(o.Body, "spec", "template", "spec")),
        "CronJob" => Map(At(o.Body, "spec", "jobTemplate", "spec", "template", "spec")),
        _ => null,
    };

    public static Dictionary<object, object?>? PodLabels(KubeObject o) => o.Kind switch
    {
        "Deployment" or "StatefulSet" or "Job" or "DaemonSet" => Map(At(o.Body, "spec", "template", "metadata", "labels")),
        _ => null,
    };
}

/// <summary>An image reference's name and tag (a registry port is not a tag).</summary>
public static class ImageReference
{
    public static (string Name, string? Tag) Split(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0) image = image[..at];
        var slash = image.LastIndexOf('/');
        var colon = image.LastIndexOf(':');
        return colon > slash ? (image[..colon], image[(colon + 1)..]) : (image, null);
    }

    /// <summary>Why an image reference is not pinned, or null when it is (a tag that is not
    /// <c>latest</c>, or a digest).</summary>
    public static string? NotPinned(string image)
    {
        if (image.Contains("@sha256:", StringComparison.Ordinal)) return null;
        var (_, tag) = Split(image);
        if (tag is null) return $"image '{image}' has no tag (it would mean latest)";
        if (tag.Equals("latest", StringComparison.OrdinalIgnoreCase)) return $"image '{image}' is pinned to latest";
        if (tag.Contains('$', StringComparison.Ordinal)) return $"image '{image}' takes its tag from a variable";
        return null;
    }
}
