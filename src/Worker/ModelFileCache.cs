using Microscope.Farm.Models;
using Microscope.Farm.Storage;
using Microsoft.Extensions.Logging;

namespace Microscope.Worker;

/// <summary>Files of models added to the running farm, fetched from the object store the
/// first time a packet needs them and kept on disk (Worker:ModelFolder) under their content
/// hash, checked on download; the folder is bounded (Worker:ModelFolderBytes): the least
/// recently used files go first.</summary>
public sealed class ModelFileCache(IObjectStore store, WorkerOptions options, ILogger<ModelFileCache> logger)
{
    private readonly SemaphoreSlim _fetching = new(1, 1);

    /// <summary>The model's manifest and the local paths of its file and companion; null when
    /// the store holds no model (name, version).</summary>
    public async Task<(AddedModel Model, string File, string? Companion)?> GetAsync(string name, string version, CancellationToken cancel)
    {
        var model = await AddedModel.FindAsync(store, name, version, cancel);
        if (model is null) return null;
        await _fetching.WaitAsync(cancel);
        try
        {
            Directory.CreateDirectory(options.ModelFolder);
            var file = await FetchAsync(model.File, cancel);
            var companion = model.Companion is null ? null : await FetchAsync(model.Companion, cancel);
            Evict(keep: [file, companion]);
            return (model, file, companion);
        }
        finally
        {
            _fetching.Release();
        }
    }

    private async Task<string> FetchAsync(StoredModelFile f, CancellationToken cancel)
    {
        var path = Path.Combine(options.ModelFolder, Path.GetFileName(f.Key));
        if (File.Exists(path) && new FileInfo(path).Length == f.Bytes)
        {
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
            return path;
        }
        var data = await store.GetAsync(f.Key, cancel) ?? throw new InvalidOperationException($"the object store has no '{f.Key}' ({f.FileName})");
        if (AddedModel.Sha256(data) != f.Sha256)
            throw new InvalidOperationException($"'{f.Key}' ({f.FileName}) does not match its content hash");
        // Written aside and moved, so a crash never leaves a partial file under the real name.
        var partial = path + ".partial-" + Environment.ProcessId;
        await File.WriteAllBytesAsync(partial, data, cancel);
        File.Move(partial, path, overwrite: true);
        logger.LogInformation("fetched model file {Key} ({Bytes} bytes) into {Folder}", f.Key, data.Length, options.ModelFolder);
        return path;
    }

    private void Evict(IReadOnlyList<string?> keep)
    {
        var files = new DirectoryInfo(options.ModelFolder).GetFiles().OrderByDescending(f => f.LastWriteTimeUtc).ToList();
        var total = files.Sum(f => f.Length);
        foreach (var f in files.AsEnumerable().Reverse())
        {
            if (total <= options.ModelFolderBytes) break;
            if (keep.Contains(f.FullName)) continue;
            total -= f.Length;
            try { f.Delete(); logger.LogInformation("evicted {File} from the model folder", f.Name); }
            catch (IOException) { }
        }
    }
}
