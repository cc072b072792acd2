using Microscope.Coordinator.Sweeps;
using Microscope.Engine.Models;
using Microscope.Engine.Torch;
using Microscope.Farm.Models;
using Microscope.Farm.Storage;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator.Models;

/// <summary>One file of an upload: its name as the client gave it and its bytes.</summary>
public sealed record UploadedFile(string FileName, byte[] Data);

/// <summary>What adding a model did: its descriptor, and whether it was new (false: the same
/// files were added before, nothing changed).</summary>
public sealed record AddModelResult(ModelDescriptor Descriptor, AddedModel Model, bool Created);

/// <summary>Adds a model to the running farm: builds it with the Engine (the proof that
/// workers can), then stores its files under their content hashes and a manifest, then
/// registers name, version and ops. Anything refused is refused before the first write, so a
/// bad file leaves no object and no row.</summary>
public sealed class ModelIntake(ModelRegistry registry, IObjectStore store, ILogger<ModelIntake> logger)
{
    // One model built at a time: a model in memory can be several times its file.
    private readonly SemaphoreSlim _building = new(1, 1);

    public async Task<AddModelResult> AddAsync(string? name, UploadedFile file, UploadedFile? sidecar, UploadedFile? weights, CancellationToken cancel)
    {
        ModelFiles.Format format;
        try { format = ModelFiles.FormatOf(file.FileName); }
        catch (InvalidDataException e) { throw ApiProblem.Invalid("file", e.Message); }
        name ??= ModelFiles.DefaultName(file.FileName);
        if (!ModelFiles.IsValidName(name))
            throw ApiProblem.Invalid("name", $"'{name}' is not a model name: 1-64 lower-case letters, digits, '_' or '-', starting with a letter");
        if (ModelZoo.Names.Contains(name, StringComparer.Ordinal))
            throw ApiProblem.Invalid("name", $"'{name}' is a model of this farm's zoo or configuration; add the file under another name");
        var companion = format == ModelFiles.Format.Onnx ? sidecar : weights;
        if (format == ModelFiles.Format.Onnx && weights is not null)
            throw ApiProblem.Invalid("weights", "an ONNX model carries its weights; 'weights' is for a model spec (.model.json)");
        if (format == ModelFiles.Format.Spec && sidecar is not null)
            throw ApiProblem.Invalid("sidecar", "a model spec takes its safetensors file as 'weights', not 'sidecar'");
        if (format == ModelFiles.Format.Spec && weights is null)
            throw ApiProblem.Invalid("weights", "a model spec (.model.json) needs its weights: a safetensors file in the 'weights' part");
        if (file.Data.Length == 0) throw ApiProblem.Invalid("file", $"'{file.FileName}' is empty");

        var descriptor = await BuildAsync(name, format, file, companion, cancel);
        var version = ModelRegistry.VersionOf(descriptor);
        var added = new AddedModel(name, version, format, Stored(file, ModelFiles.Suffix(format)),
            companion is null ? null : Stored(companion, format == ModelFiles.Format.Onnx ? ".json" : ".safetensors"));

        // Files first, the manifest next, the row last: a worker given a packet of this
        // version always finds what it needs.
        await store.PutAsync(added.File.Key, file.Data, "application/octet-stream", cancel);
        if (companion is not null) await store.PutAsync(added.Companion!.Key, companion.Data, "application/octet-stream", cancel);
        await store.PutAsync(AddedModel.ManifestKey(name, version), added.Serialize(), "application/json", cancel);
        var created = await registry.RegisterAsync(descriptor, added, cancel);
        logger.LogInformation("model {Model} version {Version} {Outcome} ({Bytes} bytes, {Ops} ops)", name, version,
            created ? "added" : "was already there", file.Data.Length, descriptor.Ops.Count);
        return new AddModelResult(descriptor, added, created);
    }

    private static StoredModelFile Stored(UploadedFile f, string suffix)
    {
        var sha = AddedModel.Sha256(f.Data);
        return new StoredModelFile(AddedModel.FileKey(sha, suffix), sha, f.Data.Length, Path.GetFileName(f.FileName));
    }

    /// <summary>Builds the model on the CPU from temporary copies of its files and describes it;
    /// whatever the Engine refuses becomes a 422 naming the problem.</summary>
    private async Task<ModelDescriptor> BuildAsync(string name, ModelFiles.Format format, UploadedFile file, UploadedFile? companion, CancellationToken cancel)
    {
        await _building.WaitAsync(cancel);
        var folder = Directory.CreateTempSubdirectory("microscope-model-").FullName;
        try
        {
            var path = Path.Combine(folder, name + ModelFiles.Suffix(format));
            await File.WriteAllBytesAsync(path, file.Data, cancel);
            string? companionPath = null;
            if (companion is not null)
            {
                companionPath = Path.Combine(folder, name + (format == ModelFiles.Format.Onnx ? ".sidecar.json" : ".safetensors"));
                await File.WriteAllBytesAsync(companionPath, companion.Data, cancel);
            }
            return await Task.Run(() =>
            {
                try
                {
                    using var model = ModelFiles.Load(name, format, path, companionPath, Device.CPU);
                    var d = model.Describe();
                    if (d.Ops.Count == 0 || d.Ops.All(o => o.Channels < 1))
                        throw new InvalidDataException("the model has no op with channels to render");
                    return d;
                }
                catch (Exception e) when (e is InvalidDataException or InvalidOperationException or ArgumentException or IOException or TorchException or FormatException)
                {
                    throw ApiProblem.Invalid("file", $"'{Path.GetFileName(file.FileName)}' cannot be built as model '{name}': {e.Message.Replace(folder + "/", "", StringComparison.Ordinal)}");
                }
            }, cancel);
        }
        finally
        {
            _building.Release();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }
}
