using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Microscope.Deploy.Tests;

/// <summary>YAML as plain data: mappings are <c>Dictionary&lt;object, object?&gt;</c>,
/// sequences <c>List&lt;object?&gt;</c>, scalars strings (YamlDotNet's untyped model).</summary>
public static class Yaml
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder().Build();

    public static List<Dictionary<object, object?>> LoadDocuments(string path)
    {
        using var reader = new StreamReader(path);
        var parser = new Parser(reader);
        parser.Consume<StreamStart>();
        var documents = new List<Dictionary<object, object?>>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var document = Deserializer.Deserialize<object?>(parser);
            if (document is Dictionary<object, object?> map) documents.Add(map);
            else if (document is not null) throw new InvalidDataException($"{path}: a document is not a mapping");
        }
        return documents;
    }

    public static Dictionary<object, object?> LoadSingle(string path) =>
        LoadDocuments(path) is [var only] ? only : throw new InvalidDataException($"{path}: expected exactly one document");

    public static Dictionary<object, object?>? Map(object? node) => node as Dictionary<object, object?>;
    public static List<object?> Seq(object? node) => node as List<object?> ?? [];
    public static IEnumerable<Dictionary<object, object?>> Maps(object? node) => Seq(node).OfType<Dictionary<object, object?>>();
    public static string? Str(object? node) => node as string;

    /// <summary>The node at a path of mapping keys, or null.</summary>
    public static object? At(object? node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not Dictionary<object, object?> map || !map.TryGetValue(key, out node)) return null;
        }
        return node;
    }

    public static string? StrAt(object? node, params string[] path) => Str(At(node, path));

    /// <summary>A deep copy, so a test can mutate a rendered manifest without touching others.</summary>
    public static object? Clone(object? node) => node switch
    {
        Dictionary<object, object?> map => map.ToDictionary(kv => kv.Key, kv => Clone(kv.Value)),
        List<object?> list => list.Select(Clone).ToList(),
        _ => node,
    };
}
