using System.Collections.Concurrent;
using System.Text.Json;
using Microscope.Coordinator.Data;
using Microscope.Engine.Models;
using Microscope.Engine.Models.Custom;
using Microscope.Engine.Torch;
using Microscope.Farm.Hosting;
using Microscope.Farm.Models;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Microscope.Coordinator.Models;

/// <summary>Models and versions the farm knows, with their descriptors (ops, units, edges).
/// A model is registered on first use: loaded once on the CPU with its shipped weights,
/// described, and stored in the models table; its version is the weights' content hash.</summary>
public sealed class ModelRegistry(IServiceScopeFactory scopes, TimeProvider clock, ModelWeightsOptions weights, ILogger<ModelRegistry> logger)
{
    private readonly ConcurrentDictionary<string, ModelDescriptor> _current = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string, string), ModelDescriptor> _versions = new();
    private readonly SemaphoreSlim _loading = new(1, 1);

    /// <summary>The descriptor of a model (its current version, or the version asked for).
    /// Throws <see cref="UnknownNameException"/> for an unknown model or version.</summary>
    public async Task<ModelDescriptor> GetAsync(string name, string? version, CancellationToken cancel = default)
    {
        // Names only: the API must never make the coordinator read a file a client names.
        if (!IsModelName(name))
            throw new UnknownNameException($"'{JsonBody.Shorten(name, 80)}' is not a model name (letters, digits, '_', '-' and '.', at most 100 characters; never a path)");
        if (version is not null && version.Length > 100) throw new UnknownNameException($"model '{name}' has no version '{JsonBody.Shorten(version, 80)}'");
        if (version is null && _current.TryGetValue(name, out var d)) return d;
        if (version is null && !ModelZoo.Names.Contains(name, StringComparer.Ordinal)) return await CurrentAddedAsync(name, cancel);
        if (version is not null && _versions.TryGetValue((name, version), out d)) return d;
        if (version is not null)
        {
            using var scope = scopes.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<FarmDb>();
            var row = await db.Models.AsNoTracking().FirstOrDefaultAsync(m => m.Name == name && m.Version == version, cancel);
            if (row is not null) return _versions[(name, version)] = JsonSerializer.Deserialize<ModelDescriptor>(row.DescriptorJson)!;
            var current = await GetAsync(name, null, cancel);
            if (current.Version == version) return current;
            var known = await db.Models.AsNoTracking().Where(m => m.Name == name).Select(m => m.Version).ToListAsync(cancel);
            throw new UnknownNameException($"model '{name}' has no version '{version}'; known: {string.Join(", ", known.DefaultIfEmpty(current.Version ?? "?"))}");
        }
        await _loading.WaitAsync(cancel);
        try
        {
            if (_current.TryGetValue(name, out d)) return d;
            d = await Task.Run(() =>
            {
                WeightsSource source = weights.FileFor(name) is { } file ? new WeightsSource.File(file) : new WeightsSource.Shipped();
                try
                {
                    using var model = ModelZoo.Load(name, source, Device.CPU);
                    return model.Describe();
                }
                catch (Exception e) when (e is InvalidOperationException or InvalidDataException or IOException or TorchException)
                {
                    throw new UnknownNameException($"model '{name}' cannot be loaded: {e.Message} (configure Models:Weights:{name})");
                }
            }, cancel);
            await RegisterAsync(d, cancel: cancel);
            return d;
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>Stores a descriptor (idempotent) and makes it the model's current version;
    /// an added model's files are recorded with it. True when this call stored the row.</summary>
    public async Task<bool> RegisterAsync(ModelDescriptor d, AddedModel? added = null, CancellationToken cancel = default)
    {
        var version = VersionOf(d);
        var stored = false;
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<FarmDb>();
        if (!await db.Models.AnyAsync(m => m.Name == d.Name && m.Version == version, cancel))
        {
            db.Models.Add(new ModelRow
            {
                Name = d.Name,
                Version = version,
                DescriptorJson = JsonSerializer.Serialize(d),
                UnitCount = (int)d.UnitCount,
                RegisteredAt = clock.GetUtcNow().ToUnixTimeMilliseconds(),
                SourceJson = added is null ? null : System.Text.Encoding.UTF8.GetString(added.Serialize()),
            });
            try
            {
                await db.SaveChangesAsync(cancel);
                stored = true;
                logger.LogInformation("registered model {Model} version {Version}: {Ops} ops, {Units} units", d.Name, version, d.Ops.Count, d.UnitCount);
            }
            catch (DbUpdateException)
            {
                // Another coordinator registered it first.
            }
        }
        if (added is null) _current[d.Name] = d;
        _versions[(d.Name, version)] = d;
        return stored;
    }

    /// <summary>An added model's current version: its latest added version, read from the
    /// database each time, so every coordinator replica sees a version added through another.</summary>
    private async Task<ModelDescriptor> CurrentAddedAsync(string name, CancellationToken cancel)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<FarmDb>();
        var row = await db.Models.AsNoTracking().Where(m => m.Name == name && m.SourceJson != null)
            .OrderByDescending(m => m.RegisteredAt).FirstOrDefaultAsync(cancel);
        if (row is not null)
            return _versions.GetOrAdd((name, row.Version), _ => JsonSerializer.Deserialize<ModelDescriptor>(row.DescriptorJson)!);
        var known = ModelZoo.Names.Concat(await AddedNamesAsync(cancel)).ToList();
        throw new UnknownNameException($"unknown model '{name}'{NameSuggestions.Format(name, known)}; known: {string.Join(", ", known)} (or add it: microscope models add FILE)");
    }

    /// <summary>Names of the models added while the farm runs.</summary>
    public async Task<IReadOnlyList<string>> AddedNamesAsync(CancellationToken cancel = default)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<FarmDb>();
        return await db.Models.AsNoTracking().Where(m => m.SourceJson != null).Select(m => m.Name).Distinct().OrderBy(n => n).ToListAsync(cancel);
    }

    /// <summary>A model's name as the API takes it: a built-in's or a configured user model's
    /// (Models:Specs), never a path or a <c>.model.json</c> file.</summary>
    public static bool IsModelName(string name) =>
        System.Text.RegularExpressions.Regex.IsMatch(name, "^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$") && !name.Contains("..", StringComparison.Ordinal)
        && !name.EndsWith(ModelSpec.FileSuffix, StringComparison.OrdinalIgnoreCase);

    public static string VersionOf(ModelDescriptor d) => d.Version ?? "unversioned";

    /// <summary>Resolves an op name or alias (<see cref="ModelDescriptor.FindOp"/>).</summary>
    public static OpInfo ResolveOp(ModelDescriptor d, string name)
    {
        return d.FindOp(name) ?? throw new UnknownNameException(
            $"model '{d.Name}' has no op '{JsonBody.Shorten(name, 80)}'{NameSuggestions.Format(name.Length > 200 ? "" : name, d.Ops.Select(o => o.Name))}; ops: {string.Join(", ", d.Ops.Select(o => o.Name))}");
    }
}
