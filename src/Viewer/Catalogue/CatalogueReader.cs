using System.Collections.Concurrent;
using System.Text.Json;
using Microscope.Contracts;
using Microscope.Coordinator.Data;
using Microscope.Coordinator.Sweeps;
using Microscope.Engine.Lenses;
using Microscope.Engine.Models;
using Microsoft.EntityFrameworkCore;

namespace Microscope.Viewer.Catalogue;

/// <summary>A sweep that will store an op's circuit tables: its id and its circuits tuples done of all.</summary>
public sealed record CircuitsQueued(Guid SweepId, int Done, int Total);

/// <summary>One registered version of a model, with its descriptor and the model's other versions.</summary>
public sealed record ModelVersion(ModelDescriptor Descriptor, string Version, DateTimeOffset RegisteredAt, IReadOnlyList<string> AllVersions, bool IsLatest)
{
    public string Name => Descriptor.Name;
}

/// <summary>How many units of one op have at least one result of one technique.</summary>
public sealed record Coverage(string Op, string Technique, int Units);

/// <summary>Which parameter set each unit of an op's grid shows; <c>Main</c> covers most units.</summary>
public sealed record OpGrid(string? Main, IReadOnlyDictionary<int, GridCell> Cells);

/// <summary>A grid cell's result: its parameter set and when it was rendered (the image URL's revision).</summary>
public sealed record GridCell(string ParamsHash, long RenderedAt);

/// <summary>Progress of one sweep by op and state, with its rate and failures.</summary>
public sealed record SweepProgress(SweepRow Sweep, IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> ByOp,
    IReadOnlyDictionary<string, int> Totals, double UnitsPerMinute, double? EtaSeconds, IReadOnlyList<(string Reason, int Count)> Failures,
    IReadOnlyList<FailedTuple>? FailedTuples = null);

/// <summary>A failed tuple of a sweep, whose worker log (ObjectKeys.Log) the sweeps page links.</summary>
public sealed record FailedTuple(Guid Id, string Model, string Version, string Op, int Unit, string Technique, string ParamsHash, string? Failure)
{
    public string LogKey => Contracts.ObjectKeys.Log(new Contracts.UnitAddress(Model, Version, Op, Unit), Technique, ParamsHash);
}

/// <summary>The viewer's read queries over the farm's catalogue (the coordinator's tables).
/// Descriptors and parameter sets never change for a given version or hash, so they are
/// cached for the life of the process; everything else is read per request.</summary>
public sealed class CatalogueReader(FarmDb db)
{
    private static readonly ConcurrentDictionary<(string, string), ModelDescriptor> Descriptors = new();
    private static readonly ConcurrentDictionary<string, RenderSettings> ParameterSets = new(StringComparer.Ordinal);
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private sealed record VersionRow(string Name, string Version, long RegisteredAt);

    private async Task<List<VersionRow>> VersionsAsync(CancellationToken cancel) =>
        await db.Models.AsNoTracking().Select(m => new VersionRow(m.Name, m.Version, m.RegisteredAt)).ToListAsync(cancel);

    public async Task<IReadOnlyList<string>> ModelNamesAsync(CancellationToken cancel) =>
        (await VersionsAsync(cancel)).Select(v => v.Name).Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>The latest version of every registered model, by name.</summary>
    public async Task<IReadOnlyList<ModelVersion>> ModelsAsync(CancellationToken cancel)
    {
        var list = new List<ModelVersion>();
        foreach (var name in (await VersionsAsync(cancel)).Select(v => v.Name).Distinct().Order(StringComparer.Ordinal))
            list.Add((await FindModelAsync(name, null, cancel))!);
        return list;
    }

    /// <summary>The model at <paramref name="version"/> (the latest registered when null), or
    /// null when there is no such model or version.</summary>
    public async Task<ModelVersion?> FindModelAsync(string name, string? version, CancellationToken cancel)
    {
        var versions = (await VersionsAsync(cancel)).Where(v => v.Name == name).OrderBy(v => v.RegisteredAt).ThenBy(v => v.Version, StringComparer.Ordinal).ToList();
        if (versions.Count == 0) return null;
        var latest = versions[^1];
        var chosen = version is null ? latest : versions.FirstOrDefault(v => v.Version == version);
        if (chosen is null) return null;
        if (!Descriptors.TryGetValue((name, chosen.Version), out var d))
        {
            var json = await db.Models.AsNoTracking().Where(m => m.Name == name && m.Version == chosen.Version).Select(m => m.DescriptorJson).SingleAsync(cancel);
            d = Descriptors[(name, chosen.Version)] = JsonSerializer.Deserialize<ModelDescriptor>(json)!;
        }
        return new ModelVersion(d, chosen.Version, DateTimeOffset.FromUnixTimeMilliseconds(chosen.RegisteredAt),
            versions.Select(v => v.Version).ToList(), chosen == latest);
    }

    /// <summary>Techniques whose results pages do not show (Lens.Pictured false: circuits' tables,
    /// which the connections read from the object store).</summary>
    private static readonly List<string> Unpictured = LensRegistry.All.Where(l => !l.Pictured).Select(l => l.Name).ToList();

    /// <summary>Units with results, per (op, technique), of one model version.</summary>
    public async Task<IReadOnlyList<Coverage>> CoverageAsync(string model, string version, CancellationToken cancel) =>
        (await db.Results.AsNoTracking().Where(r => r.Model == model && r.Version == version && !Unpictured.Contains(r.Technique))
            .Select(r => new { r.Op, r.Technique, r.Unit }).Distinct()
            .GroupBy(r => new { r.Op, r.Technique }).Select(g => new { g.Key.Op, g.Key.Technique, Units = g.Count() })
            .ToListAsync(cancel)).Select(c => new Coverage(c.Op, c.Technique, c.Units)).ToList();

    /// <summary>Each model version's picture for the index page: its channel visualisation that
    /// reached the highest objective (ties: first op and unit by name), or none before any is rendered.</summary>
    public async Task<IReadOnlyDictionary<(string Model, string Version), ResultRow>> RepresentativesAsync(IEnumerable<ModelVersion> models, CancellationToken cancel)
    {
        var found = new Dictionary<(string, string), ResultRow>();
        foreach (var m in models)
        {
            var best = await db.Results.AsNoTracking()
                .Where(r => r.Model == m.Name && r.Version == m.Version && r.Technique == "channel")
                .OrderByDescending(r => r.ObjectiveEnd).ThenBy(r => r.Op).ThenBy(r => r.Unit).FirstOrDefaultAsync(cancel);
            if (best is not null) found[(m.Name, m.Version)] = best;
        }
        return found;
    }

    /// <summary>Units with a result, per technique, of every model version (the index page's progress).</summary>
    public async Task<IReadOnlyDictionary<(string Model, string Version), IReadOnlyDictionary<string, int>>> ResultCountsAsync(CancellationToken cancel) =>
        (await db.Results.AsNoTracking().Where(r => !Unpictured.Contains(r.Technique)).Select(r => new { r.Model, r.Version, r.Technique, r.Op, r.Unit }).Distinct()
            .GroupBy(r => new { r.Model, r.Version, r.Technique })
            .Select(g => new { g.Key.Model, g.Key.Version, g.Key.Technique, Count = g.Count() }).ToListAsync(cancel))
            .GroupBy(x => (x.Model, x.Version))
            .ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, int>)g.ToDictionary(x => x.Technique, x => x.Count));

    public async Task<IReadOnlyList<string>> TechniquesOfOpAsync(string model, string version, string op, CancellationToken cancel) =>
        await db.Results.AsNoTracking().Where(r => r.Model == model && r.Version == version && r.Op == op && !Unpictured.Contains(r.Technique))
            .Select(r => r.Technique).Distinct().ToListAsync(cancel);

    /// <summary>The grid of an op for one technique: which parameter set to show for each
    /// unit. One set for the whole grid where possible (the one covering most units, as a
    /// sweep's does), so neighbouring images are comparable. Reads only the primary key's
    /// columns, a covering index scan on SQLite and PostgreSQL: the object keys follow from
    /// them (architecture doc's layout), no table rows are fetched.</summary>
    public async Task<OpGrid> GridAsync(string model, string version, string op, string technique, CancellationToken cancel)
    {
        var pairs = await db.Results.AsNoTracking().Where(r => r.Model == model && r.Version == version && r.Op == op && r.Technique == technique)
            .Select(r => new { r.Unit, r.ParamsHash, r.RenderedAt }).ToListAsync(cancel);
        var main = pairs.GroupBy(p => p.ParamsHash).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => g.Key).FirstOrDefault();
        var byUnit = new Dictionary<int, GridCell>();
        foreach (var p in pairs)
            if (!byUnit.TryGetValue(p.Unit, out var have) || (have.ParamsHash != main && (p.ParamsHash == main || string.CompareOrdinal(p.ParamsHash, have.ParamsHash) < 0)))
                byUnit[p.Unit] = new GridCell(p.ParamsHash, p.RenderedAt);
        return new OpGrid(main, byUnit);
    }

    /// <summary>The op graph's strips: for every op, its first <paramref name="perOp"/> units
    /// (by number, among the first 4 x perOp) with a result of <paramref name="technique"/>, the
    /// newest of each. One read of the primary key's columns (unit bounded, so it stays small
    /// however many results the model has).</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<(int Unit, GridCell Cell)>>> StripsAsync(string model, string version, string technique, int perOp, CancellationToken cancel)
    {
        var bound = 4 * perOp;
        var rows = await db.Results.AsNoTracking().Where(r => r.Model == model && r.Version == version && r.Technique == technique && r.Unit >= 0 && r.Unit < bound)
            .Select(r => new { r.Op, r.Unit, r.ParamsHash, r.RenderedAt }).ToListAsync(cancel);
        return rows.GroupBy(r => r.Op, StringComparer.Ordinal).ToDictionary(g => g.Key,
            g => (IReadOnlyList<(int, GridCell)>)g.GroupBy(r => r.Unit).OrderBy(u => u.Key).Take(perOp)
                .Select(u => u.MaxBy(r => r.RenderedAt)!).Select(r => (r.Unit, new GridCell(r.ParamsHash, r.RenderedAt))).ToList(),
            StringComparer.Ordinal);
    }

    /// <summary>The newest result of an op-level technique (DeepDream, caricature), if any.</summary>
    public async Task<ResultRow?> LatestOfOpAsync(string model, string version, string op, string technique, CancellationToken cancel) =>
        await db.Results.AsNoTracking().Where(r => r.Model == model && r.Version == version && r.Op == op && r.Technique == technique)
            .OrderByDescending(r => r.RenderedAt).FirstOrDefaultAsync(cancel);

    /// <summary>A sweep's circuits tuple of <paramref name="op"/> that is not done yet (the farm will
    /// store the op's weight tables), with how many of that sweep's circuits tuples are done;
    /// null when none is open. Reads the open tuples' partial index (tuples_open).</summary>
    public async Task<CircuitsQueued?> CircuitsQueuedAsync(string model, string version, string op, CancellationToken cancel)
    {
        var open = TupleStates.Open;
        var sweep = await db.Tuples.AsNoTracking()
            .Where(t => open.Contains(t.State) && t.Technique == CircuitsLens.LensName && t.Model == model && t.Version == version && t.Op == op)
            .Select(t => (Guid?)t.SweepId).FirstOrDefaultAsync(cancel);
        if (sweep is not { } id) return null;
        var states = await db.Tuples.AsNoTracking().Where(t => t.SweepId == id && t.Technique == CircuitsLens.LensName)
            .GroupBy(t => t.State).Select(g => new { State = g.Key, Count = g.Count() }).ToListAsync(cancel);
        return new CircuitsQueued(id, states.Where(x => x.State == TupleStates.Done).Sum(x => x.Count), states.Sum(x => x.Count));
    }

    /// <summary>Every stored result of one unit (every technique and parameter set), newest first.</summary>
    public async Task<IReadOnlyList<ResultRow>> UnitResultsAsync(string model, string version, string op, int unit, CancellationToken cancel) =>
        await db.Results.AsNoTracking().Where(r => r.Model == model && r.Version == version && r.Op == op && r.Unit == unit)
            .OrderByDescending(r => r.RenderedAt).ToListAsync(cancel);

    /// <summary>The parameters behind each hash, from the sweeps that used it.</summary>
    public async Task<IReadOnlyDictionary<string, RenderSettings>> ParametersAsync(IEnumerable<string> hashes, CancellationToken cancel)
    {
        var wanted = hashes.Distinct(StringComparer.Ordinal).ToList();
        var missing = wanted.Where(h => !ParameterSets.ContainsKey(h)).ToList();
        if (missing.Count > 0)
        {
            var rows = await db.Sweeps.AsNoTracking().Where(s => missing.Contains(s.ParamsHash))
                .Select(s => new { s.ParamsHash, s.ParametersJson }).ToListAsync(cancel);
            foreach (var row in rows)
                if (JsonSerializer.Deserialize<RenderSettings>(row.ParametersJson, Web) is { } p) ParameterSets[row.ParamsHash] = p;
        }
        return wanted.Where(ParameterSets.ContainsKey).ToDictionary(h => h, h => ParameterSets[h], StringComparer.Ordinal);
    }

    /// <summary>How many failed tuples a sweep lists with their log links.</summary>
    public const int FailedTuplesShown = 20;

    /// <summary>The most recent sweeps (re-renders excluded) with progress by op.</summary>
    public async Task<IReadOnlyList<SweepProgress>> SweepsAsync(int take, long nowMs, CancellationToken cancel)
    {
        var sweeps = await db.Sweeps.AsNoTracking().Where(s => s.Kind == "sweep").OrderByDescending(s => s.CreatedAt).Take(take).ToListAsync(cancel);
        var list = new List<SweepProgress>();
        foreach (var s in sweeps) list.Add(await ProgressAsync(s, nowMs, cancel));
        return list;
    }

    public async Task<SweepRow?> FindSweepAsync(Guid id, CancellationToken cancel) =>
        await db.Sweeps.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, cancel);

    private async Task<SweepProgress> ProgressAsync(SweepRow s, long nowMs, CancellationToken cancel)
    {
        var counts = await db.Tuples.AsNoTracking().Where(t => t.SweepId == s.Id).GroupBy(t => new { t.Op, t.State })
            .Select(g => new { g.Key.Op, g.Key.State, Count = g.Count() }).ToListAsync(cancel);
        var byOp = counts.GroupBy(c => c.Op).ToDictionary(g => g.Key,
            g => (IReadOnlyDictionary<string, int>)g.ToDictionary(c => c.State, c => c.Count), StringComparer.Ordinal);
        var totals = counts.GroupBy(c => c.State).ToDictionary(g => g.Key, g => g.Sum(c => c.Count), StringComparer.Ordinal);
        // Reused tuples took no work and do not count; the rate is the coordinator's (SweepRate).
        var open = TupleStates.Open.Sum(st => totals.GetValueOrDefault(st));
        var worked = db.Tuples.AsNoTracking().Where(t => t.SweepId == s.Id && t.State == TupleStates.Done && !t.Reused && t.DoneAt != null);
        // A finished sweep whose status nobody has asked for yet has no FinishedAt: its last unit's time.
        long? finishedAt = open > 0 ? null : s.FinishedAt ?? await worked.MaxAsync(t => t.DoneAt, cancel) ?? s.CreatedAt;
        var start = SweepRate.WindowStart(s.CreatedAt, finishedAt, nowMs);
        var done = await worked.CountAsync(t => t.DoneAt >= start, cancel);
        var (perMinute, eta) = SweepRate.Of(done, start, finishedAt ?? nowMs, open);
        var failures = (await db.Tuples.AsNoTracking().Where(t => t.SweepId == s.Id && t.State == TupleStates.Failed)
            .GroupBy(t => t.Failure).Select(g => new { Reason = g.Key, Count = g.Count() }).ToListAsync(cancel))
            .Select(f => (f.Reason ?? "(no reason recorded)", f.Count)).OrderByDescending(f => f.Count).ToList();
        // The first failed tuples (by op and unit), each linked to its worker's log lines.
        var failedTuples = failures.Count == 0 ? [] : (await db.Tuples.AsNoTracking().Where(t => t.SweepId == s.Id && t.State == TupleStates.Failed)
            .OrderBy(t => t.Op).ThenBy(t => t.Unit).Take(FailedTuplesShown)
            .Select(t => new { t.Id, t.Version, t.Op, t.Unit, t.Technique, t.ParamsHash, t.Failure }).ToListAsync(cancel))
            .Select(t => new FailedTuple(t.Id, s.Model, t.Version, t.Op, t.Unit, t.Technique, t.ParamsHash, t.Failure)).ToList();
        return new SweepProgress(s, byOp, totals, perMinute, eta, failures, failedTuples);
    }

    /// <summary>The tuple of a single re-render (a sweep of kind "render" with one tuple).</summary>
    public async Task<TupleRow?> RenderTupleAsync(Guid id, CancellationToken cancel) =>
        await db.Tuples.AsNoTracking().FirstOrDefaultAsync(t => t.SweepId == id, cancel);
}
