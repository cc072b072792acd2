using System.Text.Json;
using Microscope.Coordinator.Data;
using Microscope.Farm.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Microscope.Coordinator.Catalogue;

/// <summary>A model's catalogue as a folder: <c>catalogue.json</c> (the index: the model's
/// versions with their descriptors, every result, the parameters behind each parameters hash,
/// and the object keys) and <c>objects/</c> with every stored file under its key. `microscope
/// export` writes it from a farm's database and object store; `microscope import` reads it
/// into another (an empty viewer's), which then serves the same pages.</summary>
public static class CatalogueArchive
{
    public const string Format = "microscope-catalogue/1";
    public const string IndexFile = "catalogue.json";
    public const string ObjectsFolder = "objects";
    /// <summary>The sweep kind of the rows an import adds so the viewer can show each result's
    /// parameters (it reads them from the sweep that used the hash); never sent to workers.</summary>
    public const string ImportKind = "import";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public sealed record Index(string Format, string Model, DateTimeOffset ExportedAt, IReadOnlyList<ModelVersion> Versions,
        IReadOnlyList<ParameterSet> ParameterSets, IReadOnlyList<Result> Results, IReadOnlyList<string> Objects);

    public sealed record ModelVersion(string Name, string Version, string DescriptorJson, int UnitCount, long RegisteredAt, string? SourceJson);

    public sealed record ParameterSet(string Model, string Version, string ParamsHash, string ParametersJson);

    public sealed record Result(string Op, int Unit, string Technique, string ParamsHash, string Version, string ImageKey, string RecordKey,
        double ObjectiveStart, double ObjectiveEnd, double MsPerStep, Guid TupleId, long RenderedAt);

    public sealed record Summary(int Versions, int Results, int Objects, int SkippedResults);

    /// <summary>Writes the catalogue of <paramref name="model"/> (one version, or all) into an
    /// empty or new folder; <paramref name="progress"/> counts objects copied of the total.</summary>
    public static async Task<Summary> ExportAsync(FarmDb db, IObjectStore store, string model, string? version, string folder,
        Action<int, int> progress, CancellationToken cancel = default)
    {
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
            throw new ArgumentException($"'{folder}' is not empty: export into a new or empty folder (nothing there is overwritten)");
        var versions = await db.Models.AsNoTracking().Where(m => m.Name == model && (version == null || m.Version == version))
            .OrderBy(m => m.RegisteredAt).ToListAsync(cancel);
        if (versions.Count == 0)
        {
            var known = await db.Models.AsNoTracking().Select(m => m.Name).Distinct().OrderBy(n => n).ToListAsync(cancel);
            throw new ArgumentException(version is null
                ? $"no model '{model}' in this farm's catalogue (it has: {(known.Count == 0 ? "none" : string.Join(", ", known))})"
                : $"model '{model}' has no version '{version}' in this farm's catalogue");
        }
        var names = versions.Select(v => v.Version).ToList();
        var results = await db.Results.AsNoTracking().Where(r => r.Model == model && names.Contains(r.Version))
            .OrderBy(r => r.Version).ThenBy(r => r.Op).ThenBy(r => r.Unit).ThenBy(r => r.Technique).ThenBy(r => r.ParamsHash).ToListAsync(cancel);
        var hashes = results.Select(r => r.ParamsHash).Distinct().ToList();
        var parameterSets = (await db.Sweeps.AsNoTracking().Where(s => s.Model == model && hashes.Contains(s.ParamsHash))
                .Select(s => new { s.Version, s.ParamsHash, s.ParametersJson, s.CreatedAt }).ToListAsync(cancel))
            .GroupBy(s => s.ParamsHash).Select(g => g.OrderBy(s => s.CreatedAt).First())
            .Select(s => new ParameterSet(model, s.Version, s.ParamsHash, s.ParametersJson)).OrderBy(p => p.ParamsHash, StringComparer.Ordinal).ToList();
        // Every file under the model's versions: the images and records, and the other files
        // a lens writes (diversity's images, dataset-example sprites, tuning-curve plots, an added model's files).
        var keys = new List<string>();
        foreach (var v in names) keys.AddRange(await store.ListAsync($"{model}/{v}/", cancel));
        keys = keys.Distinct().Order(StringComparer.Ordinal).ToList();

        Directory.CreateDirectory(folder);
        var done = 0;
        progress(0, keys.Count);
        foreach (var key in keys)
        {
            ObjectKeyRules.Check(key);
            var data = await store.GetAsync(key, cancel) ?? throw new IOException($"object '{key}' was listed but cannot be read");
            var path = Path.Combine(folder, ObjectsFolder, key.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllBytesAsync(path, data, cancel);
            progress(++done, keys.Count);
        }
        var index = new Index(Format, model, DateTimeOffset.UtcNow,
            versions.Select(v => new ModelVersion(v.Name, v.Version, v.DescriptorJson, v.UnitCount, v.RegisteredAt, v.SourceJson)).ToList(),
            parameterSets,
            results.Select(r => new Result(r.Op, r.Unit, r.Technique, r.ParamsHash, r.Version, r.ImageKey, r.RecordKey, r.ObjectiveStart, r.ObjectiveEnd,
                r.MsPerStep, r.TupleId, r.RenderedAt)).ToList(),
            keys);
        // The index last: a folder with an index is a complete export.
        await File.WriteAllTextAsync(Path.Combine(folder, IndexFile), JsonSerializer.Serialize(index, Json), cancel);
        return new Summary(versions.Count, results.Count, keys.Count, 0);
    }

    /// <summary>Reads an export into a farm: the schema first, then every object (so no row ever
    /// names a missing file), then the rows. Results already there are kept, not replaced.</summary>
    public static async Task<Summary> ImportAsync(FarmDb db, IObjectStore store, string folder, Action<int, int> progress, CancellationToken cancel = default)
    {
        var indexPath = Path.Combine(folder, IndexFile);
        if (!File.Exists(indexPath)) throw new ArgumentException($"'{folder}' has no {IndexFile}: not a `microscope export` folder (or an unfinished one)");
        Index index;
        try { index = JsonSerializer.Deserialize<Index>(await File.ReadAllTextAsync(indexPath, cancel), Json) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{indexPath} is not a catalogue index: {e.Message}"); }
        if (index.Format != Format) throw new InvalidDataException($"{indexPath} is format '{index.Format}'; this version reads '{Format}'");
        foreach (var key in index.Objects)
        {
            try { ObjectKeyRules.Check(key); }
            catch (ArgumentException e) { throw new InvalidDataException($"{indexPath}: {e.Message}"); }
            if (!key.StartsWith(index.Model + "/", StringComparison.Ordinal)) throw new InvalidDataException($"{indexPath}: object '{key}' is not under model '{index.Model}'");
            if (!File.Exists(ObjectPath(folder, key))) throw new InvalidDataException($"{indexPath} lists '{key}', which is not in {Path.Combine(folder, ObjectsFolder)}");
        }

        await Migrations.ApplyAsync(db, NullLogger.Instance, cancel);
        await store.EnsureReadyAsync(cancel);
        var done = 0;
        progress(0, index.Objects.Count);
        foreach (var key in index.Objects)
        {
            await store.PutAsync(key, await File.ReadAllBytesAsync(ObjectPath(folder, key), cancel), ObjectKeyRules.ContentType(key), cancel);
            progress(++done, index.Objects.Count);
        }

        var haveVersions = (await db.Models.AsNoTracking().Where(m => m.Name == index.Model).Select(m => m.Version).ToListAsync(cancel)).ToHashSet();
        foreach (var v in index.Versions.Where(v => !haveVersions.Contains(v.Version)))
            db.Models.Add(new ModelRow { Name = index.Model, Version = v.Version, DescriptorJson = v.DescriptorJson, UnitCount = v.UnitCount, RegisteredAt = v.RegisteredAt, SourceJson = v.SourceJson });
        var haveHashes = (await db.Sweeps.AsNoTracking().Where(s => s.Model == index.Model).Select(s => s.ParamsHash).Distinct().ToListAsync(cancel)).ToHashSet();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var p in index.ParameterSets.Where(p => !haveHashes.Contains(p.ParamsHash)))
            db.Sweeps.Add(new SweepRow
            {
                Id = Guid.NewGuid(), Kind = ImportKind, State = SweepStates.Active, Model = index.Model, Version = p.Version, OpsJson = "[]", TechniquesJson = "[]",
                ParametersJson = p.ParametersJson, ParamsHash = p.ParamsHash, Total = index.Results.Count(r => r.ParamsHash == p.ParamsHash),
                CreatedAt = now, FinishedAt = now,
            });
        var existing = (await db.Results.AsNoTracking().Where(r => r.Model == index.Model)
            .Select(r => new { r.Version, r.Op, r.Unit, r.Technique, r.ParamsHash }).ToListAsync(cancel))
            .Select(r => (r.Version, r.Op, r.Unit, r.Technique, r.ParamsHash)).ToHashSet();
        var added = 0;
        foreach (var r in index.Results.Where(r => !existing.Contains((r.Version, r.Op, r.Unit, r.Technique, r.ParamsHash))))
        {
            db.Results.Add(new ResultRow
            {
                Model = index.Model, Version = r.Version, Op = r.Op, Unit = r.Unit, Technique = r.Technique, ParamsHash = r.ParamsHash, ImageKey = r.ImageKey,
                RecordKey = r.RecordKey, ObjectiveStart = r.ObjectiveStart, ObjectiveEnd = r.ObjectiveEnd, MsPerStep = r.MsPerStep, TupleId = r.TupleId, RenderedAt = r.RenderedAt,
            });
            added++;
        }
        await db.SaveChangesAsync(cancel);
        return new Summary(index.Versions.Count(v => !haveVersions.Contains(v.Version)), added, index.Objects.Count, index.Results.Count - added);
    }

    private static string ObjectPath(string folder, string key) => Path.Combine(folder, ObjectsFolder, key.Replace('/', Path.DirectorySeparatorChar));
}
